// SPDX-License-Identifier: MIT
// Rules of refill: every RQE is validated (token, __pad, index, user
// reference) and an entry accepts only the niovs it owns; anything else is
// skipped and counted, never a crash or a double free. A tail beyond the
// ring is clamped to the ring's size, as the kernel does, and counted.
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

namespace {

// The consumer's side of an entry's RQ as raw memory: a hostile consumer
// writes any slot and any index value it likes.
struct RawRq {
  explicit RawRq(Ifq* e)
      : base(static_cast<char*>(e->rq_base())),
        l(e->rq_layout()),
        rqes(reinterpret_cast<uapi::io_uring_zcrx_rqe*>(base + l.off.rqes)),
        head(reinterpret_cast<uint32_t*>(base + l.off.head)),
        tail(reinterpret_cast<uint32_t*>(base + l.off.tail)) {}
  void fill(const uapi::io_uring_zcrx_rqe& e) {
    for (uint32_t i = 0; i < l.rq_entries; i++) rqes[i] = e;
  }
  char* base;
  RqRegionLayout l;
  uapi::io_uring_zcrx_rqe* rqes;
  uint32_t* head;
  uint32_t* tail;
};

// RQEs refill looked at: each is returned, or skipped and counted.
uint64_t examined(const IfqStats& s) {
  return s.rqe_bad_token + s.rqe_bad_index + s.rqe_no_ref + s.rqe_wrong_owner + s.refilled;
}

}  // namespace

TEST_CASE("refill: a tail beyond the ring is read as a full ring, each RQE validated, and served on") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  const std::vector<uint64_t> offs = h.deliver(r, 4);
  RawRq rq(r);
  const uint32_t n = rq.l.rq_entries;
  REQUIRE(n == 64);
  rq.fill(make_rqe(offs[0] | uapi::area_token(3)));  // stale slots: a wrong token
  rq.rqes[0] = make_rqe(offs[0]);
  rq.rqes[1] = make_rqe(offs[1]);
  // The consumer claims n + 3 RQEs. The kernel (io_zcrx_rqring_entries)
  // reads min(tail - head, rq_entries) of them and validates each.
  *rq.tail = n + 3;
  CHECK(r->refill(1000) == 2);
  IfqStats s = r->stats();
  CHECK(s.rq_clamped == 1);
  CHECK(s.refilled == 2);
  CHECK(s.rqe_bad_token == n - 2);
  CHECK(*rq.head == n);
  // The 3 left are ring slots 0..2 again: the two already returned and one
  // stale slot; nothing is released twice.
  CHECK(r->refill(1000) == 0);
  s = r->stats();
  CHECK(s.rq_clamped == 1);
  CHECK(s.rqe_no_ref == 2);
  CHECK(s.rqe_bad_token == n - 1);
  CHECK(*rq.head == n + 3);
  CHECK(h.prov.returned(r->area(), niov_of(r, offs[0])) == 1);
  CHECK(h.prov.returned(r->area(), niov_of(r, offs[1])) == 1);
  // The ring is consistent again and keeps being served.
  Harness::push_rqes(r, {offs[2], offs[3]});
  CHECK(r->refill(1000) == 2);
  CHECK(r->stats().rq_clamped == 1);
  CHECK(r->area()->held_by_users() == 0);
  CHECK(h.free_list(r).free_count() == 8);
  CHECK(h.free_list(r).overflows() == 0);
}

TEST_CASE("refill: hostile tail and head values read at most the ring, inside it, each call") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  const std::vector<uint64_t> offs = h.deliver(r, 1);
  RawRq rq(r);
  const uint32_t n = rq.l.rq_entries;
  rq.fill(make_rqe(uint64_t{8} << 12));  // index out of range everywhere
  uint32_t head = 0;
  uint64_t clamps = 0;
  // Behind our head (wraps to ~4G ahead), far ahead, just past the ring,
  // and the head word scribbled over: each call reads exactly n RQEs.
  for (const uint32_t tail : {0xffffffffu, 0x80000000u, 0x7fffffffu, n + 1, 0u - 2 * n}) {
    *rq.head = 0xdeadbeef;  // ours to write; never read back
    *rq.tail = head + tail;
    const uint64_t before = examined(r->stats());
    CHECK(r->refill(~0u) == 0);
    CHECK(examined(r->stats()) - before == n);
    CHECK(r->stats().rq_clamped == ++clamps);
    head += n;
    CHECK(*rq.head == head);
  }
  CHECK(r->stats().rqe_bad_index == 5 * uint64_t{n});
  // The held buffer was never touched; an honest tail serves it.
  CHECK(r->area()->held_by_users() == 1);
  rq.rqes[head & (n - 1)] = make_rqe(offs[0]);
  *rq.tail = head + 1;
  CHECK(r->refill(~0u) == 1);
  CHECK(r->stats().rq_clamped == clamps);
  CHECK(h.free_list(r).free_count() == 8);
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

TEST_CASE("refill: a tail that jumps past the ring mid-drain is read from our head, clamped") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  const std::vector<uint64_t> offs = h.deliver(r, 6);
  Harness::push_rqes(r, offs);
  CHECK(r->refill(2) == 2);  // 4 more are published and known
  RawRq rq(r);
  *rq.tail += rq.l.rq_entries + 5;
  // The budget still bounds the call; the 4 pending RQEs come first.
  CHECK(r->refill(4) == 4);
  CHECK(r->stats().rq_clamped == 1);
  CHECK(r->area()->held_by_users() == 0);
  CHECK(h.free_list(r).free_count() == 8);
}
