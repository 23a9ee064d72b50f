// SPDX-License-Identifier: MIT
// Rules of ifq clone (seed 003) and of ring shutdown.
#include <cerrno>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

namespace {

uapi::io_uring_zcrx_ifq_reg clone_reg(uint32_t src_id) {
  uapi::io_uring_zcrx_ifq_reg reg{};
  reg.flags = uapi::kZcrxIfqRegClone;
  reg.if_rxq = src_id;
  return reg;
}

}  // namespace

TEST_CASE("clone: the source ring is this ring -> -EBADFD") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  uapi::io_uring_zcrx_ifq_reg reg = clone_reg(0);
  CHECK(h.eng.clone_ifq(a, reg, a) == -EBADFD);
  RqRegionLayout l;
  CHECK(h.eng.clone_rq_layout(a, a, 0, &l) == -EBADFD);
  CHECK(a->lookup(1) == nullptr);
  CHECK(r->refs() == 1);
  CHECK(r->user_refs() == 1);
  CHECK(a->refs() == 2);
}

TEST_CASE("clone: no such source id -> -EINVAL") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  for (uint32_t id : {1u, 5u, kMaxZcrxPerCtx, 0x7fffffffu, ~0u}) {
    CAPTURE(id);
    uapi::io_uring_zcrx_ifq_reg reg = clone_reg(id);
    CHECK(h.eng.clone_ifq(c, reg, a) == -EINVAL);
  }
  CHECK(c->lookup(0) == nullptr);
  CHECK(r->refs() == 1);
  CHECK(r->user_refs() == 1);
  CHECK(a->refs() == 2);
  CHECK(c->refs() == 1);
}

TEST_CASE("clone: no source ring, unknown flags or reserved fields -> -EBADF / -EINVAL") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  uapi::io_uring_zcrx_ifq_reg reg = clone_reg(0);
  CHECK(h.eng.clone_ifq(c, reg, nullptr) == -EBADF);
  reg.flags = uapi::kZcrxIfqRegClone | 4;
  CHECK(h.eng.clone_ifq(c, reg, a) == -EINVAL);
  reg = clone_reg(0);
  reg.__resv[0] = 1;
  CHECK(h.eng.clone_ifq(c, reg, a) == -EINVAL);
  // A terminated source ring (kept alive by another clone) names no ring.
  Ctx* d = h.eng.create_ctx(nullptr);
  h.clone_ok(d, a, 0);
  h.eng.terminate_ctx(a);
  REQUIRE(a->terminated());
  reg = clone_reg(0);
  CHECK(h.eng.clone_ifq(c, reg, a) == -EBADF);
  CHECK(c->lookup(0) == nullptr);
  CHECK(r->refs() == 2);  // a's table entry + d's proxy
  CHECK(r->user_refs() == 1);
  CHECK(a->refs() == 1);  // d's proxy
  h.eng.terminate_ctx(d);
  CHECK(h.eng.stats().ifqs_live == 0);
}

TEST_CASE("clone: the proxy holds refs on the source ctx and ifq; RECV_ZC resolves to the real ifq") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 2);
  uapi::io_uring_zcrx_ifq_reg reg = clone_reg(0);
  RqRegionLayout l;
  REQUIRE(h.eng.clone_rq_layout(c, a, 0, &l) == 0);
  REQUIRE(h.eng.clone_ifq(c, reg, a) == 0);
  CHECK(reg.zcrx_id == 0);
  CHECK(reg.rq_entries == l.rq_entries);
  CHECK(reg.offsets.tail == l.off.tail);
  Ifq* p = c->lookup(0);
  REQUIRE(p != nullptr);
  CHECK(p->kind() == IfqKind::proxy);
  CHECK(p->proxy() == r);
  CHECK(&p->target() == r);
  CHECK(c->resolve(0) == r);  // what RECV_ZC on the proxy id uses
  CHECK(p->if_rxq() == 2);
  CHECK(p->area() == r->area());
  CHECK(p->rq_base() != r->rq_base());
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(a->refs() == 3);  // own + master + proxy
  CHECK(c->refs() == 1);
  // A clone of the clone stands for the real ifq and holds the ctx that
  // owns it (a), not the ring it was cloned from (c).
  Ctx* d = h.eng.create_ctx(nullptr);
  Ifq* p2 = h.clone_ok(d, c, 0);
  CHECK(p2->proxy() == r);
  CHECK(d->resolve(p2->zcrx_id()) == r);
  CHECK(c->refs() == 1);
  CHECK(a->refs() == 4);
  CHECK(r->refs() == 3);
  h.eng.terminate_ctx(d);
  CHECK(c->refs() == 1);
  CHECK(a->refs() == 3);
  CHECK(r->refs() == 2);
}

