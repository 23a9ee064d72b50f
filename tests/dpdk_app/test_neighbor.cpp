// SPDX-License-Identifier: MIT
// The neighbour cache: resolution with held frames released on success and
// on failure (in order, each exactly once), request retries and their rate,
// the hold-down after a failure, reachable -> stale -> delay -> probe, the
// RFC 826 merge and Linux's locktime, a bounded table (eviction of stale
// and failed entries only), and the open-addressing index under random churn.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "neighbor.h"
#include "net_test_util.h"

using namespace zcrxd;
using zcrxd::test::ip4;

namespace {

struct Request {
  uint32_t ip;
  bool unicast;
  Mac to;
};

struct Released {
  void* frame;
  uint32_t ip;
  bool has_mac;
  Mac mac;
  int result;
};

struct FakeHost : NeighborHost {
  std::vector<Request> requests;
  std::vector<Released> released;
  void send_request(uint32_t ip, const Mac* unicast) override {
    requests.push_back({ip, unicast != nullptr, unicast ? *unicast : Mac{}});
  }
  void release(void* frame, uint32_t ip, const Mac* mac, int result) override {
    released.push_back({frame, ip, mac != nullptr, mac ? *mac : Mac{}, result});
  }
};

void* frame(uintptr_t k) { return reinterpret_cast<void*>(k * 16); }

const Mac kMacA{{0x02, 0, 0, 0, 0, 0xa}};
const Mac kMacB{{0x02, 0, 0, 0, 0, 0xb}};
constexpr uint64_t kSec = 1000000;
constexpr uint64_t kT0 = 1000 * kSec;  // far from 0: timers add to it
const uint32_t kPeer = ip4(10, 0, 0, 1);

NeighborConfig small_config() {
  NeighborConfig c;
  c.capacity = 8;
  return c;
}

}  // namespace

TEST_CASE("resolution: the first frame is held, the reply releases every held frame in order") {
  FakeHost host;
  NeighborCache cache(NeighborConfig{}, host);
  Mac mac;
  CHECK(cache.next_deadline() == UINT64_MAX);
  CHECK(cache.resolve(kPeer, kT0, frame(1), &mac) == NeighborCache::kHeld);
  REQUIRE(host.requests.size() == 1);
  CHECK(host.requests[0].ip == kPeer);
  CHECK_FALSE(host.requests[0].unicast);
  CHECK(cache.state(kPeer, kT0) == NeighState::incomplete);
  CHECK(cache.next_deadline() == kT0 + kSec);
  // More frames while it resolves: held, no second request.
  CHECK(cache.resolve(kPeer, kT0 + 10, frame(2), &mac) == NeighborCache::kHeld);
  CHECK(cache.resolve(kPeer, kT0 + 20, nullptr, &mac) == -EAGAIN);
  CHECK(host.requests.size() == 1);
  CHECK(cache.held(kPeer) == 2);
  CHECK(host.released.empty());

  cache.learn(kPeer, kMacA, ArpLearn::reply_to_us, false, kT0 + 100);
  REQUIRE(host.released.size() == 2);
  CHECK(host.released[0].frame == frame(1));
  CHECK(host.released[1].frame == frame(2));
  for (const Released& r : host.released) {
    CHECK(r.result == 0);
    CHECK(r.has_mac);
    CHECK(r.mac == kMacA);
    CHECK(r.ip == kPeer);
  }
  CHECK(cache.held(kPeer) == 0);
  CHECK(cache.state(kPeer, kT0 + 100) == NeighState::reachable);
  CHECK(cache.resolve(kPeer, kT0 + 200, frame(3), &mac) == 0);
  CHECK(mac == kMacA);
  CHECK(host.released.size() == 2);  // frame 3 was not taken
  const NeighborStats& st = cache.stats();
  CHECK(st.resolutions.get() == 1);
  CHECK(st.resolved.get() == 1);
  CHECK(st.held.get() == 2);
  CHECK(st.held_sent.get() == 2);
  CHECK(st.held_dropped.get() == 0);
  CHECK(st.requests_sent.get() == 1);
  // Nothing is due any more: the deadline only ever moves early.
  cache.poll(kT0 + kSec);
  CHECK(cache.next_deadline() == UINT64_MAX);
}

