// SPDX-License-Identifier: MIT
// Rules of refill: every RQE is validated (token, __pad, index, user
// reference) and an entry accepts only the niovs it owns; anything else is
// skipped and counted, never a crash or a double free.
#include <cerrno>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

TEST_CASE("refill: wrong token, index out of range or no user reference are skipped and counted") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  FreeList& fl = h.free_list(r);
  const std::vector<uint64_t> offs = h.deliver(r, 4, 128);
  REQUIRE(fl.free_count() == 4);
  CHECK(uapi::area_offset_of(offs[1]) == 1 * 4096 + 128);
  CHECK((offs[1] & uapi::kZcrxAreaMask) == r->area()->token());

  Harness::push_raw(r, make_rqe(offs[0]));                                   // ok
  Harness::push_raw(r, make_rqe(offs[1] | uapi::area_token(1)));             // bad token
  Harness::push_raw(r, make_rqe(offs[1], 7));                                // __pad set
  Harness::push_raw(r, make_rqe(uint64_t{8} << 12));                         // index 8 of 8
  Harness::push_raw(r, make_rqe((uint64_t{1} << 47) | 5));                   // far out
  Harness::push_raw(r, make_rqe(uint64_t{6} << 12));                         // never delivered
  Harness::push_raw(r, make_rqe(offs[2] + 3000));                            // ok (same niov)
  Harness::push_raw(r, make_rqe(offs[0]));                                   // already returned
  CHECK(r->refill(64) == 2);
  const IfqStats s = r->stats();
  CHECK(s.rqe_bad_token == 2);
  CHECK(s.rqe_bad_index == 2);
  CHECK(s.rqe_no_ref == 2);
  CHECK(s.rqe_wrong_owner == 0);
  CHECK(s.refilled == 2);
  CHECK(s.delivered == 4);
  CHECK(r->area()->user_refs(niov_of(r, offs[0])) == 0);
  CHECK(r->area()->user_refs(niov_of(r, offs[1])) == 1);
  CHECK(r->area()->user_refs(niov_of(r, offs[2])) == 0);
  CHECK(h.prov.returned(r->area(), niov_of(r, offs[0])) == 1);
  CHECK(h.prov.returned(r->area(), niov_of(r, offs[1])) == 0);
  CHECK(h.prov.returned(r->area(), 6) == 0);
  CHECK(fl.free_count() == 6);
  CHECK(fl.overflows() == 0);
  // The RQ was consumed whole: nothing is seen twice.
  CHECK(r->refill(64) == 0);
  CHECK(r->stats().rqe_no_ref == 2);
}

TEST_CASE("refill: a niov delivered twice needs two RQEs") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 4);
  uint32_t idx;
  REQUIRE(h.free_list(r).alloc_bulk(&idx, 1));
  const uint64_t o1 = r->deliver(idx, 0);
  const uint64_t o2 = r->deliver(idx, 2048);
  CHECK(r->area()->user_refs(idx) == 2);
  Harness::push_rqes(r, {o1});
  CHECK(r->refill(8) == 0);
  CHECK(r->area()->user_refs(idx) == 1);
  Harness::push_rqes(r, {o2});
  CHECK(r->refill(8) == 1);
  CHECK(h.prov.returned(r->area(), idx) == 1);
}

TEST_CASE("refill: budget bounds the RQEs drained per call") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 64);
  Harness::push_rqes(r, h.deliver(r, 50));
  CHECK(r->refill(20) == 20);
  CHECK(r->refill(20) == 20);
  CHECK(r->refill(20) == 10);
  CHECK(r->refill(20) == 0);
  CHECK(h.free_list(r).free_count() == 64);
  CHECK(r->stats().refilled == 50);
}

TEST_CASE("refill: a corrupt RQ tail is counted once and never followed") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  Harness::push_rqes(r, h.deliver(r, 2));
  // The consumer claims more entries than the ring holds.
  auto* tail = reinterpret_cast<uint32_t*>(static_cast<char*>(r->rq_base()) +
                                           r->rq_layout().off.tail);
  *tail += r->rq_layout().rq_entries + 1;
  CHECK(r->refill(64) == 0);
  CHECK(r->refill(64) == 0);
  CHECK(r->stats().rq_corrupt == 1);
  CHECK(r->stats().refilled == 0);
  CHECK(r->area()->held_by_users() == 2);
  // The buffers are not lost: the ring's end reclaims them.
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().niovs_scrubbed == 2);
  CHECK(h.prov.plain.free_list(0, 0)->free_count() == 8);
}

TEST_CASE("refill: an entry accepts only niovs it owns (per-entry RQ ownership)") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 16);
  ExportBox* box = h.export_ok(a, 0);
  Ifq* imp = h.import_ok(b, box);
  Ifq* prx = h.clone_ok(c, a, 0);
  const auto mine_r = h.deliver(r, 2);
  const auto mine_i = h.deliver(imp, 3);
  const auto mine_p = h.deliver(prx, 4);
  CHECK(r->area()->owner_slot(niov_of(r, mine_i[0])) == imp->slot());
  // Everyone hands back the others' buffers: all refused, none released.
  Harness::push_rqes(r, mine_i);
  Harness::push_rqes(imp, mine_p);
  Harness::push_rqes(prx, mine_r);
  CHECK(r->refill(64) == 0);
  CHECK(imp->refill(64) == 0);
  CHECK(prx->refill(64) == 0);
  CHECK(r->stats().rqe_wrong_owner == 3);
  CHECK(imp->stats().rqe_wrong_owner == 4);
  CHECK(prx->stats().rqe_wrong_owner == 2);
  CHECK(r->area()->held_by_users() == 9);
  // Their own go back.
  Harness::push_rqes(r, mine_r);
  Harness::push_rqes(imp, mine_i);
  Harness::push_rqes(prx, mine_p);
  CHECK(r->refill(64) == 2);
  CHECK(imp->refill(64) == 3);
  CHECK(prx->refill(64) == 4);
  CHECK(r->area()->held_by_users() == 0);
  CHECK(h.free_list(r).free_count() == 16);
  for (uint32_t i = 0; i < 9; i++) CHECK(h.prov.returned(r->area(), i) == 1);
  h.eng.release_box(box);
}

TEST_CASE("refill: entries seen before a corrupt tail are not drained after it") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  Harness::push_rqes(r, h.deliver(r, 6));
  CHECK(r->refill(2) == 2);  // 4 more are published and known
  auto* tail = reinterpret_cast<uint32_t*>(static_cast<char*>(r->rq_base()) +
                                           r->rq_layout().off.tail);
  *tail += r->rq_layout().rq_entries + 5;
  CHECK(r->refill(2) == 0);
  CHECK(r->stats().rq_corrupt == 1);
  CHECK(r->area()->held_by_users() == 4);
}