TEST_CASE("clone: the error path undoes exactly what it took") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* s = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  h.register_ok(s, 1, 0);
  SUBCASE("RQ region too small") {
    uapi::io_uring_zcrx_ifq_reg reg = clone_reg(0);
    static char small[256];
    CHECK(h.eng.clone_ifq(c, reg, a, {small, sizeof small}) == -EINVAL);
  }
  SUBCASE("no free zcrx id") {
    for (uint32_t i = 0; i < kMaxZcrxPerCtx; i++) h.clone_ok(c, s, 0);
    uapi::io_uring_zcrx_ifq_reg reg = clone_reg(0);
    CHECK(h.eng.clone_ifq(c, reg, a) == -EBUSY);
  }
  SUBCASE("no free entry slot on the real ifq") {
    for (uint32_t i = 1; i < kMaxEntriesPerIfq; i++) {
      Ctx* x = h.eng.create_ctx(nullptr);
      h.clone_ok(x, a, 0);
    }
    REQUIRE(r->entry_slots() == kMaxEntriesPerIfq);
    uapi::io_uring_zcrx_ifq_reg reg = clone_reg(0);
    CHECK(h.eng.clone_ifq(c, reg, a) == -EBUSY);
    CHECK(r->refs() == kMaxEntriesPerIfq);
    CHECK(a->refs() == 2 + kMaxEntriesPerIfq - 1);
    return;
  }
  CHECK(r->refs() == 1);
  CHECK(r->user_refs() == 1);
  CHECK(a->refs() == 2);
  CHECK(r->entry_slots() == 1);
}

TEST_CASE("shutdown: a real ifq with refs > 1 is skipped") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  Ifq* p = h.clone_ok(c, a, 0);
  const std::vector<uint64_t> held = h.deliver(p, 3);
  h.eng.terminate_ctx(a);
  // The queue stays open for the clone, its buffers untouched.
  CHECK(r->if_rxq() == 0);
  CHECK(h.prov.plain.bound(0, 0));
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 1);
  for (uint64_t off : held) CHECK(r->area()->user_refs(niov_of(p, off)) == 1);
  // ... and keeps receiving and refilling.
  Harness::push_rqes(p, h.deliver(p, 2));
  CHECK(p->refill(16) == 2);
  Harness::push_rqes(p, held);
  CHECK(p->refill(16) == 3);
  CHECK(r->area()->held_by_users() == 0);
  h.eng.terminate_ctx(c);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().ctxs_live == 0);
}

TEST_CASE("shutdown: the last ring of a real ifq closes the queue") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  h.register_ok(a, 0, 0);
  h.eng.terminate_ctx(a);
  CHECK_FALSE(h.prov.plain.bound(0, 0));
  CHECK(h.prov.plain.close_calls() == 1);
  CHECK(h.eng.stats().ifqs_live == 0);
}

TEST_CASE("shutdown: a proxy drops its refs and sets if_rxq = -1") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ctx* d = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 4);
  Ifq* p = h.clone_ok(c, a, 0);
  // c owns r2 and d clones it: d's proxy keeps c's ctx (and p) alive
  // after c ends.
  Ifq* r2 = h.register_ok(c, 1, 4);
  Ifq* p2 = h.clone_ok(d, c, r2->zcrx_id());
  REQUIRE(r->refs() == 2);
  REQUIRE(r->user_refs() == 2);
  REQUIRE(a->refs() == 3);  // own + master + p
  REQUIRE(c->refs() == 3);  // own + master of r2 + p2
  h.eng.terminate_ctx(c);
  CHECK(p->if_rxq() == -1);
  CHECK(p->proxy() == nullptr);
  CHECK_FALSE(p->live());
  CHECK(c->resolve(0) == nullptr);
  CHECK(r->refs() == 1);
  CHECK(r->user_refs() == 1);
  CHECK(a->refs() == 2);  // own + master: the proxy's ref is gone
  CHECK(c->refs() == 1);  // p2's
  CHECK(r->if_rxq() == 4);
  CHECK(r2->if_rxq() == 4);  // d still uses it
  CHECK(p2->if_rxq() == 4);
  h.eng.terminate_ctx(d);
  CHECK(h.eng.stats().ctxs_live == 1);  // a
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().ctxs_live == 0);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().free_with_master_set == 0);
}

TEST_CASE("clone: the error path leaves the master alone even when this ring is the master") {
  // a registers r; b clones it; a then clones b's proxy back (a clone of
  // a clone stands for r) with a full table: the undo must not clear a's
  // master role.
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ctx* s = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  h.register_ok(s, 1, 0);
  h.clone_ok(b, a, 0);
  for (uint32_t i = 1; i < kMaxZcrxPerCtx; i++) h.clone_ok(a, s, 0);
  REQUIRE(a->refs() == 3);  // own + master + b's proxy
  uapi::io_uring_zcrx_ifq_reg reg = clone_reg(0);
  CHECK(h.eng.clone_ifq(a, reg, b) == -EBUSY);
  CHECK(r->master_ctx() == a);
  CHECK(a->refs() == 3);
  CHECK(b->refs() == 1);
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
}