TEST_CASE("three requests a second apart, then failure: held frames get -EHOSTUNREACH") {
  FakeHost host;
  NeighborCache cache(NeighborConfig{}, host);
  Mac mac;
  REQUIRE(cache.resolve(kPeer, kT0, frame(1), &mac) == NeighborCache::kHeld);
  REQUIRE(cache.resolve(kPeer, kT0 + 5, frame(2), &mac) == NeighborCache::kHeld);
  cache.poll(kT0 + kSec - 1);  // not yet
  CHECK(host.requests.size() == 1);
  cache.poll(kT0 + kSec);
  CHECK(host.requests.size() == 2);
  cache.poll(kT0 + kSec + 500000);  // rate-limited: one per second
  CHECK(host.requests.size() == 2);
  cache.poll(kT0 + 2 * kSec);
  CHECK(host.requests.size() == 3);
  for (const Request& r : host.requests) CHECK_FALSE(r.unicast);
  CHECK(host.released.empty());
  cache.poll(kT0 + 3 * kSec);
  CHECK(host.requests.size() == 3);  // no fourth
  REQUIRE(host.released.size() == 2);
  CHECK(host.released[0].frame == frame(1));
  CHECK(host.released[1].frame == frame(2));
  for (const Released& r : host.released) {
    CHECK(r.result == -EHOSTUNREACH);
    CHECK_FALSE(r.has_mac);
  }
  CHECK(cache.state(kPeer, kT0 + 3 * kSec) == NeighState::failed);
  CHECK(cache.stats().failed.get() == 1);
  CHECK(cache.stats().held_dropped.get() == 2);

  // Held down for a retry interval: refused at once, no request, frame kept by the caller.
  CHECK(cache.resolve(kPeer, kT0 + 3 * kSec + 10, frame(3), &mac) == -EHOSTUNREACH);
  CHECK(host.requests.size() == 3);
  CHECK(cache.stats().unreachable.get() == 1);
  // Then a new resolution starts.
  CHECK(cache.resolve(kPeer, kT0 + 4 * kSec, frame(3), &mac) == NeighborCache::kHeld);
  CHECK(host.requests.size() == 4);
  CHECK(cache.stats().resolutions.get() == 2);
  // An answer after a failure works like any answer.
  cache.learn(kPeer, kMacB, ArpLearn::reply_to_us, false, kT0 + 4 * kSec + 1);
  REQUIRE(host.released.size() == 3);
  CHECK(host.released[2].frame == frame(3));
  CHECK(host.released[2].mac == kMacB);
}

TEST_CASE("a full hold queue drops its oldest frame with -ENOBUFS") {
  FakeHost host;
  NeighborConfig cfg;
  cfg.hold_max = 3;
  NeighborCache cache(cfg, host);
  Mac mac;
  for (uintptr_t k = 1; k <= 5; k++)
    CHECK(cache.resolve(kPeer, kT0, frame(k), &mac) == NeighborCache::kHeld);
  REQUIRE(host.released.size() == 2);
  CHECK(host.released[0].frame == frame(1));
  CHECK(host.released[1].frame == frame(2));
  for (const Released& r : host.released) CHECK(r.result == -ENOBUFS);
  CHECK(cache.held(kPeer) == 3);
  CHECK(cache.stats().held_overflow.get() == 2);
  cache.learn(kPeer, kMacA, ArpLearn::request_to_us, false, kT0 + 1);
  REQUIRE(host.released.size() == 5);
  CHECK(host.released[2].frame == frame(3));
  CHECK(host.released[3].frame == frame(4));
  CHECK(host.released[4].frame == frame(5));
  CHECK(host.released[4].result == 0);
  // Learnt from a request: usable, but stale (not confirmed).
  CHECK(cache.state(kPeer, kT0 + 1) == NeighState::stale);
}

TEST_CASE("the default hold queue keeps eight frames") {
  FakeHost host;
  NeighborCache cache(NeighborConfig{}, host);
  Mac mac;
  for (uintptr_t k = 1; k <= kMaxHeld + 1; k++) cache.resolve(kPeer, kT0, frame(k), &mac);
  CHECK(cache.held(kPeer) == kMaxHeld);
  REQUIRE(host.released.size() == 1);
  CHECK(host.released[0].frame == frame(1));
}

