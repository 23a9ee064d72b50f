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
  // A clone of the clone stands for the real ifq and holds c's ctx.
  Ctx* d = h.eng.create_ctx(nullptr);
  Ifq* p2 = h.clone_ok(d, c, 0);
  CHECK(p2->proxy() == r);
  CHECK(d->resolve(p2->zcrx_id()) == r);
  CHECK(c->refs() == 2);
  CHECK(a->refs() == 3);
  CHECK(r->refs() == 3);
  h.eng.terminate_ctx(d);
  CHECK(c->refs() == 1);
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
  Ifq* p2 = h.clone_ok(d, c, 0);  // keeps c's ctx (and p) alive after c ends
  REQUIRE(r->refs() == 3);
  REQUIRE(r->user_refs() == 3);
  REQUIRE(a->refs() == 3);
  REQUIRE(c->refs() == 2);
  h.eng.terminate_ctx(c);
  CHECK(p->if_rxq() == -1);
  CHECK(p->proxy() == nullptr);
  CHECK_FALSE(p->live());
  CHECK(c->resolve(0) == nullptr);
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(a->refs() == 2);  // own + master: the proxy's ref is gone
  CHECK(c->refs() == 1);  // p2's
  CHECK(r->if_rxq() == 4);
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
