// SPDX-License-Identifier: MIT
// The checksum checks a UDP datagram passes before a UDP flow receives it,
// as Linux makes them: the IPv4 header checksum (ip_rcv), the UDP checksum
// (udp_rcv; 0 means "none" over IPv4, while an IPv6 datagram with 0 is
// dropped, Linux's default without UDP_NO_CHECK6_RX). Raw flows get whole
// frames unchecked, as AF_PACKET does.
//
// --rx-csum auto takes the PMD's verdict where it gives one (the
// RTE_MBUF_F_RX_*_CKSUM flags: GOOD and NONE -- "the data is verified, the
// field is not complete", e.g. virtio's CHECKSUM_PARTIAL -- pass, BAD
// drops, UNKNOWN is checked in software); sw ignores the flags; off checks
// nothing (the link is trusted, unlike the kernel). The IPv6 zero-checksum
// rule is not a check of the data and holds in every mode.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "checksum.h"
#include "options.h"
#include "packet.h"

namespace zcrxd {

enum class CsumVerdict : uint8_t { ok, bad_ip, bad_udp, udp6_zero };

/// The software checks over the frame of `m` parsed as `p` (is_udp,
/// headers in the first segment). The IPv4 header inline (20 bytes, most
/// often); the UDP checksum, which reads the whole datagram (in one
/// segment or across a chain), out of line.
inline bool sw_ipv4_header_ok(const rte_mbuf* m, const ParsedPacket& p) {
  return ipv4_header_checksum_ok(rte_pktmbuf_mtod_offset(m, const uint8_t*, p.l3_off), p.l3_len);
}
bool sw_udp_ok(const rte_mbuf* m, const ParsedPacket& p);

/// The mbuf flags `mode` lets count: the PMD's under auto, none otherwise.
inline uint64_t csum_flags(const rte_mbuf* m, RxCsum mode) {
  return mode == RxCsum::kAuto ? m->ol_flags : 0;
}

/// Checks the IPv4 header of `m`, parsed as `p` (l3 ipv4, header in the
/// first segment): a whole datagram or a fragment.
inline bool ipv4_header_ok(const rte_mbuf* m, const ParsedPacket& p, RxCsum mode) {
  if (mode == RxCsum::kOff) return true;
  const uint64_t ip = csum_flags(m, mode) & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) return false;
  return ip != RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN || sw_ipv4_header_ok(m, p);
}

/// Checks the UDP datagram `m`, parsed as `p` (is_udp, headers in the
/// first segment). A reassembled datagram has a valid IPv4 header written
/// by reassembly and no PMD flags: software checks its UDP checksum.
/// Inline: the common cases cost a flag test or a 20-byte sum.
inline CsumVerdict check_rx_checksums(const rte_mbuf* m, const ParsedPacket& p, RxCsum mode) {
  const uint8_t* udp = rte_pktmbuf_mtod_offset(m, const uint8_t*, p.l4_off);
  const bool zero = udp[6] == 0 && udp[7] == 0;
  if (zero && p.l3 == L3::ipv6) return CsumVerdict::udp6_zero;
  if (mode == RxCsum::kOff) return CsumVerdict::ok;
  if (p.l3 == L3::ipv4 && !ipv4_header_ok(m, p, mode)) return CsumVerdict::bad_ip;
  if (zero) return CsumVerdict::ok;  // IPv4: no checksum sent
  const uint64_t l4 = csum_flags(m, mode) & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) return CsumVerdict::bad_udp;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN && !sw_udp_ok(m, p)) return CsumVerdict::bad_udp;
  return CsumVerdict::ok;
}

/// Says once, on stderr, why UDP checksums may fail on `port` though
/// nothing is corrupt: a local sender over veth leaves the checksum to an
/// offload (CHECKSUM_PARTIAL) and net_af_packet / net_af_xdp hand the
/// datagram over without saying so.
void print_partial_csum_hint(uint16_t port);

}  // namespace zcrxd
