// SPDX-License-Identifier: MIT
#include "frame_csum.h"

#include <netinet/in.h>

namespace zcrx::tools {

namespace {

constexpr size_t kMacHeader = 14;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

/// Pseudo-header sum plus the segment itself, checksum field included.
uint64_t l4_sum(const uint8_t* frame, const FrameLayout& l) {
  uint64_t sum = 0;
  const uint8_t* ip = frame + l.l3_off;
  if (l.ipv4) {
    sum = csum_partial(ip + 12, 8, 0);  // source and destination
  } else {
    sum = csum_partial(ip + 8, 32, 0);
  }
  sum += l.l4_proto;
  sum += l.l4_len;  // IPv6's 32-bit length: the high half is 0 for frames
  return csum_partial(frame + l.l4_off, l.l4_len, sum);
}

bool has_l4_checksum(const FrameLayout& l) {
  if (l.fragment) return false;
  if (l.l4_proto == IPPROTO_TCP) return l.l4_len >= 20;
  if (l.l4_proto == IPPROTO_UDP) return l.l4_len >= 8;
  return false;
}

size_t checksum_field(const FrameLayout& l) {
  return l.l4_off + (l.l4_proto == IPPROTO_TCP ? 16 : 6);
}

}  // namespace

std::optional<FrameLayout> parse_frame(const uint8_t* f, size_t len) {
  FrameLayout l;
  if (len < kMacHeader) return std::nullopt;
  size_t off = 12;
  uint16_t type = be16(f + off);
  while ((type == 0x8100 || type == 0x88a8) && l.vlan_tags < 2) {
    off += 4;
    if (off + 2 > len) return std::nullopt;
    type = be16(f + off);
    l.vlan_tags++;
  }
  l.ethertype = type;
  l.l3_off = off + 2;
  const uint8_t* ip = f + l.l3_off;
  const size_t room = len - l.l3_off;
  if (type == 0x0800) {
    if (room < 20 || (ip[0] >> 4) != 4) return std::nullopt;
    const size_t ihl = (ip[0] & 0xfu) * 4u;
    const size_t total = be16(ip + 2);
    if (ihl < 20 || total < ihl || total > room) return std::nullopt;
    l.ipv4 = true;
    l.fragment = (be16(ip + 6) & 0x3fff) != 0;  // MF or an offset
    l.l4_proto = ip[9];
    l.l4_off = l.l3_off + ihl;
    l.l4_len = total - ihl;
    l.ip_end = l.l3_off + total;
  } else if (type == 0x86dd) {
    if (room < 40 || (ip[0] >> 4) != 6) return std::nullopt;
    const size_t payload = be16(ip + 4);
    if (40 + payload > room) return std::nullopt;
    l.ipv6 = true;
    l.l4_proto = ip[6];  // an extension header is "another protocol" here
    l.l4_off = l.l3_off + 40;
    l.l4_len = payload;
    l.ip_end = l.l4_off + payload;
  }
  return l;
}

uint64_t csum_partial(const uint8_t* p, size_t len, uint64_t sum) {
  size_t i = 0;
  for (; i + 1 < len; i += 2) sum += be16(p + i);
  if (i < len) sum += static_cast<uint64_t>(p[i]) << 8;
  return sum;
}

uint16_t csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

ChecksumState check_checksums(const uint8_t* frame, const FrameLayout& l) {
  ChecksumState s;
  if (l.ipv4) {
    s.ip_checked = true;
    const size_t ihl = l.l4_off - l.l3_off;
    s.ip_ok = csum_fold(csum_partial(frame + l.l3_off, ihl, 0)) == 0;
  }
  if (has_l4_checksum(l)) {
    s.l4_checked = true;
    const size_t field = checksum_field(l);
    if (l.l4_proto == IPPROTO_UDP && l.ipv4 && be16(frame + field) == 0)
      s.l4_ok = true;
    else
      s.l4_ok = csum_fold(l4_sum(frame, l)) == 0;
  }
  return s;
}

bool complete_l4_checksum(uint8_t* frame, size_t len) {
  const auto l = parse_frame(frame, len);
  if (!l || !has_l4_checksum(*l)) return false;
  const size_t field = checksum_field(*l);
  frame[field] = frame[field + 1] = 0;
  uint16_t c = csum_fold(l4_sum(frame, *l));
  // UDP sends a computed 0 as 0xffff (0 means "no checksum").
  if (l->l4_proto == IPPROTO_UDP && c == 0) c = 0xffff;
  frame[field] = static_cast<uint8_t>(c >> 8);
  frame[field + 1] = static_cast<uint8_t>(c);
  return true;
}

}  // namespace zcrx::tools