TEST_CASE("reachable ages to stale; use starts delay, then unicast probes, then failure") {
  FakeHost host;
  NeighborCache cache(NeighborConfig{}, host);
  Mac mac;
  cache.learn(kPeer, kMacA, ArpLearn::reply_to_us, false, kT0);
  CHECK(cache.stats().created.get() == 1);
  CHECK(cache.state(kPeer, kT0 + 30 * kSec - 1) == NeighState::reachable);
  CHECK(cache.state(kPeer, kT0 + 30 * kSec) == NeighState::stale);
  const uint64_t t = kT0 + 40 * kSec;
  CHECK(cache.resolve(kPeer, t, frame(1), &mac) == 0);  // stale still sends
  CHECK(mac == kMacA);
  CHECK(cache.state(kPeer, t) == NeighState::delay);
  CHECK(cache.next_deadline() == t + 5 * kSec);
  CHECK(host.requests.empty());
  cache.poll(t + 5 * kSec);
  REQUIRE(host.requests.size() == 1);
  CHECK(host.requests[0].unicast);
  CHECK(host.requests[0].to == kMacA);
  CHECK(cache.state(kPeer, t + 5 * kSec) == NeighState::probe);
  CHECK(cache.resolve(kPeer, t + 5 * kSec + 1, frame(2), &mac) == 0);  // still used
  cache.poll(t + 6 * kSec);
  cache.poll(t + 7 * kSec);
  CHECK(host.requests.size() == 3);
  CHECK(cache.stats().probes_sent.get() == 3);
  cache.poll(t + 8 * kSec);
  CHECK(host.requests.size() == 3);
  CHECK(cache.state(kPeer, t + 8 * kSec) == NeighState::failed);
  CHECK(cache.resolve(kPeer, t + 8 * kSec, frame(3), &mac) == -EHOSTUNREACH);
  CHECK(host.released.empty());  // nothing was held: probing entries send
}

TEST_CASE("a probe answered, or a confirmation from the transport, makes it reachable again") {
  FakeHost host;
  NeighborCache cache(NeighborConfig{}, host);
  Mac mac;
  cache.learn(kPeer, kMacA, ArpLearn::request_to_us, false, kT0);
  CHECK(cache.state(kPeer, kT0) == NeighState::stale);
  REQUIRE(cache.resolve(kPeer, kT0 + 1, nullptr, &mac) == 0);
  CHECK(cache.state(kPeer, kT0 + 1) == NeighState::delay);
  cache.confirm(kPeer, kT0 + 2);
  CHECK(cache.state(kPeer, kT0 + 2) == NeighState::reachable);
  cache.poll(kT0 + 10 * kSec);
  CHECK(host.requests.empty());  // no probe: confirmed during delay

  // Aged again, used, probed, answered.
  const uint64_t t = kT0 + 100 * kSec;
  REQUIRE(cache.resolve(kPeer, t, nullptr, &mac) == 0);
  cache.poll(t + 5 * kSec);
  REQUIRE(host.requests.size() == 1);
  cache.learn(kPeer, kMacA, ArpLearn::reply_to_us, false, t + 5 * kSec + 100);
  CHECK(cache.state(kPeer, t + 5 * kSec + 100) == NeighState::reachable);
  cache.poll(t + 20 * kSec);
  CHECK(host.requests.size() == 1);
  // A request from it with the same MAC does not demote a reachable entry.
  cache.learn(kPeer, kMacA, ArpLearn::request_to_us, false, t + 21 * kSec);
  CHECK(cache.state(kPeer, t + 21 * kSec) == NeighState::reachable);
}

