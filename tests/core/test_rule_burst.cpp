// SPDX-License-Identifier: MIT
// The burst forms of the datapath calls follow the same rules as the
// per-buffer ones: deliver_burst() is n deliver() calls, refill_burst() is
// refill() with the freed niovs handed to the caller instead of the sink.
#include <cerrno>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

TEST_CASE("deliver_burst: same offsets, references, owners and counters as n deliver() calls") {
  Harness h1, h2;
  Ctx* a = h1.eng.create_ctx(nullptr);
  Ctx* b = h2.eng.create_ctx(nullptr);
  Ifq* one = h1.register_ok(a, 0, 0, 16);
  Ifq* burst = h2.register_ok(b, 0, 0, 16);
  const uint32_t idx[5] = {3, 0, 15, 7, 8};
  uint64_t off_one[5], off_burst[5];
  for (int i = 0; i < 5; i++) off_one[i] = one->deliver(idx[i], 96);
  burst->deliver_burst(idx, 5, 96, off_burst);
  for (int i = 0; i < 5; i++) {
    CHECK(off_burst[i] == off_one[i]);
    CHECK(uapi::area_offset_of(off_burst[i]) == uint64_t{idx[i]} * 4096 + 96);
    CHECK((off_burst[i] & uapi::kZcrxAreaMask) == burst->area()->token());
    CHECK(burst->area()->user_refs(idx[i]) == 1);
    CHECK(burst->area()->owner_slot(idx[i]) == one->area()->owner_slot(idx[i]));
  }
  CHECK(burst->area()->user_refs(1) == 0);
  CHECK(burst->stats().delivered == 5);
  CHECK(one->stats().delivered == 5);
  // A niov delivered twice in one burst carries two references.
  const uint32_t twice[2] = {4, 4};
  uint64_t off2[2];
  burst->deliver_burst(twice, 2, 0, off2);
  CHECK(burst->area()->user_refs(4) == 2);
  CHECK(burst->stats().delivered == 7);
}

TEST_CASE("refill_burst: returns exactly the freed niovs, bypasses the sink, counts bad RQEs as refill()") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  const std::vector<uint64_t> offs = h.deliver(r, 4, 0);
  // A second reference on offs[3]'s niov: its first RQE frees nothing.
  const uint32_t again = niov_of(r, offs[3]);
  r->deliver(again, 0);
  Harness::push_raw(r, make_rqe(offs[0]));                         // freed
  Harness::push_raw(r, make_rqe(offs[1] | uapi::area_token(1)));   // bad token
  Harness::push_raw(r, make_rqe(uint64_t{8} << 12));               // index 8 of 8
  Harness::push_raw(r, make_rqe(uint64_t{6} << 12));               // never delivered
  Harness::push_raw(r, make_rqe(offs[3]));                         // one ref of two
  Harness::push_raw(r, make_rqe(offs[2]));                         // freed
  Harness::push_raw(r, make_rqe(offs[3]));                         // freed now
  const uint64_t sink_calls = h.prov.refilled_calls;
  uint32_t out[64];
  uint32_t n = r->refill_burst(64, out);
  REQUIRE(n == 3);
  CHECK(out[0] == niov_of(r, offs[0]));
  CHECK(out[1] == niov_of(r, offs[2]));
  CHECK(out[2] == again);
  CHECK(h.prov.refilled_calls == sink_calls);  // the caller returns them
  CHECK(h.prov.returned(r->area(), out[0]) == 0);
  const IfqStats s = r->stats();
  CHECK(s.rqe_bad_token == 1);
  CHECK(s.rqe_bad_index == 1);
  CHECK(s.rqe_no_ref == 1);
  CHECK(s.refilled == 3);  // buffers back to the pool, as refill() counts them
  CHECK(r->area()->user_refs(niov_of(r, offs[1])) == 1);
  for (uint32_t i = 0; i < n; i++) CHECK(r->area()->user_refs(out[i]) == 0);
  // The caller's one put balances the free list; nothing is seen twice.
  FreeList& fl = h.free_list(r);
  const uint32_t before = fl.free_count();
  fl.return_niovs(*r->area(), out, n);
  CHECK(fl.free_count() == before + 3);
  CHECK(fl.overflows() == 0);
  uint32_t none[64];
  CHECK(r->refill_burst(64, none) == 0);
}

TEST_CASE("refill_burst: budget bounds the RQEs drained per call") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 16);
  const std::vector<uint64_t> offs = h.deliver(r, 10, 0);
  Harness::push_rqes(r, offs);
  FreeList& fl = h.free_list(r);
  uint32_t out[4];
  for (uint32_t want : {4u, 4u, 2u, 0u}) {
    uint32_t n = r->refill_burst(4, out);
    CHECK(n == want);
    fl.return_niovs(*r->area(), out, n);
  }
  CHECK(r->stats().refilled == 10);
  CHECK(fl.free_count() == 16);
  for (uint32_t i = 0; i < 16; i++) CHECK(r->area()->user_refs(i) == 0);
}
