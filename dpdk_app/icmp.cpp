// SPDX-License-Identifier: MIT
#include "icmp.h"

#include <cstring>

#include "checksum.h"
#include "ether.h"

namespace zcrxd {

namespace {

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint32_t kIcmpHeaderLen = 8;
constexpr uint8_t kTtl = 64;

// No host sends from these (RFC 1122 3.2.1.3): 0/8, loopback, multicast,
// 240/4 and the limited broadcast.
bool bogus_source(uint32_t a) {
  const uint32_t top = a >> 24;
  return top == 0 || top == 127 || top >= 224;
}

}  // namespace

uint32_t Icmp::input(const uint8_t* in, uint32_t len, uint8_t* out, uint32_t cap) {
  st_.received.add(1);
  if (len < kEthHeaderLen + 20) {
    st_.bad_ip.add(1);
    return 0;
  }
  if (eth_dst(in) != net_.mac) {
    st_.not_for_us.add(1);
    return 0;
  }
  const uint8_t* ip = in + kEthHeaderLen;
  const uint32_t ihl = (ip[0] & 0xfu) * 4u;
  const uint32_t total = load_be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || kEthHeaderLen + total > len ||
      !ipv4_header_checksum_ok(ip, ihl)) {
    st_.bad_ip.add(1);
    return 0;
  }
  if (load_be16(ip + 6) & 0x3fffu) {  // MF or a fragment offset
    st_.fragments.add(1);
    return 0;
  }
  const uint32_t src = load_be32(ip + 12);
  const uint32_t dst = load_be32(ip + 16);
  if (ip[9] != kIpProtoIcmp || !net_.is_local(dst)) {
    st_.not_for_us.add(1);
    return 0;
  }
  if (bogus_source(src) || net_.is_broadcast(src)) {
    st_.bad_source.add(1);
    return 0;
  }
  const uint8_t* icmp = ip + ihl;
  const uint32_t icmp_len = total - ihl;
  if (icmp_len < kIcmpHeaderLen) {
    st_.short_message.add(1);
    return 0;
  }
  InetSum sum;
  sum.add(icmp, icmp_len);
  if (sum.fold() != 0xffff) {
    st_.bad_checksum.add(1);
    return 0;
  }
  if (icmp[0] != kIcmpEchoRequest) {
    st_.other_types.add(1);
    return 0;
  }
  const uint32_t reply_len = kEthHeaderLen + 20 + icmp_len;
  const uint32_t frame_len = reply_len < kEthMinFrame ? kEthMinFrame : reply_len;
  if (frame_len > cap) {
    st_.no_room.add(1);
    return 0;
  }

  // Everything the reply needs from the request, before `out` (which may
  // be `in`) is written.
  const Mac requester = eth_src(in);
  const uint8_t tos = ip[1];
  uint8_t* rip = out + kEthHeaderLen;
  uint8_t* ricmp = rip + 20;
  // The message moves left by the request's IP options, if any.
  std::memmove(ricmp, icmp, icmp_len);
  write_eth_header(out, requester, net_.mac, kEtherTypeIpv4);
  rip[0] = 0x45;
  rip[1] = tos;
  store_be16(rip + 2, static_cast<uint16_t>(20 + icmp_len));
  store_be16(rip + 4, next_id_++);
  store_be16(rip + 6, 0);
  rip[8] = kTtl;
  rip[9] = kIpProtoIcmp;
  store_be16(rip + 10, 0);
  store_be32(rip + 12, dst);
  store_be32(rip + 16, src);
  store_be16(rip + 10, ipv4_header_checksum(rip, 20));
  ricmp[0] = kIcmpEchoReply;  // code, identifier, sequence and data stay
  store_be16(ricmp + 2, 0);
  InetSum rsum;
  rsum.add(ricmp, icmp_len);
  store_be16(ricmp + 2, static_cast<uint16_t>(~rsum.fold()));
  std::memset(out + reply_len, 0, frame_len - reply_len);
  st_.echo_replies.add(1);
  return frame_len;
}

}  // namespace zcrxd
