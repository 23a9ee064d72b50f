// SPDX-License-Identifier: MIT
// Impairer: a seed gives one sequence of verdicts per direction; the
// configured probabilities and delay bounds hold over many frames.
#include <doctest/doctest.h>

#include <vector>

#include "impair.h"

using zcrx::tools::ImpairConfig;
using zcrx::tools::Impairer;
using zcrx::tools::Verdict;

namespace {

struct Tally {
  int drop = 0, dup = 0, reorder = 0;
  uint64_t delay_sum = 0;
  uint32_t delay_min = UINT32_MAX, delay_max = 0;
};

Tally run(const ImpairConfig& c, uint64_t seed, int frames) {
  Impairer imp(c, seed, 0);
  Tally t;
  for (int i = 0; i < frames; i++) {
    const Verdict v = imp.decide();
    if (v.drop) {
      t.drop++;
      CHECK_FALSE(v.duplicate);  // a dropped frame carries nothing else
      CHECK_FALSE(v.reorder);
      continue;
    }
    t.dup += v.duplicate;
    t.reorder += v.reorder;
    t.delay_sum += v.delay_us;
    t.delay_min = std::min(t.delay_min, v.delay_us);
    t.delay_max = std::max(t.delay_max, v.delay_us);
  }
  return t;
}

bool same(const Verdict& a, const Verdict& b) {
  return a.drop == b.drop && a.duplicate == b.duplicate && a.reorder == b.reorder &&
         a.delay_us == b.delay_us;
}

}  // namespace

TEST_CASE("impair: no impairment configured passes every frame untouched") {
  Impairer imp(ImpairConfig{}, 42, 0);
  for (int i = 0; i < 10000; i++) {
    const Verdict v = imp.decide();
    REQUIRE_FALSE(v.drop);
    REQUIRE_FALSE(v.duplicate);
    REQUIRE_FALSE(v.reorder);
    REQUIRE(v.delay_us == 0);
  }
}

TEST_CASE("impair: a seed and a stream give the same verdicts every time") {
  ImpairConfig c;
  c.loss = 0.1;
  c.duplicate = 0.1;
  c.reorder = 0.2;
  c.delay_us = 100;
  c.jitter_us = 50;
  Impairer a(c, 7, 0), b(c, 7, 0), other_seed(c, 8, 0), other_stream(c, 7, 1);
  int differ_seed = 0, differ_stream = 0;
  for (int i = 0; i < 5000; i++) {
    const Verdict va = a.decide();
    REQUIRE(same(va, b.decide()));
    differ_seed += !same(va, other_seed.decide());
    differ_stream += !same(va, other_stream.decide());
  }
  // Another seed or direction is another sequence (nearly every verdict
  // differs once jitter is drawn).
  CHECK(differ_seed > 4000);
  CHECK(differ_stream > 4000);
}

TEST_CASE("impair: probabilities hold over many frames") {
  const int n = 200000;
  ImpairConfig c;
  c.loss = 0.01;
  c.reorder = 0.05;
  c.duplicate = 0.02;
  const Tally t = run(c, 1, n);
  // Binomial standard deviations: ~45 (loss), ~97 (reorder), ~62 (dup);
  // the bounds are 4-5 of them.
  CHECK(t.drop > 1800);
  CHECK(t.drop < 2200);
  const int kept = n - t.drop;
  CHECK(t.reorder > kept * 0.05 - 450);
  CHECK(t.reorder < kept * 0.05 + 450);
  CHECK(t.dup > kept * 0.02 - 300);
  CHECK(t.dup < kept * 0.02 + 300);
}

TEST_CASE("impair: probability 1 hits every frame, 0 none") {
  ImpairConfig all;
  all.loss = 1;
  CHECK(run(all, 3, 1000).drop == 1000);
  ImpairConfig dup;
  dup.duplicate = 1;
  dup.reorder = 1;
  const Tally t = run(dup, 3, 1000);
  CHECK(t.drop == 0);
  CHECK(t.dup == 1000);
  CHECK(t.reorder == 1000);
}

TEST_CASE("impair: delay is fixed plus or minus jitter, clamped at zero") {
  ImpairConfig c;
  c.delay_us = 1000;
  c.jitter_us = 200;
  Tally t = run(c, 5, 100000);
  CHECK(t.delay_min >= 800);
  CHECK(t.delay_max <= 1200);
  CHECK(t.delay_min < 810);  // the whole range is used
  CHECK(t.delay_max > 1190);
  const double mean = static_cast<double>(t.delay_sum) / 100000;
  CHECK(mean > 995);
  CHECK(mean < 1005);

  c.delay_us = 10;
  c.jitter_us = 100;
  t = run(c, 5, 10000);
  CHECK(t.delay_min == 0);
  CHECK(t.delay_max <= 110);

  ImpairConfig fixed;
  fixed.delay_us = 250;
  t = run(fixed, 5, 1000);
  CHECK(t.delay_min == 250);
  CHECK(t.delay_max == 250);
}

TEST_CASE("impair: ARP's spared verdict keeps only the fixed delay") {
  ImpairConfig c;
  c.loss = 1;
  c.delay_us = 300;
  c.jitter_us = 100;
  const Verdict v = zcrx::tools::spared_verdict(c);
  CHECK_FALSE(v.drop);
  CHECK_FALSE(v.duplicate);
  CHECK_FALSE(v.reorder);
  CHECK(v.delay_us == 300);
}
