// SPDX-License-Identifier: MIT
// libFuzzer target: zcrxd's frame parser and flow classification on
// arbitrary bytes, as the datapath runs them on every received frame.
//
// Input: [flags u8][avail u16 LE][frame_len u32 LE][frame bytes...]
//  - avail: readable bytes of the first segment (mbuf data_len), capped to
//    the frame bytes given; the parser gets an exact-size heap copy, so a
//    read past `avail` is an ASan report.
//  - frame_len (mbuf pkt_len): `avail` plus the low 16 bits of the field,
//    or (flags bit 2) the field itself, which may be below `avail` or huge.
//  - flags bits 0-1: which fixed flow table classifies the result.
//
// Checks: every offset and length of the result lies inside the frame;
// fields a result does not claim are zero; classify() returns what a
// brute-force reading of FlowTable's documented precedence returns.
//
// What it relies on (dpdk_app/packet.h, flow.h): parse_packet(frame,
// avail, frame_len, &out); ParsedPacket's l3, l4_proto, is_udp, src_addr,
// dst_addr, src_port, dst_port, payload_off, payload_len; FlowKey,
// FlowTable(flows), classify(), flow_hash(), kNoFlow.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "flow.h"
#include "packet.h"

using namespace zcrxd;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_frame_parse: invariant broken: %s\n", what);
  std::abort();
}
#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) fail(#cond); \
  } while (0)

FlowKey port_key(uint8_t version, uint16_t port) {
  FlowKey k{};
  k.kind = FlowKind::udp_port;
  k.ip_version = version;
  k.dst_port = port;
  return k;
}

FlowKey tuple_key(uint8_t version, uint8_t last_src, uint8_t last_dst, uint16_t sport,
                  uint16_t dport) {
  FlowKey k{};
  k.kind = FlowKind::five_tuple;
  k.ip_version = version;
  k.src_port = sport;
  k.dst_port = dport;
  if (version == 4) {
    k.src_addr[0] = 10, k.src_addr[3] = last_src;  // 10.0.0.x
    k.dst_addr[0] = 10, k.dst_addr[3] = last_dst;
  } else {
    k.src_addr[0] = 0xfd, k.src_addr[15] = last_src;  // fd00::x
    k.dst_addr[0] = 0xfd, k.dst_addr[15] = last_dst;
  }
  return k;
}

FlowKey raw_key() {
  FlowKey k{};
  k.kind = FlowKind::raw;
  return k;
}

using Flows = std::vector<std::pair<FlowKey, uint32_t>>;

// The fixed tables: every kind, ports only, tuples without a raw flow, and
// none at all. The seeds' frames hit each flow (tests/fuzz/make_corpus.py).
const Flows& flows(unsigned which) {
  static const Flows tables[4] = {
      {{port_key(0, 5000), 0},
       {port_key(4, 6000), 1},
       {port_key(6, 6000), 2},
       {tuple_key(4, 1, 2, 12345, 5000), 3},
       {tuple_key(6, 1, 2, 12345, 5000), 4},
       {raw_key(), 5}},
      {{port_key(4, 5000), 0}, {port_key(6, 5000), 1}, {port_key(0, 7000), 2}},
      {{tuple_key(4, 1, 2, 12345, 5000), 0}, {tuple_key(4, 2, 1, 5000, 12345), 1}},
      {},
  };
  return tables[which & 3];
}

const FlowTable& table(unsigned which) {
  static const FlowTable tables[4] = {FlowTable(flows(0)), FlowTable(flows(1)),
                                      FlowTable(flows(2)), FlowTable(flows(3))};
  return tables[which & 3];
}

// FlowTable::classify's contract read literally: the first match of a
// 5-tuple, a UDP port of the packet's IP version, a UDP port of either
// version, then raw.
uint32_t classify_reference(const Flows& fl, const ParsedPacket& p) {
  uint32_t raw = kNoFlow;
  for (const auto& [k, g] : fl)
    if (k.kind == FlowKind::raw) raw = g;
  if (!p.is_udp) return raw;
  const uint8_t version = p.l3 == L3::ipv4 ? 4 : 6;
  for (const auto& [k, g] : fl)
    if (k.kind == FlowKind::five_tuple && k.ip_version == version &&
        k.src_port == p.src_port && k.dst_port == p.dst_port &&
        std::memcmp(k.src_addr, p.src_addr, 16) == 0 &&
        std::memcmp(k.dst_addr, p.dst_addr, 16) == 0)
      return g;
  for (uint8_t v : {version, uint8_t{0}})
    for (const auto& [k, g] : fl)
      if (k.kind == FlowKind::udp_port && k.ip_version == v && k.dst_port == p.dst_port)
        return g;
  return raw;
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

void check_result(const ParsedPacket& p, uint32_t avail, uint32_t frame_len) {
  const uint32_t readable = avail < frame_len ? avail : frame_len;
  if (p.l3 == L3::none) {
    FUZZ_CHECK(p.l4_proto == 0 && !p.is_udp);
    FUZZ_CHECK(all_zero(p.src_addr, 16) && all_zero(p.dst_addr, 16));
  }
  if (p.l3 == L3::ipv4) FUZZ_CHECK(all_zero(p.src_addr + 4, 12) && all_zero(p.dst_addr + 4, 12));
  if (!p.is_udp) {
    FUZZ_CHECK(p.src_port == 0 && p.dst_port == 0);
    FUZZ_CHECK(p.payload_off == 0 && p.payload_len == 0);
    return;
  }
  FUZZ_CHECK(p.l3 == L3::ipv4 || p.l3 == L3::ipv6);
  FUZZ_CHECK(p.l4_proto == 17);
  // Ethernet + the smallest IP header + UDP precede the payload, whose
  // header bytes were read: they lie in the first segment.
  const uint32_t min_headers = 14 + (p.l3 == L3::ipv4 ? 20 : 40) + 8;
  FUZZ_CHECK(p.payload_off >= min_headers);
  FUZZ_CHECK(p.payload_off <= readable);
  // The payload may continue in later segments, but not past the frame.
  FUZZ_CHECK(uint64_t{p.payload_off} + p.payload_len <= frame_len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 7;
  if (size < kHeader) return 0;
  const uint8_t flags = data[0];
  uint16_t avail16;
  uint32_t len_field;
  std::memcpy(&avail16, data + 1, 2);
  std::memcpy(&len_field, data + 3, 4);
  const uint8_t* bytes = data + kHeader;
  const size_t n = size - kHeader;
  const uint32_t avail = avail16 < n ? avail16 : static_cast<uint32_t>(n);
  const uint32_t frame_len = (flags & 4) ? len_field : avail + (len_field & 0xffff);

  // Exactly `avail` readable bytes: a read past them is a heap overflow.
  std::unique_ptr<uint8_t[]> frame(new uint8_t[avail ? avail : 1]);
  if (avail) std::memcpy(frame.get(), bytes, avail);

  ParsedPacket p;
  std::memset(&p, 0xa5, sizeof(p));  // parse_packet must set every field
  parse_packet(frame.get(), avail, frame_len, &p);
  check_result(p, avail, frame_len);

  const unsigned which = flags & 3;
  const uint32_t g = table(which).classify(p);
  FUZZ_CHECK(g == classify_reference(flows(which), p));
  FUZZ_CHECK(g == kNoFlow || g < flows(which).size());
  volatile uint32_t h = flow_hash(p);  // reads every address byte
  (void)h;
  return 0;
}
