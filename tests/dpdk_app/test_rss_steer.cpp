// SPDX-License-Identifier: MIT
// RSS as the NIC computes it: the Toeplitz hash against Microsoft's
// published verification vectors ("Verifying the RSS Hash Calculation",
// IPv4 and IPv4 with TCP), the per-port shortcut against the full hash,
// and the source-port choice of CONNECT checked exhaustively over the
// ephemeral range.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstring>
#include <set>
#include <vector>

#include "rss_steer.h"

using namespace zcrxd;

namespace {

// A dotted quad in host order.
uint32_t ip4(const char* s) {
  in_addr a{};
  REQUIRE(inet_pton(AF_INET, s, &a) == 1);
  return ntohl(a.s_addr);
}

// The verification key of Microsoft's RSS documentation.
constexpr uint8_t kMsKey[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

struct Vector {
  const char* dst;
  uint16_t dport;
  const char* src;
  uint16_t sport;
  uint32_t ipv4;      // hash of the addresses alone
  uint32_t ipv4_tcp;  // hash with the ports
};

// The IPv4 table of the document (destination first, as it prints them).
constexpr Vector kVectors[] = {
    {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
    {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
    {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
    {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
    {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
};

RssSteering ms_steering(std::vector<uint16_t> reta) {
  RssSteering r;
  r.steers = true;
  r.key_len = sizeof(kMsKey);
  std::memcpy(r.key, kMsKey, sizeof(kMsKey));
  r.reta_size = static_cast<uint32_t>(reta.size());
  for (size_t i = 0; i < reta.size(); i++) r.reta[i] = reta[i];
  return r;
}

// A RETA of `n` entries spreading over `queues` round-robin, as PMDs fill it.
std::vector<uint16_t> round_robin(uint32_t n, uint16_t queues) {
  std::vector<uint16_t> t(n);
  for (uint32_t i = 0; i < n; i++) t[i] = static_cast<uint16_t>(i % queues);
  return t;
}

struct UsedPorts {
  std::set<uint16_t> used;
  static bool check(void* ctx, uint16_t p) {
    return static_cast<UsedPorts*>(ctx)->used.count(p) != 0;
  }
};

}  // namespace

TEST_CASE("toeplitz: Microsoft's IPv4 and IPv4/TCP verification vectors") {
  for (const Vector& v : kVectors) {
    CAPTURE(v.src);
    uint8_t in[12];
    rss_ipv4_tcp_input(ip4(v.src), ip4(v.dst), v.sport, v.dport, in);
    CHECK(toeplitz_hash(kMsKey, sizeof(kMsKey), in, 8) == v.ipv4);
    CHECK(toeplitz_hash(kMsKey, sizeof(kMsKey), in, 12) == v.ipv4_tcp);
  }
}

TEST_CASE("toeplitz: the input is src addr, dst addr, src port, dst port in network order") {
  uint8_t in[12];
  rss_ipv4_tcp_input(0x01020304, 0x05060708, 0x090a, 0x0b0c, in);
  const uint8_t want[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  CHECK(std::memcmp(in, want, sizeof(want)) == 0);
  // Swapping the ends changes the hash: the default key is not symmetric.
  const Vector& v = kVectors[0];
  uint8_t swapped[12];
  rss_ipv4_tcp_input(ip4(v.dst), ip4(v.src), v.dport, v.sport, swapped);
  CHECK(toeplitz_hash(kMsKey, sizeof(kMsKey), swapped, 12) != v.ipv4_tcp);
}

TEST_CASE("toeplitz: key bits past the key count as zero") {
  const uint8_t in[4] = {0, 0, 0, 1};  // only the last bit: key bits 31..62
  const uint8_t key[4] = {0, 0, 0, 1};  // bit 31 set, nothing after
  CHECK(toeplitz_hash(key, sizeof(key), in, sizeof(in)) == 0x80000000u);
  CHECK(toeplitz_hash(key, 0, in, sizeof(in)) == 0);
}

TEST_CASE("rss: the queue a segment from the peer lands on is reta[hash % size]") {
  const RssSteering r = ms_steering(round_robin(128, 4));
  for (const Vector& v : kVectors) {
    // The peer is the source of what we receive.
    CHECK(r.queue_of(ip4(v.src), ip4(v.dst), v.sport, v.dport) == (v.ipv4_tcp % 128) % 4);
  }
  // A table of another size and content.
  std::vector<uint16_t> t(64);
  for (uint32_t i = 0; i < 64; i++) t[i] = static_cast<uint16_t>((i * 7 + 3) % 5);
  const RssSteering r5 = ms_steering(t);
  const Vector& v = kVectors[2];
  CHECK(r5.queue_of(ip4(v.src), ip4(v.dst), v.sport, v.dport) == t[v.ipv4_tcp % 64]);
}

TEST_CASE("rss: the per-port shortcut equals the full hash for every port") {
  std::vector<uint16_t> t(512);
  for (uint32_t i = 0; i < 512; i++) t[i] = static_cast<uint16_t>((i * 2654435761u) >> 29);
  const RssSteering r = ms_steering(t);
  for (const Vector& v : kVectors) {
    const SteeredPorts ports(r, ip4(v.src), ip4(v.dst), v.sport);
    uint32_t mismatches = 0;
    for (uint32_t p = 0; p <= 65535; p++) {
      const auto port = static_cast<uint16_t>(p);
      mismatches += ports.queue_of(port) != r.queue_of(ip4(v.src), ip4(v.dst), v.sport, port);
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("rss: CONNECT's port choice gives every port of the queue once, then none") {
  const RssSteering r = ms_steering(round_robin(128, 4));
  const uint32_t peer = ip4("10.77.0.1"), local = ip4("10.77.0.2");
  const uint16_t peer_port = 5201, lo = 32768, hi = 60999;
  const SteeredPorts ports(r, peer, local, peer_port);
  for (uint16_t queue = 0; queue < 4; queue++) {
    CAPTURE(queue);
    // What the full hash says lands on the queue.
    std::set<uint16_t> want;
    for (uint32_t p = lo; p <= hi; p++)
      if (r.queue_of(peer, local, peer_port, static_cast<uint16_t>(p)) == queue)
        want.insert(static_cast<uint16_t>(p));
    REQUIRE(want.size() > (hi - lo + 1u) / 8);  // a fair share, not a handful
    UsedPorts used;
    uint16_t start = 40000;
    for (;;) {
      const uint16_t p = pick_steered_port(ports, queue, lo, hi, start, &UsedPorts::check, &used);
      if (!p) break;
      REQUIRE(used.used.insert(p).second);  // never a port already taken
      start = static_cast<uint16_t>(p + 1);
    }
    CHECK(used.used == want);
  }
}

TEST_CASE("rss: the choice starts at `start`, wraps, and skips ports in use") {
  const RssSteering r = ms_steering(round_robin(128, 2));
  const uint32_t peer = ip4("192.0.2.1"), local = ip4("192.0.2.2");
  const SteeredPorts ports(r, peer, local, 80);
  const uint16_t lo = 1000, hi = 1063;
  std::vector<uint16_t> on_q1;
  for (uint16_t p = lo; p <= hi; p++)
    if (ports.queue_of(p) == 1) on_q1.push_back(p);
  REQUIRE(on_q1.size() >= 3);
  // From the start: the first port on the queue at or after it.
  CHECK(pick_steered_port(ports, 1, lo, hi, on_q1[1], nullptr, nullptr) == on_q1[1]);
  CHECK(pick_steered_port(ports, 1, lo, hi, static_cast<uint16_t>(on_q1[1] + 1), nullptr,
                          nullptr) == on_q1[2]);
  // Past the last one: wraps to the first.
  CHECK(pick_steered_port(ports, 1, lo, hi, static_cast<uint16_t>(on_q1.back() + 1), nullptr,
                          nullptr) == on_q1[0]);
  // A start outside the range counts from lo.
  CHECK(pick_steered_port(ports, 1, lo, hi, 7, nullptr, nullptr) == on_q1[0]);
  // In use: skipped.
  UsedPorts used;
  used.used.insert(on_q1[0]);
  CHECK(pick_steered_port(ports, 1, lo, hi, lo, &UsedPorts::check, &used) == on_q1[1]);
}

TEST_CASE("rss: a queue the table never names gets no port") {
  const RssSteering r = ms_steering(round_robin(128, 3));  // queues 0..2
  const SteeredPorts ports(r, ip4("10.0.0.1"), ip4("10.0.0.2"), 443);
  CHECK(pick_steered_port(ports, 3, 32768, 60999, 32768, nullptr, nullptr) == 0);
  // An empty or inverted range too.
  CHECK(pick_steered_port(ports, 0, 2000, 1999, 2000, nullptr, nullptr) == 0);
  CHECK(pick_steered_port(ports, 0, 0, 0, 0, nullptr, nullptr) == 0);
}
