// SPDX-License-Identifier: MIT
#include "arp.h"

#include <cerrno>
#include <cstring>

namespace zcrxd {

namespace {

constexpr uint16_t kHwEthernet = 1;

// Addresses no ARP sender or target can have (Linux's arp_process drops
// them): multicast, loopback, the limited broadcast and 240/4 with it.
bool bogus_protocol_addr(uint32_t a) {
  const uint32_t top = a >> 24;
  return top == 127 || top >= 224;
}

}  // namespace

int parse_arp(const uint8_t* frame, uint32_t len, ArpMessage* out) {
  if (len < kEthHeaderLen + kArpLen) return -EINVAL;
  const uint8_t* a = frame + kEthHeaderLen;
  if (load_be16(a) != kHwEthernet || load_be16(a + 2) != kEtherTypeIpv4 || a[4] != 6 ||
      a[5] != 4)
    return -EPROTONOSUPPORT;
  out->op = load_be16(a + 6);
  if (out->op != kArpOpRequest && out->op != kArpOpReply) return -EOPNOTSUPP;
  out->sha = Mac::from(a + 8);
  out->spa = load_be32(a + 14);
  out->tha = Mac::from(a + 18);
  out->tpa = load_be32(a + 24);
  return 0;
}

uint32_t write_arp_frame(uint8_t* out, uint32_t cap, const Mac& eth_dst, const Mac& eth_src,
                         const ArpMessage& m) {
  if (cap < kArpFrameLen) return 0;
  write_eth_header(out, eth_dst, eth_src, kEtherTypeArp);
  uint8_t* a = out + kEthHeaderLen;
  store_be16(a, kHwEthernet);
  store_be16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, m.op);
  std::memcpy(a + 8, m.sha.b, 6);
  store_be32(a + 14, m.spa);
  std::memcpy(a + 18, m.tha.b, 6);
  store_be32(a + 24, m.tpa);
  std::memset(a + kArpLen, 0, kArpFrameLen - kEthHeaderLen - kArpLen);
  return kArpFrameLen;
}

uint32_t write_arp_request(uint8_t* out, uint32_t cap, const Mac& our_mac, uint32_t our_ip,
                           uint32_t target, const Mac* unicast) {
  const ArpMessage m{kArpOpRequest, our_mac, our_ip, Mac{}, target};
  return write_arp_frame(out, cap, unicast ? *unicast : Mac::broadcast(), our_mac, m);
}

uint32_t write_gratuitous_arp(uint8_t* out, uint32_t cap, const Mac& our_mac, uint32_t our_ip) {
  return write_arp_request(out, cap, our_mac, our_ip, our_ip, nullptr);
}

uint32_t Arp::answer(const ArpMessage& m, uint8_t* reply, uint32_t cap) {
  // RFC 826: swap the sender and target fields, ours as the sender.
  const ArpMessage r{kArpOpReply, net_.mac, m.tpa, m.sha, m.spa};
  st_.requests_answered.add(1);
  return write_arp_frame(reply, cap, m.sha, net_.mac, r);
}

uint32_t Arp::input(const uint8_t* frame, uint32_t len, uint64_t now_us, uint8_t* reply,
                    uint32_t cap) {
  st_.received.add(1);
  ArpMessage m;
  switch (parse_arp(frame, len, &m)) {
    case 0:
      break;
    case -EINVAL:
      st_.malformed.add(1);
      return 0;
    default:
      st_.unsupported.add(1);
      return 0;
  }
  const Mac dst = eth_dst(frame);
  if (dst != net_.mac && !dst.is_multicast()) {
    st_.not_for_us.add(1);
    return 0;
  }
  if (!m.sha.is_unicast() || bogus_protocol_addr(m.spa) || bogus_protocol_addr(m.tpa)) {
    st_.malformed.add(1);
    return 0;
  }
  const bool to_us = net_.is_local(m.tpa);
  if (m.spa == 0) {
    // RFC 5227 probe: someone wants to use m.tpa. Ours: say so.
    if (!to_us || m.op != kArpOpRequest) return 0;
    st_.probes_answered.add(1);
    return answer(m, reply, cap);
  }
  if (net_.is_local(m.spa)) {
    (m.sha == net_.mac ? st_.looped : st_.conflicts).add(1);
    return 0;
  }
  if (!to_us) {
    const bool gratuitous = m.spa == m.tpa;
    (gratuitous ? st_.gratuitous : st_.others).add(1);
    cache_.learn(m.spa, m.sha, ArpLearn::other, gratuitous, now_us);
    return 0;
  }
  if (m.op == kArpOpReply) {
    st_.replies_learnt.add(1);
    cache_.learn(m.spa, m.sha, ArpLearn::reply_to_us, false, now_us);
    return 0;
  }
  st_.requests_learnt.add(1);
  cache_.learn(m.spa, m.sha, ArpLearn::request_to_us, false, now_us);
  return answer(m, reply, cap);
}

}  // namespace zcrxd
