// SPDX-License-Identifier: MIT
// zcrxd's consumer limits: each bound refuses with its errno once reached,
// counts the refusal, and a put makes room again.
#include <doctest/doctest.h>

#include <cerrno>

#include "consumer_limits.h"

using zcrxd::LimitConfig;
using zcrxd::Limits;

TEST_CASE("rings: the uid's share is EMFILE, zcrxd's total ENFILE") {
  LimitConfig c;
  c.max_rings = 3;
  c.max_rings_per_uid = 2;
  Limits l(c);
  CHECK(l.take_ring(1000) == 0);
  CHECK(l.take_ring(1000) == 0);
  CHECK(l.take_ring(1000) == -EMFILE);
  CHECK(l.take_ring(1001) == 0);
  CHECK(l.take_ring(1002) == -ENFILE);  // total reached before 1002's share
  CHECK(l.refusals().rings_per_uid == 1);
  CHECK(l.refusals().rings == 1);
  CHECK(l.rings() == 3);
  l.put_ring(1000);
  CHECK(l.take_ring(1002) == 0);
  CHECK(l.take_ring(1000) == -ENFILE);
  CHECK(l.refusals().total() == 3);
}

TEST_CASE("exports: per ring EMFILE, in total ENFILE") {
  LimitConfig c;
  c.max_exports = 2;
  c.max_exports_per_ring = 1;
  Limits l(c);
  CHECK(l.take_export(0) == 0);
  CHECK(l.take_export(1) == -EMFILE);  // that ring holds one already
  CHECK(l.take_export(0) == 0);
  CHECK(l.take_export(0) == -ENFILE);
  l.put_export();
  CHECK(l.take_export(0) == 0);
  CHECK(l.exports() == 2);
}

TEST_CASE("entries: another uid's share of an ifq is bounded, the owner's is not") {
  LimitConfig c;
  c.max_entries_per_uid = 2;
  Limits l(c);
  int a = 0, b = 0;  // two ifqs, by address
  for (int i = 0; i < 10; i++) CHECK(l.take_entry(&a, 1000, 1000) == 0);
  CHECK(l.take_entry(&a, 1000, 2000) == 0);
  CHECK(l.take_entry(&a, 1000, 2000) == 0);
  CHECK(l.take_entry(&a, 1000, 2000) == -EMFILE);
  CHECK(l.take_entry(&b, 1000, 2000) == 0);  // a share per ifq
  CHECK(l.take_entry(&a, 1000, 3000) == 0);  // and per uid
  l.put_entry(&a, 1000, 2000);
  CHECK(l.take_entry(&a, 1000, 2000) == 0);
  CHECK(l.refusals().entries_per_uid == 1);
}

TEST_CASE("region memory per uid is ENOMEM past its budget, puts give it back") {
  LimitConfig c;
  c.max_region_mb_per_uid = 4;
  Limits l(c);
  CHECK(l.take_region(7, 3u << 20) == 0);
  CHECK(l.take_region(7, 2u << 20) == -ENOMEM);
  CHECK(l.take_region(8, 4u << 20) == 0);
  CHECK(l.take_region(7, ~uint64_t{0}) == -ENOMEM);  // no overflow
  l.put_region(7, 3u << 20);
  CHECK(l.take_region(7, 4u << 20) == 0);
  CHECK(l.refusals().region_memory == 2);
}
