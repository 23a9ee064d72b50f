// SPDX-License-Identifier: MIT
// DirectionSchedule: frames leave in arrival order unless picked for
// reordering; a delayed frame never leaves early; a held frame goes after
// `reorder_frames` later frames or `reorder_us`, whichever is first.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "prng.h"
#include "relay_schedule.h"

using zcrx::tools::DirectionSchedule;
using zcrx::tools::Verdict;

namespace {

Verdict delay(uint32_t us) {
  Verdict v;
  v.delay_us = us;
  return v;
}

Verdict reorder() {
  Verdict v;
  v.reorder = true;
  return v;
}

std::vector<uint32_t> drain(DirectionSchedule& s, uint64_t now) {
  std::vector<uint32_t> out;
  while (auto f = s.pop_due(now)) out.push_back(*f);
  return out;
}

}  // namespace

TEST_CASE("schedule: without impairments frames leave at once, in order") {
  DirectionSchedule s(64, 8, 3, 1000);
  CHECK(s.next_event_us() == UINT64_MAX);
  for (uint32_t i = 0; i < 10; i++) REQUIRE(s.push(i, 100, Verdict{}));
  CHECK(s.next_event_us() <= 100);
  CHECK(drain(s, 100) == std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(s.queued() == 0);
  CHECK(s.next_event_us() == UINT64_MAX);
}

TEST_CASE("schedule: a delayed frame leaves at its due time, not before") {
  DirectionSchedule s(64, 8, 3, 1000);
  REQUIRE(s.push(1, 1000, delay(500)));
  CHECK(s.next_event_us() == 1500);
  CHECK_FALSE(s.pop_due(1499));
  CHECK(s.pop_due(1500) == 1u);
}

TEST_CASE("schedule: jitter never reorders (a shorter delay waits for the frame before)") {
  DirectionSchedule s(64, 8, 3, 1000);
  REQUIRE(s.push(0, 0, delay(900)));
  REQUIRE(s.push(1, 10, delay(100)));  // due at 110, but 0 is due at 900
  REQUIRE(s.push(2, 20, delay(2000)));
  CHECK(drain(s, 899).empty());
  CHECK(drain(s, 900) == std::vector<uint32_t>{0, 1});
  CHECK(drain(s, 2019).empty());
  CHECK(drain(s, 2020) == std::vector<uint32_t>{2});
}

TEST_CASE("schedule: a held frame goes out after reorder_frames later frames") {
  DirectionSchedule s(64, 8, 3, 1000000);
  for (uint32_t i = 0; i < 8; i++) REQUIRE(s.push(i, 0, i == 2 ? reorder() : Verdict{}));
  CHECK(drain(s, 0) == std::vector<uint32_t>{0, 1, 3, 4, 5, 2, 6, 7});
  CHECK(s.counters().reordered == 1);
  CHECK(s.counters().reorder_timeouts == 0);
}

TEST_CASE("schedule: a held frame goes out after reorder_us when no frame follows") {
  DirectionSchedule s(64, 8, 3, 500);
  REQUIRE(s.push(7, 100, reorder()));
  CHECK(drain(s, 100).empty());
  CHECK(s.queued() == 1);
  CHECK(s.next_event_us() == 600);
  CHECK(drain(s, 599).empty());
  CHECK(drain(s, 600) == std::vector<uint32_t>{7});
  CHECK(s.counters().reordered == 1);
  CHECK(s.counters().reorder_timeouts == 1);
}

TEST_CASE("schedule: reorder_frames 0 holds by time only") {
  DirectionSchedule s(64, 8, 0, 300);
  REQUIRE(s.push(0, 0, reorder()));
  for (uint32_t i = 1; i < 20; i++) REQUIRE(s.push(i, 0, Verdict{}));
  auto first = drain(s, 0);
  CHECK(first.size() == 19);
  CHECK(std::find(first.begin(), first.end(), 0u) == first.end());
  CHECK(drain(s, 300) == std::vector<uint32_t>{0});
}

TEST_CASE("schedule: consecutive held frames keep their own order") {
  DirectionSchedule s(64, 8, 2, 1000000);
  for (uint32_t i = 0; i < 7; i++) REQUIRE(s.push(i, 0, i == 1 || i == 2 ? reorder() : Verdict{}));
  // 1 is held at sent=1 (goes at sent=3), 2 at sent=1 too (goes at 3).
  CHECK(drain(s, 0) == std::vector<uint32_t>{0, 3, 4, 1, 2, 5, 6});
}

TEST_CASE("schedule: a full hold sends the picked frame in order; a full line refuses") {
  DirectionSchedule s(4, 1, 10, 1000000);
  REQUIRE(s.push(0, 0, reorder()));
  REQUIRE(s.push(1, 0, reorder()));
  REQUIRE(s.push(2, 0, Verdict{}));
  REQUIRE(s.push(3, 0, Verdict{}));
  CHECK_FALSE(s.push(4, 0, Verdict{}));  // line full
  CHECK(drain(s, 0) == std::vector<uint32_t>{1, 2, 3});
  CHECK(s.counters().reordered == 1);
  CHECK(s.counters().reorder_skipped == 1);
  CHECK(drain(s, 1000000) == std::vector<uint32_t>{0});
}

TEST_CASE("schedule: random verdicts: every frame once, order kept but for held frames") {
  zcrx::tools::Prng rng(99);
  const uint32_t n = 20000;
  const uint32_t max_overtake = 4;
  DirectionSchedule s(n, 64, max_overtake, 5000);
  std::vector<bool> held(n);
  std::vector<uint32_t> out;
  uint64_t now = 0;
  for (uint32_t i = 0; i < n; i++) {
    Verdict v;
    v.reorder = rng.chance(0.05);
    v.delay_us = static_cast<uint32_t>(rng.upto(300));
    held[i] = v.reorder;
    REQUIRE(s.push(i, now, v));
    now += rng.upto(20);
    for (auto f : drain(s, now)) out.push_back(f);
  }
  for (auto f : drain(s, UINT64_MAX - 1)) out.push_back(f);
  REQUIRE(out.size() == n);
  std::vector<uint32_t> pos(n, UINT32_MAX);
  for (uint32_t k = 0; k < n; k++) {
    REQUIRE(pos[out[k]] == UINT32_MAX);  // each frame once
    pos[out[k]] = k;
  }
  // Frames not held keep their relative order; a held frame is overtaken
  // by at most reorder_frames frames (released by count, or earlier).
  uint32_t last = 0;
  bool first = true;
  uint32_t overtaken_max = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (held[i]) {
      uint32_t overtaken = 0;
      for (uint32_t j = i + 1; j < n && j < i + 200; j++) overtaken += pos[j] < pos[i];
      overtaken_max = std::max(overtaken_max, overtaken);
      continue;
    }
    if (!first) REQUIRE(pos[i] > last);
    last = pos[i];
    first = false;
  }
  CHECK(overtaken_max <= max_overtake);
  CHECK(overtaken_max > 0);
  CHECK(s.counters().reordered > 0);
}