TEST_CASE("RFC 826 merge: messages not for us update entries but create none") {
  FakeHost host;
  NeighborCache cache(NeighborConfig{}, host);
  cache.learn(kPeer, kMacA, ArpLearn::other, false, kT0);
  CHECK(cache.state(kPeer, kT0) == NeighState::free);
  CHECK(cache.size() == 0);
  cache.learn(kPeer, kMacA, ArpLearn::other, true, kT0);  // gratuitous: no creation either
  CHECK(cache.size() == 0);

  cache.learn(kPeer, kMacA, ArpLearn::reply_to_us, false, kT0);
  // Another MAC within locktime: refused, unless gratuitous.
  cache.learn(kPeer, kMacB, ArpLearn::other, false, kT0 + 10);
  cache.learn(kPeer, kMacB, ArpLearn::reply_to_us, false, kT0 + 20);
  Mac mac;
  REQUIRE(cache.lookup(kPeer, &mac));
  CHECK(mac == kMacA);
  CHECK(cache.stats().override_refused.get() == 2);
  cache.learn(kPeer, kMacB, ArpLearn::other, true, kT0 + 30);
  REQUIRE(cache.lookup(kPeer, &mac));
  CHECK(mac == kMacB);
  CHECK(cache.state(kPeer, kT0 + 30) == NeighState::stale);  // not confirmed by it
  CHECK(cache.stats().mac_changed.get() == 1);
  // Past locktime since that change, any message may change it.
  cache.learn(kPeer, kMacA, ArpLearn::other, false, kT0 + 30 + kSec);
  REQUIRE(cache.lookup(kPeer, &mac));
  CHECK(mac == kMacA);
  // An incomplete entry is resolved by a message not addressed to us.
  const uint32_t other = ip4(10, 0, 0, 7);
  CHECK(cache.resolve(other, kT0, frame(9), &mac) == NeighborCache::kHeld);
  cache.learn(other, kMacB, ArpLearn::other, true, kT0 + 1);
  REQUIRE(host.released.size() == 1);
  CHECK(host.released[0].mac == kMacB);
  CHECK(cache.state(other, kT0 + 1) == NeighState::stale);
}

TEST_CASE("a full table takes only failed and unused stale entries, else -ENOBUFS") {
  FakeHost host;
  NeighborCache cache(small_config(), host);
  Mac mac;
  for (uint32_t i = 1; i <= 8; i++)
    cache.learn(ip4(10, 0, 0, i), kMacA, ArpLearn::reply_to_us, false, kT0);
  CHECK(cache.size() == 8);
  // All reachable: nothing to take.
  CHECK(cache.resolve(ip4(10, 0, 1, 1), kT0 + 1, frame(1), &mac) == -ENOBUFS);
  cache.learn(ip4(10, 0, 1, 2), kMacB, ArpLearn::request_to_us, false, kT0 + 1);
  CHECK(cache.stats().table_full.get() == 2);
  CHECK(host.requests.empty());
  CHECK(host.released.empty());  // a refused frame stays the caller's

  // Aged to stale; .1-.4 in use (used within stale_us), .5-.8 never used.
  const uint64_t t = kT0 + 31 * kSec;
  for (uint32_t i = 1; i <= 4; i++)
    REQUIRE(cache.resolve(ip4(10, 0, 0, i), t, nullptr, &mac) == 0);
  for (uint32_t i = 1; i <= 4; i++) cache.confirm(ip4(10, 0, 0, i), t);
  for (uint32_t i = 1; i <= 4; i++) {
    CHECK(cache.resolve(ip4(10, 0, 1, i), t + 1, frame(i), &mac) == NeighborCache::kHeld);
  }
  CHECK(cache.stats().evicted.get() == 4);
  CHECK(cache.size() == 8);
  for (uint32_t i = 1; i <= 4; i++)
    CHECK(cache.state(ip4(10, 0, 0, i), t + 1) == NeighState::reachable);
  for (uint32_t i = 5; i <= 8; i++) CHECK(cache.state(ip4(10, 0, 0, i), t + 1) == NeighState::free);
  // Incomplete and reachable entries are never taken.
  CHECK(cache.resolve(ip4(10, 0, 2, 1), t + 2, frame(9), &mac) == -ENOBUFS);
  // Failed ones are.
  for (uint64_t k = 1; k <= 3; k++) cache.poll(t + 1 + k * kSec);
  CHECK(host.released.size() == 4);
  CHECK(cache.resolve(ip4(10, 0, 2, 1), t + 1 + 3 * kSec, frame(9), &mac) == NeighborCache::kHeld);
  CHECK(cache.stats().evicted.get() == 5);
}

