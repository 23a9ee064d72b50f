// SPDX-License-Identifier: MIT
// The baselines' own helpers: the sender's template payloads must be the
// pattern byte for byte for every sequence number, the latency histogram's
// percentiles must stay within its stated 1/16 bucket error, and the
// RESULT line must be valid, parseable JSON.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstring>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench_common.h"
#include "sender_payload.h"
#include "zcrx/pattern.h"

using zcrx::bench::JsonLine;
using zcrx::bench::LatencyHistogram;
using zcrx::bench::PayloadTemplates;

namespace {

/// Concatenates what the iovecs of `seq` point at.
std::vector<uint8_t> gather(const PayloadTemplates& t, uint64_t seq) {
  uint64_t header = 0;
  iovec iov[2];
  int n = t.iovecs(seq, &header, iov);
  std::vector<uint8_t> out;
  for (int i = 0; i < n; i++) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    out.insert(out.end(), p, p + iov[i].iov_len);
  }
  return out;
}

}  // namespace

TEST_CASE("sender templates equal the pattern for every sequence number and size") {
  for (size_t size : {0ul, 1ul, 7ul, 8ul, 9ul, 64ul, 300ul, 1400ul, 9000ul}) {
    PayloadTemplates t(size);
    std::vector<uint8_t> want(size);
    for (uint64_t seq : {0ull, 1ull, 255ull, 256ull, 257ull, 1000ull, 65535ull, 0x123456789abcdefull,
                         ~0ull}) {
      zcrx::pattern::fill(want.data(), size, seq);
      std::vector<uint8_t> got = gather(t, seq);
      REQUIRE(got.size() == size);
      CHECK(std::memcmp(got.data(), want.data(), size) == 0);
      CHECK(zcrx::pattern::first_mismatch(got.data(), size) == size);
    }
  }
}

TEST_CASE("sender templates: every residue mod 256 over a long run") {
  PayloadTemplates t(100);
  std::vector<uint8_t> want(100);
  for (uint64_t seq = 0; seq < 2048; seq++) {
    zcrx::pattern::fill(want.data(), want.size(), seq);
    REQUIRE(gather(t, seq) == want);
  }
}

TEST_CASE("latency histogram: empty, negative samples, exact small values") {
  LatencyHistogram h;
  CHECK(h.total() == 0);
  CHECK(h.quantile(0.5) == 0);
  h.record(-5);
  CHECK(h.negative() == 1);
  CHECK(h.total() == 1);
  CHECK(h.quantile(0.5) == 0);  // counted as 0
  LatencyHistogram small;
  for (int v = 0; v < 16; v++) small.record(v);
  CHECK(small.quantile(0.0) == 0);
  CHECK(small.quantile(0.999) == 15);  // values below 16 have exact buckets
}

TEST_CASE("latency histogram percentiles stay within one bucket (1/16) of the exact value") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(10.0, 2.0);  // ~22 us median, wide tail
  std::vector<int64_t> v;
  LatencyHistogram h;
  for (int i = 0; i < 200000; i++) {
    int64_t x = static_cast<int64_t>(dist(rng));
    v.push_back(x);
    h.record(x);
  }
  std::sort(v.begin(), v.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    int64_t exact = v[static_cast<size_t>(q * static_cast<double>(v.size()))];
    uint64_t got = h.quantile(q);
    CAPTURE(q);
    CAPTURE(exact);
    CHECK(static_cast<double>(got) >= static_cast<double>(exact));  // an upper bound
    CHECK(static_cast<double>(got) <= static_cast<double>(exact) * (1.0 + 1.0 / 16) + 1);
  }
}

TEST_CASE("RESULT json escapes strings and keeps keys in order") {
  JsonLine j;
  j.str("s", "a\"b\\c\n").integer("n", 7).sint("m", -3).boolean("b", true).num("x", 0.5);
  // print() writes to stdout; rebuild the same text through a capture.
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  REQUIRE(mem != nullptr);
  FILE* saved = stdout;
  stdout = mem;
  j.print();
  stdout = saved;
  fclose(mem);
  std::string line(buf, len);
  free(buf);
  CHECK(line == "RESULT {\"s\":\"a\\\"b\\\\c\",\"n\":7,\"m\":-3,\"b\":true,\"x\":0.5}\n");
}
