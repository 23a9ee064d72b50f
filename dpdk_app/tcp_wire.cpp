// SPDX-License-Identifier: MIT
#include "tcp_wire.h"

#include <cerrno>

#include "csum_copy.h"
#include "zcrx/tcp/options.h"

namespace zcrxd {

using zcrx::tcp::RxSegment;
using zcrx::tcp::TxSegment;

namespace {

constexpr uint16_t kIpDontFragment = 0x4000;

// The IPv4 header, without its checksum; returns the datagram's length.
uint32_t write_ipv4(uint8_t* ip, const TxSegment& s, uint32_t tcp_len) {
  const uint32_t total = kIpv4HeaderLen + tcp_len;
  ip[0] = 0x45;
  ip[1] = 0;
  store_be16(ip + 2, static_cast<uint16_t>(total));
  store_be16(ip + 4, 0);  // ID: see the header comment
  store_be16(ip + 6, kIpDontFragment);
  ip[8] = kTcpTtl;
  ip[9] = kIpProtoTcp;
  store_be16(ip + 10, 0);
  store_be32(ip + 12, s.tuple.local.addr);
  store_be32(ip + 16, s.tuple.remote.addr);
  return total;
}

// Writes the whole header stack; the checksum fields are left 0. Returns
// the header bytes, 0 when they do not fit or the datagram is too long.
uint32_t write_headers(const TxSegment& s, const Mac& src_mac, const Mac& dst_mac, uint8_t* out,
                       uint32_t cap) {
  const uint32_t opt_len = zcrx::tcp::options_wire_len(s.opts);
  const uint32_t tcp_hdr = kTcpHeaderLen + opt_len;
  const uint32_t len = kEthHeaderLen + kIpv4HeaderLen + tcp_hdr;
  if (opt_len > zcrx::tcp::kMaxOptionBytes || len > cap ||
      uint64_t{kIpv4HeaderLen} + tcp_hdr + s.len > 65535)
    return 0;
  write_eth_header(out, dst_mac, src_mac, kEtherTypeIpv4);
  write_ipv4(out + kEthHeaderLen, s, tcp_hdr + s.len);
  uint8_t* tcp = out + kEthHeaderLen + kIpv4HeaderLen;
  store_be16(tcp, s.tuple.local.port);
  store_be16(tcp + 2, s.tuple.remote.port);
  store_be32(tcp + 4, s.seq);
  store_be32(tcp + 8, s.ack);
  tcp[12] = static_cast<uint8_t>((tcp_hdr / 4) << 4);
  tcp[13] = s.flags;
  store_be16(tcp + 14, s.window);
  store_be16(tcp + 16, 0);  // checksum
  store_be16(tcp + 18, 0);  // urgent pointer: URG is never sent
  if (opt_len && zcrx::tcp::write_options(s.opts, tcp + kTcpHeaderLen, opt_len) != opt_len)
    return 0;
  return len;
}

}  // namespace

int parse_tcp(const uint8_t* frame, uint32_t avail, uint32_t l4_off, uint32_t l4_len,
              uint32_t src, uint32_t dst, RxSegment* seg, TcpParsed* info, TcpWireStats& st) {
  if (l4_len < kTcpHeaderLen || l4_off > avail || avail - l4_off < kTcpHeaderLen) {
    st.bad_header.add(1);
    return -EINVAL;
  }
  const uint8_t* tcp = frame + l4_off;
  const uint32_t hlen = (tcp[12] >> 4) * 4u;
  if (hlen < kTcpHeaderLen || hlen > l4_len || hlen > avail - l4_off) {
    st.bad_header.add(1);
    return -EINVAL;
  }
  *seg = RxSegment{};
  seg->tuple.remote = {src, load_be16(tcp)};
  seg->tuple.local = {dst, load_be16(tcp + 2)};
  seg->seq = load_be32(tcp + 4);
  seg->ack = load_be32(tcp + 8);
  seg->flags = tcp[13];
  seg->window = load_be16(tcp + 14);
  seg->payload_len = l4_len - hlen;
  *info = TcpParsed{hlen, l4_off + hlen, l4_len - hlen, false};
  if (hlen > kTcpHeaderLen &&
      zcrx::tcp::parse_options(tcp + kTcpHeaderLen, hlen - kTcpHeaderLen,
                                 (seg->flags & zcrx::tcp::kSyn) != 0, seg->opts) != 0) {
    info->options_malformed = true;
    st.bad_options.add(1);
  }
  st.parsed.add(1);
  return 0;
}

InetSum tcp_pseudo_header(uint32_t src, uint32_t dst, uint32_t tcp_len) {
  uint8_t ph[12];
  store_be32(ph, src);
  store_be32(ph + 4, dst);
  ph[8] = 0;
  ph[9] = kIpProtoTcp;
  store_be16(ph + 10, static_cast<uint16_t>(tcp_len));
  InetSum s;
  s.add(ph, sizeof(ph));
  return s;
}

bool tcp_checksum_ok(const uint8_t* seg, uint32_t len, uint32_t src, uint32_t dst) {
  InetSum s = tcp_pseudo_header(src, dst, len);
  s.add(seg, len);
  return s.fold() == 0xffff;
}

uint32_t tcp_headers_len(const TxSegment& s) {
  return kTcpFrameHeaders + zcrx::tcp::options_wire_len(s.opts);
}

uint32_t write_tcp_headers(const TxSegment& s, const Mac& src_mac, const Mac& dst_mac,
                           uint16_t payload_sum, uint8_t* out, uint32_t cap) {
  const uint32_t len = write_headers(s, src_mac, dst_mac, out, cap);
  if (!len) return 0;
  uint8_t* ip = out + kEthHeaderLen;
  uint8_t* tcp = ip + kIpv4HeaderLen;
  store_be16(ip + 10, ipv4_header_checksum(ip, kIpv4HeaderLen));
  const uint32_t tcp_hdr = len - kEthHeaderLen - kIpv4HeaderLen;
  InetSum sum = tcp_pseudo_header(s.tuple.local.addr, s.tuple.remote.addr, tcp_hdr + s.len);
  sum.add(tcp, tcp_hdr);
  // The payload starts at an even offset of the segment (the header is
  // whole words): its sum adds as it is.
  store_be16(tcp + 16, static_cast<uint16_t>(~csum_add(sum.fold(), payload_sum)));
  return len;
}

uint32_t write_tcp_headers_offload(const TxSegment& s, const Mac& src_mac, const Mac& dst_mac,
                                   bool ip_offload, uint8_t* out, uint32_t cap) {
  const uint32_t len = write_headers(s, src_mac, dst_mac, out, cap);
  if (!len) return 0;
  uint8_t* ip = out + kEthHeaderLen;
  if (!ip_offload) store_be16(ip + 10, ipv4_header_checksum(ip, kIpv4HeaderLen));
  const uint32_t tcp_len = len - kEthHeaderLen - kIpv4HeaderLen + s.len;
  store_be16(ip + kIpv4HeaderLen + 16,
             tcp_pseudo_header(s.tuple.local.addr, s.tuple.remote.addr, tcp_len).fold());
  return len;
}

void add_tcp_payload_sum(uint8_t* tcp, uint16_t payload_sum) {
  const auto field = static_cast<uint16_t>(~load_be16(tcp + 16));
  store_be16(tcp + 16, static_cast<uint16_t>(~csum_add(field, payload_sum)));
}

}  // namespace zcrxd
