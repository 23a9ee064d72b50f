// SPDX-License-Identifier: MIT
// Flow keys and classification: most specific match wins, keys are
// normalized, hashing is stable per flow.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>

#include "flow.h"

using namespace zcrxd;

namespace {

ParsedPacket udp(uint8_t v, uint16_t sport, uint16_t dport, uint8_t src_last = 1) {
  ParsedPacket p;
  p.l3 = v == 4 ? L3::ipv4 : L3::ipv6;
  p.l4_proto = 17;
  p.is_udp = true;
  p.src_port = sport;
  p.dst_port = dport;
  p.src_addr[0] = 10;
  p.src_addr[v == 4 ? 3 : 15] = src_last;
  p.dst_addr[0] = 10;
  p.dst_addr[v == 4 ? 3 : 15] = 2;
  return p;
}

FlowKey port_key(uint16_t port, uint8_t v = 0) {
  FlowKey k;
  k.kind = FlowKind::udp_port;
  k.ip_version = v;
  k.dst_port = port;
  return k;
}

FlowKey tuple_key(const ParsedPacket& p) {
  FlowKey k;
  k.kind = FlowKind::five_tuple;
  k.ip_version = p.l3 == L3::ipv4 ? 4 : 6;
  k.src_port = p.src_port;
  k.dst_port = p.dst_port;
  std::memcpy(k.src_addr, p.src_addr, 16);
  std::memcpy(k.dst_addr, p.dst_addr, 16);
  return k;
}

}  // namespace

TEST_CASE("normalize: kinds, versions, ports, IPv4 address bytes") {
  FlowKey k = port_key(9000);
  k.src_port = 5;
  k.src_addr[3] = 7;
  CHECK(normalize(&k) == 0);
  CHECK(k.src_port == 0);
  CHECK(k.src_addr[3] == 0);
  k = port_key(0);
  CHECK(normalize(&k) == -EINVAL);
  k = port_key(1, 5);
  CHECK(normalize(&k) == -EINVAL);
  FlowKey t = tuple_key(udp(4, 1, 2));
  CHECK(normalize(&t) == 0);
  t.src_addr[4] = 1;
  CHECK(normalize(&t) == -EINVAL);
  t = tuple_key(udp(4, 0, 2));
  CHECK(normalize(&t) == -EINVAL);
  t = tuple_key(udp(6, 1, 2));
  t.ip_version = 0;
  CHECK(normalize(&t) == -EINVAL);
  FlowKey r;
  r.kind = FlowKind::raw;
  r.dst_port = 9;
  CHECK(normalize(&r) == 0);
  CHECK(r.dst_port == 0);
  FlowKey bad;
  bad.kind = static_cast<FlowKind>(9);
  CHECK(normalize(&bad) == -EINVAL);
}

TEST_CASE("classify: 5-tuple over versioned port over any-version port over raw") {
  ParsedPacket a = udp(4, 1000, 9000, 1);
  ParsedPacket b = udp(4, 1000, 9000, 7);
  ParsedPacket c = udp(6, 1000, 9000, 1);
  ParsedPacket d = udp(4, 1000, 9001, 1);
  FlowKey raw;
  raw.kind = FlowKind::raw;
  FlowTable t({{tuple_key(a), 1}, {port_key(9000, 4), 2}, {port_key(9000), 3}, {raw, 4}});
  CHECK(t.classify(a) == 1);
  CHECK(t.classify(b) == 2);
  CHECK(t.classify(c) == 3);
  CHECK(t.classify(d) == 4);
  ParsedPacket arp;
  CHECK(t.classify(arp) == 4);
  FlowTable no_raw({{port_key(9000), 3}});
  CHECK(no_raw.classify(d) == kNoFlow);
  CHECK(no_raw.classify(arp) == kNoFlow);
  CHECK(FlowTable().classify(a) == kNoFlow);
  CHECK(FlowTable().empty());
}

TEST_CASE("a table of many ports finds each and nothing else") {
  std::vector<std::pair<FlowKey, uint32_t>> flows;
  for (uint16_t p = 1; p <= 500; p++) flows.push_back({port_key(static_cast<uint16_t>(p * 3)), p});
  FlowTable t(flows);
  for (uint16_t p = 1; p <= 500; p++) {
    CHECK(t.classify(udp(4, 1, static_cast<uint16_t>(p * 3))) == p);
    CHECK(t.classify(udp(6, 1, static_cast<uint16_t>(p * 3 + 1))) == kNoFlow);
    CHECK(t.find(port_key(static_cast<uint16_t>(p * 3))) == p);
  }
}

TEST_CASE("port flows of each IP version and 5-tuples share ports without mixing") {
  // The same port number in every port table key, plus 5-tuples and raw:
  // each packet lands in the most specific of the kinds that have flows.
  std::vector<std::pair<FlowKey, uint32_t>> flows;
  for (uint16_t p = 1; p <= 200; p++) {
    flows.push_back({port_key(p, 4), 1000u + p});
    if (p % 2) flows.push_back({port_key(p, 6), 2000u + p});
    if (p % 3 == 0) flows.push_back({port_key(p), 3000u + p});
    if (p % 5 == 0) flows.push_back({tuple_key(udp(6, 7, p)), 4000u + p});
  }
  FlowKey raw{};
  flows.push_back({raw, 9});
  FlowTable t(flows);
  CHECK(t.raw_group() == 9);
  for (uint16_t p = 1; p <= 200; p++) {
    CHECK(t.classify(udp(4, 7, p)) == 1000u + p);
    uint32_t v6 = p % 5 == 0 ? 4000u + p : p % 2 ? 2000u + p : p % 3 == 0 ? 3000u + p : 9u;
    CHECK(t.classify(udp(6, 7, p)) == v6);
    // Another source: the 5-tuple does not match, the port flows do.
    uint32_t v6_other = p % 2 ? 2000u + p : p % 3 == 0 ? 3000u + p : 9u;
    CHECK(t.classify(udp(6, 8, p)) == v6_other);
    CHECK(t.find(port_key(p, 4)) == 1000u + p);
    CHECK(t.find(port_key(p)) == (p % 3 == 0 ? 3000u + p : kNoFlow));
  }
  CHECK(t.classify(udp(4, 7, 201)) == 9);
  ParsedPacket arp;
  CHECK(t.classify(arp) == 9);
  // Only 5-tuples: a port lookup finds nothing, other packets go nowhere.
  FlowTable tuples({{tuple_key(udp(4, 7, 5)), 1}});
  CHECK(tuples.classify(udp(4, 7, 5)) == 1);
  CHECK(tuples.classify(udp(4, 8, 5)) == kNoFlow);
  CHECK(tuples.find(port_key(5)) == kNoFlow);
  CHECK(tuples.raw_group() == kNoFlow);
}

TEST_CASE("flow_hash is a function of the flow, not of the packet") {
  ParsedPacket a = udp(4, 1000, 9000, 1);
  ParsedPacket a2 = a;
  a2.payload_len = 77;
  CHECK(flow_hash(a) == flow_hash(a2));
  int differ = 0;
  for (uint16_t s = 1; s < 100; s++)
    differ += flow_hash(udp(4, s, 9000)) != flow_hash(udp(4, static_cast<uint16_t>(s + 1), 9000));
  CHECK(differ >= 95);
}
