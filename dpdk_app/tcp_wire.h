// SPDX-License-Identifier: MIT
// TCP segments on the wire for zcrxd's TCP endpoint, DPDK-free: the TCP
// header (and its options) of a received IPv4 segment into the engine's
// zcrx::tcp::RxSegment, and the Ethernet + IPv4 + TCP headers of a
// zcrx::tcp::TxSegment. Payload is the caller's on both sides: received
// payload pieces are the datapath's (they stay in the buffers they landed
// in), and sent payload is summed by whoever holds it (csum_copy.h) so it
// is read once.
//
// Headers written: Ethernet; IPv4 without options, TOS 0, TTL 64, DF set
// and ID 0; TCP with the segment's options in Linux's layout.
//
// Why ID 0 with DF: every TCP segment zcrxd sends is an atomic datagram
// (DF set, never fragmented: the MSS comes from the MTU, as Linux sets DF
// on TCP for path MTU discovery), and RFC 6864 4.1 lets the source of an
// atomic datagram put any value in the ID, which no receiver uses. Linux
// keeps a per-socket counter seeded from a hash only to stay compatible
// with old receivers and to not leak a global counter; a constant leaks
// nothing at all and needs no per-destination state (one more bounded
// table on the datapath). Linux's GRO accepts a fixed ID on DF segments
// (the "mangleid" case), so a Linux peer still coalesces them.
#pragma once

#include <cstdint>

#include "checksum.h"
#include "ether.h"
#include "stats.h"
#include "zcrx/tcp/engine.h"

namespace zcrxd {

inline constexpr uint32_t kIpv4HeaderLen = 20;
inline constexpr uint32_t kTcpHeaderLen = 20;
/// Ethernet + IPv4 + TCP headers without options.
inline constexpr uint32_t kTcpFrameHeaders = kEthHeaderLen + kIpv4HeaderLen + kTcpHeaderLen;
inline constexpr uint8_t kTcpTtl = 64;

struct TcpWireStats {
  Counter parsed;        // headers parsed into an RxSegment
  Counter bad_header;    // refused: lengths or data offset wrong (dropped)
  Counter bad_options;   // malformed options (segment kept, options up to the fault)
  Counter bad_checksum;  // tcp_checksum_ok() false (counted by its callers' choice)
};

/// What parse_tcp() found besides the RxSegment.
struct TcpParsed {
  uint32_t header_len = 0;   // TCP header, options included
  uint32_t payload_off = 0;  // first payload byte, from the frame start
  uint32_t payload_len = 0;  // segment length - header_len
  bool options_malformed = false;
};

/// Parses the TCP header of an IPv4 segment: the segment starts at byte
/// `l4_off` of `frame`, is `l4_len` bytes long (the IP total length less
/// the IP header), and `avail` bytes of `frame` are readable (the first
/// buffer: the header and its options must lie within it). `src`/`dst`
/// are the IP header's addresses (host order). Fills `seg`'s tuple (local
/// = the destination), seq, ack, window, flags, options and payload_len;
/// its pieces are left empty (the datapath's: the payload is
/// [payload_off, payload_off + payload_len) of the frame). Returns 0, or
/// -EINVAL when the header is bad (shorter than 20 bytes, a data offset
/// below 5 or past the segment or the readable bytes): the segment is
/// dropped. Malformed options do not refuse the segment (RFC 9293 3.1,
/// MUST-7; Linux stops parsing and keeps the segment): the options before
/// the fault are kept, `info->options_malformed` is set and counted.
/// The checksum is not checked here (tcp_checksum_ok, or the NIC's).
int parse_tcp(const uint8_t* frame, uint32_t avail, uint32_t l4_off, uint32_t l4_len,
              uint32_t src, uint32_t dst, zcrx::tcp::RxSegment* seg, TcpParsed* info,
              TcpWireStats& st);

/// The TCP pseudo-header of a `tcp_len`-byte segment from `src` to `dst`
/// (host order): add the segment's bytes, checksum field included, and
/// fold() is 0xffff when the segment is intact.
InetSum tcp_pseudo_header(uint32_t src, uint32_t dst, uint32_t tcp_len);

/// True when the `len`-byte TCP segment at `seg` (in one buffer) from
/// `src` to `dst` carries a valid checksum.
bool tcp_checksum_ok(const uint8_t* seg, uint32_t len, uint32_t src, uint32_t dst);

/// Bytes write_tcp_headers() writes for `s`: kTcpFrameHeaders plus its
/// options.
uint32_t tcp_headers_len(const zcrx::tcp::TxSegment& s);

/// Writes the Ethernet (`src_mac` -> `dst_mac`), IPv4 (s.tuple.local ->
/// s.tuple.remote) and TCP headers of `s` carrying s.len payload bytes,
/// which the caller puts right after them. Both checksums are computed:
/// the TCP one over the pseudo-header, the header and `payload_sum`, the
/// sum of the payload bytes (InetSum::fold() of them, or copy_and_sum();
/// 0 for no payload). Returns the header bytes (tcp_headers_len), or 0
/// when `cap` is smaller or the datagram would pass 65535 bytes.
uint32_t write_tcp_headers(const zcrx::tcp::TxSegment& s, const Mac& src_mac,
                           const Mac& dst_mac, uint16_t payload_sum, uint8_t* out,
                           uint32_t cap);

/// As write_tcp_headers, for a NIC that computes the TCP checksum
/// (RTE_MBUF_F_TX_TCP_CKSUM): the checksum field holds the pseudo-header
/// sum, not complemented (what rte_ipv4_phdr_cksum gives), which such NICs
/// start from. With `ip_offload` the IPv4 header checksum is left 0 for the
/// NIC too (RTE_MBUF_F_TX_IP_CKSUM); otherwise it is computed.
uint32_t write_tcp_headers_offload(const zcrx::tcp::TxSegment& s, const Mac& src_mac,
                                   const Mac& dst_mac, bool ip_offload, uint8_t* out,
                                   uint32_t cap);

/// Adds `payload_sum` to the checksum of the TCP header at `tcp`, written
/// by write_tcp_headers with a payload_sum of 0, once the payload behind
/// it is known (RFC 1624's incremental update; the result is the checksum
/// computed with `payload_sum` from the start).
void add_tcp_payload_sum(uint8_t* tcp, uint16_t payload_sum);

}  // namespace zcrxd