TEST_CASE("a stale entry used within stale_us is kept; once unused that long it may go") {
  FakeHost host;
  NeighborConfig cfg = small_config();
  cfg.capacity = 1;
  NeighborCache cache(cfg, host);
  Mac mac;
  cache.learn(kPeer, kMacA, ArpLearn::request_to_us, false, kT0);
  REQUIRE(cache.resolve(kPeer, kT0 + 1, nullptr, &mac) == 0);
  cache.poll(kT0 + 5 * kSec);  // probing
  cache.learn(kPeer, kMacA, ArpLearn::reply_to_us, false, kT0 + 5 * kSec + 1);  // answered
  const uint32_t next = ip4(10, 0, 0, 9);
  CHECK(cache.resolve(next, kT0 + 40 * kSec, nullptr, &mac) == -ENOBUFS);  // stale, used at +1 s
  CHECK(cache.resolve(next, kT0 + 1 + 60 * kSec, nullptr, &mac) == -EAGAIN);
  CHECK(cache.state(kPeer, kT0 + 61 * kSec) == NeighState::free);
}

TEST_CASE("flush and the destructor release every held frame with -ENETDOWN") {
  FakeHost host;
  Mac mac;
  {
    NeighborCache cache(NeighborConfig{}, host);
    cache.resolve(kPeer, kT0, frame(1), &mac);
    cache.resolve(ip4(10, 0, 0, 3), kT0, frame(2), &mac);
    cache.flush();
    CHECK(host.released.size() == 2);
    CHECK(cache.size() == 0);
    CHECK(cache.state(kPeer, kT0) == NeighState::free);
    CHECK(cache.next_deadline() == UINT64_MAX);
    cache.resolve(kPeer, kT0, frame(3), &mac);
  }
  REQUIRE(host.released.size() == 3);
  for (const Released& r : host.released) CHECK(r.result == -ENETDOWN);
  CHECK(host.released[2].frame == frame(3));
}

TEST_CASE("the index stays consistent through inserts, evictions and failures") {
  // Colliding, clustered addresses in a small table exercise the probe
  // sequences and the backward-shift deletion; every held frame must come
  // back exactly once and every address found must carry its own MAC.
  FakeHost host;
  NeighborConfig cfg;
  cfg.capacity = 16;
  cfg.hold_max = 2;
  NeighborCache cache(cfg, host);
  std::mt19937 rng(7);
  uint64_t now = kT0;
  uintptr_t next_frame = 1;
  uint64_t taken = 0;
  for (int step = 0; step < 20000; step++) {
    now += rng() % 300000;
    const uint32_t ip = ip4(10, 0, static_cast<uint32_t>(rng() % 2), rng() % 40 + 1);
    const Mac m{{0x02, 0, 0, 0, static_cast<uint8_t>(ip >> 8), static_cast<uint8_t>(ip)}};
    switch (rng() % 4) {
      case 0: {
        Mac got;
        const int rc = cache.resolve(ip, now, frame(next_frame), &got);
        if (rc == NeighborCache::kHeld) {
          taken++;
          next_frame++;
        } else if (rc == 0) {
          CHECK(got == m);
        }
        break;
      }
      case 1:
        cache.learn(ip, m, ArpLearn::reply_to_us, false, now);
        break;
      case 2:
        cache.learn(ip, m, ArpLearn::request_to_us, false, now);
        break;
      default:
        cache.poll(now);
        break;
    }
    REQUIRE(cache.size() <= 16);
    // Every entry in use is found through the index (none lost by a
    // deletion), and each found address carries its own MAC.
    uint32_t found = 0;
    for (uint32_t a = 0; a < 2; a++)
      for (uint32_t h = 1; h <= 40; h++) {
        const uint32_t x = ip4(10, 0, a, h);
        if (cache.state(x, now) == NeighState::free) continue;
        found++;
        Mac got;
        const Mac own{{0x02, 0, 0, 0, static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(x)}};
        if (cache.lookup(x, &got)) REQUIRE(got == own);
      }
    REQUIRE(found == cache.size());
  }
  CHECK(cache.stats().evicted.get() > 100);  // the churn did go through evictions
  cache.flush();
  CHECK(host.released.size() == taken);
  std::map<void*, int> seen;
  for (const Released& r : host.released) seen[r.frame]++;
  CHECK(seen.size() == taken);
  for (const auto& [f, n] : seen) CHECK(n == 1);
  CHECK(cache.stats().held.get() == taken);
  CHECK(cache.stats().held_sent.get() + cache.stats().held_dropped.get() == taken);
}