TEST_CASE("clone of a clone: the middle ring and then the owner die, the last clone goes on") {
  // A registers, B clones A, C clones B; B dies, then A. C's proxy holds
  // the real ifq and the ring that owns it (A), so A's ctx and the real
  // ifq stay valid (Ifq::ctx() included) until C lets go, and every
  // buffer comes back exactly once.
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 1, 16);
  const Area* area = r->area();
  Ifq* pb = h.clone_ok(b, a, 0);
  Ifq* pc = h.clone_ok(c, b, pb->zcrx_id());
  REQUIRE(pc->proxy() == r);
  CHECK(r->refs() == 3);
  CHECK(r->user_refs() == 3);
  CHECK(a->refs() == 4);  // own + master + pb + pc
  CHECK(b->refs() == 1);  // own only: nothing of b is needed by pc
  const std::vector<uint64_t> held_a = h.deliver(r, 2);
  const std::vector<uint64_t> held_b = h.deliver(pb, 3);
  const std::vector<uint64_t> held_c = h.deliver(pc, 4);

  h.eng.terminate_ctx(b);  // b's ctx is freed now
  CHECK(h.eng.stats().ctxs_live == 2);
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(a->refs() == 3);
  CHECK(r->area()->held_by_users() == 6);  // b's 3 reclaimed

  h.eng.terminate_ctx(a);  // terminated, kept by pc
  CHECK(h.eng.stats().ctxs_live == 2);
  REQUIRE(r->ctx() == a);
  CHECK(a->terminated());
  CHECK(a->refs() == 1);
  CHECK(r->master_ctx() == nullptr);
  CHECK(r->refs() == 2);  // a's table entry + pc
  CHECK(r->user_refs() == 1);
  CHECK(r->if_rxq() == 1);
  CHECK(h.prov.plain.bound(0, 1));
  CHECK(r->area()->held_by_users() == 4);  // a's 2 reclaimed

  // C keeps receiving and refilling through the real ifq.
  CHECK(c->resolve(pc->zcrx_id()) == r);
  const std::vector<uint64_t> more = h.deliver(pc, 5);
  Harness::push_rqes(pc, more);
  Harness::push_rqes(pc, {held_c[0], held_c[1]});
  CHECK(pc->refill(64) == 7);
  CHECK(r->area()->held_by_users() == 2);

  h.eng.terminate_ctx(c);  // scrub the last 2, free r, then a
  CHECK(h.eng.stats().ctxs_live == 0);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().entries_live == 0);
  CHECK(h.eng.stats().free_with_master_set == 0);
  FreeList* fl = h.prov.plain.free_list(0, 1);
  REQUIRE(fl != nullptr);
  CHECK(fl->free_count() == 16);
  CHECK(fl->overflows() == 0);
  // 14 deliveries, 14 returns: 7 refilled, 5 reclaimed with b's and a's
  // entries, 2 scrubbed when c let go.
  uint64_t returns = 0;
  for (uint32_t i = 0; i < 16; i++) returns += h.prov.returned(area, i);
  CHECK(returns == 14);
  CHECK(h.eng.stats().niovs_reclaimed == 5);
  CHECK(h.eng.stats().niovs_scrubbed == 2);
}

TEST_CASE("clone of an import whose owning ring is gone pins no ring") {
  // a registers and exports; d imports; a dies (its ctx is freed: the
  // import and the box keep the real ifq). A clone of d's import stands
  // for the real ifq; nothing of a is left to pin, and the real ifq no
  // longer names a.
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* d = h.eng.create_ctx(nullptr);
  Ctx* e = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  ExportBox* box = h.export_ok(a, 0);
  Ifq* imp = h.import_ok(d, box);
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().ctxs_live == 2);
  CHECK(r->ctx() == nullptr);
  Ifq* pe = h.clone_ok(e, d, imp->zcrx_id());
  CHECK(pe->proxy() == r);
  CHECK(d->refs() == 1);
  CHECK(r->refs() == 3);  // d's import, the box, e's proxy
  h.eng.release_box(box);
  h.eng.terminate_ctx(d);
  Harness::push_rqes(pe, h.deliver(pe, 3));
  CHECK(pe->refill(8) == 3);
  h.deliver(pe, 2);
  h.eng.terminate_ctx(e);
  CHECK(h.eng.stats().ctxs_live == 0);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.prov.plain.free_list(0, 0)->free_count() == 8);
}
