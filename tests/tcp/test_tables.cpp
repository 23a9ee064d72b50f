// SPDX-License-Identifier: MIT
// The engine's building blocks, white box: SipHash-2-4 against the
// reference vectors (RFC 6528's keyed hash), the 4-tuple and listener
// tables against a std::map model (open addressing, backward-shift
// deletion), the timer heap against a model (early keys allowed).
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <tuple>

#include "internal.h"

using namespace zcrx::tcp;

TEST_CASE("SipHash-2-4: the reference vectors (key 00..0f, message 00..len-1)") {
  const uint64_t key[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  uint8_t msg[64];
  for (int i = 0; i < 64; i++) msg[i] = static_cast<uint8_t>(i);
  CHECK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
  CHECK(siphash24(key, msg, 1) == 0x74f839c593dc67fdull);
  CHECK(siphash24(key, msg, 2) == 0x0d6c8009d9a94f5aull);
  CHECK(siphash24(key, msg, 3) == 0x85676696d7fb7e2dull);
  CHECK(siphash24(key, msg, 8) == 0x93f5f5799a932462ull);
  CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
}

TEST_CASE("ConnTable: random inserts and erases agree with a map, at the full load it is sized for") {
  const uint64_t key[2] = {1, 2};
  ConnTable t;
  t.init(500, key);
  std::map<std::tuple<uint32_t, uint32_t, uint16_t, uint16_t>, uint32_t> model;
  std::mt19937_64 rng(7);
  auto tuple_of = [](const std::tuple<uint32_t, uint32_t, uint16_t, uint16_t>& k) {
    return FourTuple{{std::get<0>(k), std::get<2>(k)}, {std::get<1>(k), std::get<3>(k)}};
  };
  for (int step = 0; step < 200000; step++) {
    // Few addresses and ports: many collisions and long runs.
    const auto k = std::make_tuple(static_cast<uint32_t>(rng() % 3), static_cast<uint32_t>(rng() % 3),
                                   static_cast<uint16_t>(rng() % 40), static_cast<uint16_t>(rng() % 40));
    const FourTuple ft = tuple_of(k);
    auto it = model.find(k);
    if (it == model.end() && model.size() < 500) {
      t.insert(ft, static_cast<uint32_t>(step));
      model[k] = static_cast<uint32_t>(step);
    } else if (it != model.end()) {
      CHECK(t.find(ft) == it->second);
      t.erase(ft);
      model.erase(it);
      CHECK(t.find(ft) == kNone);
    }
    if (step % 20000 == 0) {
      for (const auto& [mk, v] : model) REQUIRE(t.find(tuple_of(mk)) == v);
    }
  }
  for (const auto& [mk, v] : model) CHECK(t.find(tuple_of(mk)) == v);
}

TEST_CASE("ListenerTable: exact endpoints, erase keeps the others findable") {
  const uint64_t key[2] = {3, 4};
  ListenerTable t;
  t.init(8, key);
  for (uint16_t p = 1; p <= 8; p++) t.insert(Endpoint{p % 2 ? 0u : 0x0a000001u, p}, p);
  for (uint16_t p = 1; p <= 8; p++) CHECK(t.find(Endpoint{p % 2 ? 0u : 0x0a000001u, p}) == p);
  CHECK(t.find(Endpoint{0x0a000001u, 1}) == kNone);
  for (uint16_t p = 1; p <= 8; p += 2) t.erase(Endpoint{0, p});
  for (uint16_t p = 2; p <= 8; p += 2) CHECK(t.find(Endpoint{0x0a000001u, p}) == p);
  CHECK(t.find(Endpoint{0, 3}) == kNone);
}

TEST_CASE("TimerHeap: pops in key order; later keys never delay an earlier one; removal anywhere") {
  TimerHeap h;
  h.init(1000);
  std::map<uint32_t, uint64_t> model;
  std::mt19937_64 rng(11);
  for (int step = 0; step < 100000; step++) {
    const uint32_t id = static_cast<uint32_t>(rng() % 1000);
    const uint64_t key = rng() % 1000000;
    switch (rng() % 3) {
      case 0:
      case 1: {
        h.schedule(id, key);
        auto it = model.find(id);
        if (it == model.end() || key < it->second) model[id] = key;
        break;
      }
      default:
        h.remove(id);
        model.erase(id);
        break;
    }
    REQUIRE(h.size() == model.size());
    if (!model.empty()) {
      uint64_t lo = UINT64_MAX;
      for (const auto& [i, k] : model) lo = std::min(lo, k);
      REQUIRE(h.top_key() == lo);
      REQUIRE(model.at(h.top_id()) == lo);
    }
  }
  while (h.size()) {
    const uint32_t id = h.top_id();
    const uint64_t k = h.top_key();
    h.remove(id);
    if (h.size()) CHECK(h.top_key() >= k);
  }
  CHECK(h.top_key() == UINT64_MAX);
}
