// SPDX-License-Identifier: MIT
// Rule: register validates io_uring_zcrx_ifq_reg and the area as the
// kernel does and returns the kernel's errno; rq_entries is capped and
// rounded to a power of two; failures leave nothing behind.
#include <cerrno>
#include <functional>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

namespace {

// Where a check lives: check_ifq_reg (before anything is created),
// check_ifq_area (after the device lookup), or only register_ifq (the
// mapping the caller passes).
enum class Phase { reg, area, mapping };

struct BadCase {
  const char* what;
  int err;
  Phase phase;
  std::function<void(RegRequest&)> spoil;
};

}  // namespace

TEST_CASE("register: validates ifq_reg and area with the kernel's errno") {
  const Phase R = Phase::reg, A = Phase::area, M = Phase::mapping;
  const BadCase cases[] = {
      {"reg.__resv non-zero", -EINVAL, R, [](RegRequest& r) { r.reg.__resv[1] = 1; }},
      {"reg.zcrx_id non-zero", -EINVAL, R, [](RegRequest& r) { r.reg.zcrx_id = 3; }},
      {"reg.flags unknown", -EINVAL, R, [](RegRequest& r) { r.reg.flags = 4; }},
      {"reg.flags IMPORT on the register path", -EINVAL, R,
       [](RegRequest& r) { r.reg.flags = uapi::kZcrxRegImport; }},
      {"reg.flags IMPORT | NODEV on the register path", -EINVAL, R,
       [](RegRequest& r) { r.reg.flags = uapi::kZcrxRegImport | uapi::kZcrxRegNodev; }},
      {"if_rxq == -1", -EINVAL, R, [](RegRequest& r) { r.reg.if_rxq = ~0u; }},
      {"rq_entries == 0", -EINVAL, R, [](RegRequest& r) { r.reg.rq_entries = 0; }},
      {"NODEV naming a device", -EINVAL, R,
       [](RegRequest& r) { r.reg.flags = uapi::kZcrxRegNodev; r.reg.if_idx = 1; }},
      {"NODEV naming a queue", -EINVAL, R,
       [](RegRequest& r) { r.reg.flags = uapi::kZcrxRegNodev; r.reg.if_rxq = 2; }},
      {"rx_buf_len not a power of two", -EINVAL, A, [](RegRequest& r) { r.reg.rx_buf_len = 6000; }},
      {"rx_buf_len below a page", -EINVAL, A, [](RegRequest& r) { r.reg.rx_buf_len = 2048; }},
      {"rx_buf_len not dividing the area", -EINVAL, A,
       [](RegRequest& r) { r.reg.rx_buf_len = 8192; r.area.len = 3 * 4096; }},
      {"NODEV with a non-default rx_buf_len", -EOPNOTSUPP, A,
       [](RegRequest& r) { r.reg.flags = uapi::kZcrxRegNodev; r.reg.rx_buf_len = 8192; }},
      {"NODEV with an invalid rx_buf_len", -EINVAL, A,
       [](RegRequest& r) { r.reg.flags = uapi::kZcrxRegNodev; r.reg.rx_buf_len = 6000; }},
      {"area.flags unknown", -EINVAL, A, [](RegRequest& r) { r.area.flags = 2; }},
      {"area.rq_area_token non-zero", -EINVAL, R, [](RegRequest& r) { r.area.rq_area_token = 1; }},
      {"area.__resv2 non-zero", -EINVAL, A, [](RegRequest& r) { r.area.__resv2[0] = 1; }},
      {"area.len == 0", -EFAULT, A, [](RegRequest& r) { r.area.len = 0; }},
      {"area.len above 1 GiB", -EFAULT, A, [](RegRequest& r) { r.area.len = (1ull << 30) + 4096; }},
      {"area.addr + len wraps", -EOVERFLOW, A,
       [](RegRequest& r) { r.area.addr = ~0ull - 4095; r.area.len = 8192; }},
      {"area.addr not page aligned", -EINVAL, A, [](RegRequest& r) { r.area.addr += 64; }},
      {"area.len not page aligned", -EINVAL, A, [](RegRequest& r) { r.area.len -= 100; }},
      {"area.addr == 0", -EFAULT, A, [](RegRequest& r) { r.area.addr = 0; }},
      {"dma-buf area", -EOPNOTSUPP, A, [](RegRequest& r) { r.area.flags = uapi::kZcrxAreaDmabuf; }},
      {"dmabuf_fd without the dma-buf flag", -EINVAL, A,
       [](RegRequest& r) { r.area.dmabuf_fd = 5; }},
      {"mapped area shorter than area.len", -EINVAL, M, [](RegRequest& r) { r.mem.len = 4096; }},
  };
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  for (const BadCase& c : cases) {
    CAPTURE(c.what);
    RegRequest r = h.request(0, 0);
    c.spoil(r);
    CHECK(h.register_ifq(ctx, r) == c.err);
    // The checks that see the same fields agree; the later ones pass what
    // only an earlier one refuses.
    CHECK(h.eng.check_ifq_reg(r.reg, r.area, nullptr) == (c.phase == Phase::reg ? c.err : 0));
    if (c.phase != Phase::reg)
      CHECK(h.eng.check_ifq_area(r.reg, r.area) == (c.phase == Phase::area ? c.err : 0));
    CHECK(ctx->lookup(0) == nullptr);
  }
  // Nothing was created, nothing bound, the ring holds only its own ref.
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.prov.plain.open_calls() == 0);
  CHECK(ctx->refs() == 1);
  // The untouched request still registers, as id 0.
  RegRequest ok = h.request(0, 0);
  CHECK(h.register_ifq(ctx, ok) == 0);
  CHECK(ok.reg.zcrx_id == 0);
}

TEST_CASE("register: rq_entries rounded to a power of two and capped") {
  struct {
    uint32_t asked, got;
  } const cases[] = {{1, 1}, {3, 4}, {64, 64}, {100, 128}, {32768, 32768}, {40000, 32768},
                     {0xffffffffu, 32768}};
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  uint32_t rxq = 0;
  for (auto c : cases) {
    CAPTURE(c.asked);
    RegRequest r = h.request(0, rxq++, 4, c.asked);
    RqRegionLayout l;
    REQUIRE(h.eng.check_ifq_reg(r.reg, r.area, &l) == 0);
    CHECK(l.rq_entries == c.got);
    REQUIRE(h.register_ifq(ctx, r) == 0);
    CHECK(r.reg.rq_entries == c.got);
    Ifq* ifq = ctx->lookup(r.reg.zcrx_id);
    REQUIRE(ifq != nullptr);
    CHECK(ifq->rq_layout().rq_entries == c.got);
    const RqRegionLayout want = rq_region_layout(c.got);
    CHECK(r.reg.offsets.head == want.off.head);
    CHECK(r.reg.offsets.tail == want.off.tail);
    CHECK(r.reg.offsets.rqes == want.off.rqes);
    if (rxq == 8) break;  // the provider has 8 queues per port
  }
}

TEST_CASE("register: fills zcrx_id, area token and binds the queue") {
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  RegRequest a = h.request(0, 3, 8);
  REQUIRE(h.register_ifq(ctx, a) == 0);
  RegRequest b = h.request(1, 3, 8);
  b.reg.rx_buf_len = 8192;
  REQUIRE(h.register_ifq(ctx, b) == 0);
  CHECK(a.reg.zcrx_id == 0);
  CHECK(b.reg.zcrx_id == 1);
  CHECK(a.area.rq_area_token == uapi::area_token(0));  // one area per ifq, id 0
  Ifq* ia = ctx->lookup(0);
  Ifq* ib = ctx->lookup(1);
  CHECK(ia->kind() == IfqKind::real);
  CHECK(ia->if_rxq() == 3);
  CHECK(ia->port() == 0);
  CHECK(ib->port() == 1);
  CHECK(ia->area()->num_niovs() == 8);
  CHECK(ib->area()->num_niovs() == 4);  // 32 KiB in 8 KiB niovs
  CHECK(ib->area()->niov_shift() == 13);
  CHECK(h.prov.plain.bound(0, 3));
  CHECK(h.prov.plain.bound(1, 3));
  CHECK(ia->refs() == 1);
  CHECK(ia->user_refs() == 1);
  CHECK(ctx->resolve(0) == ia);
}

TEST_CASE("register: failures after allocation undo exactly") {
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  SUBCASE("queue binding fails: the binder's errno, nothing left") {
    RegRequest r = h.request(0, 0);
    h.prov.plain.fail_next_open(-ENODEV);
    CHECK(h.register_ifq(ctx, r) == -ENODEV);
    RegRequest r2 = h.request(5, 0);  // no port 5
    CHECK(h.register_ifq(ctx, r2) == -ENODEV);
  }
  SUBCASE("queue already bound: -EEXIST") {
    h.register_ok(ctx, 0, 0);
    RegRequest r = h.request(0, 0);
    CHECK(h.register_ifq(ctx, r) == -EEXIST);
    CHECK(h.eng.stats().ifqs_live == 1);
    CHECK(ctx->refs() == 2);  // own + master of the first
    CHECK(ctx->lookup(1) == nullptr);
    return;
  }
  SUBCASE("RQ region too small: -EINVAL") {
    RegRequest r = h.request(0, 0);
    static char small[64];
    CHECK(h.eng.register_ifq(ctx, r.reg, r.area, r.mem, {small, sizeof small}) == -EINVAL);
  }
  SUBCASE("terminated ring: -EBADF") {
    // A clone keeps the terminated ring's ctx alive (not freed).
    Ctx* dead = h.eng.create_ctx(nullptr);
    h.register_ok(dead, 1, 0);
    Ctx* other = h.eng.create_ctx(nullptr);
    h.clone_ok(other, dead, 0);
    h.eng.terminate_ctx(dead);
    REQUIRE(dead->terminated());
    REQUIRE(dead->refs() == 1);  // the proxy's
    RegRequest r = h.request(0, 0);
    CHECK(h.register_ifq(dead, r) == -EBADF);
    CHECK(h.eng.stats().ifqs_live == 1);  // the cloned one only
    h.eng.terminate_ctx(other);
    CHECK(h.eng.stats().ifqs_live == 0);
  }
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().free_with_master_set == 0);
  CHECK(ctx->refs() == 1);
  CHECK(ctx->lookup(0) == nullptr);
  CHECK_FALSE(h.prov.plain.bound(0, 0));
  // The id was not consumed.
  RegRequest ok = h.request(0, 0);
  REQUIRE(h.register_ifq(ctx, ok) == 0);
  CHECK(ok.reg.zcrx_id == 0);
}

TEST_CASE("register: no free zcrx id returns -EBUSY and undoes") {
  Harness h;
  Ctx* src = h.eng.create_ctx(nullptr);
  h.register_ok(src, 0, 0);
  Ctx* ctx = h.eng.create_ctx(nullptr);
  for (uint32_t i = 0; i < kMaxZcrxPerCtx; i++) h.clone_ok(ctx, src, 0);
  RegRequest r = h.request(1, 0);
  CHECK(h.register_ifq(ctx, r) == -EBUSY);
  CHECK(h.eng.stats().ifqs_live == 1);
  CHECK_FALSE(h.prov.plain.bound(1, 0));
  CHECK(ctx->refs() == 1);
}

TEST_CASE("register: the device lookup (-ENODEV) comes before the area and rx_buf_len checks") {
  // io_register_zcrx: netdev lookup in zcrx_register_netdev, then
  // io_zcrx_create_area. A wrong device wins over any area error.
  const std::function<void(RegRequest&)> area_errors[] = {
      [](RegRequest& r) { r.reg.rx_buf_len = 6000; },
      [](RegRequest& r) { r.area.len -= 100; },
      [](RegRequest& r) { r.area.addr = 0; },
      [](RegRequest& r) { r.area.flags = uapi::kZcrxAreaDmabuf; },
      [](RegRequest& r) { r.mem.len = 4096; },
  };
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  for (const auto& spoil : area_errors) {
    RegRequest r = h.request(5, 0);  // no port 5
    spoil(r);
    CHECK(h.register_ifq(ctx, r) == -ENODEV);
    RegRequest ok_port = h.request(0, 0);
    spoil(ok_port);
    CHECK(h.register_ifq(ctx, ok_port) != -ENODEV);
    CHECK(h.register_ifq(ctx, ok_port) < 0);
  }
  // But after the RQ region and its stats block: those errors come first.
  RegRequest r = h.request(5, 0);
  uapi::zcrx_event_desc ev{};
  ev.flags = uapi::kZcrxEventDescFlagStats;
  ev.stats_offset = 8;  // inside the RQ indices
  r.reg.event_desc = reinterpret_cast<uint64_t>(&ev);
  CHECK(h.register_ifq(ctx, r, &ev) == -ERANGE);
  CHECK(h.prov.plain.lookup_calls() == 5 + 5 * 2);
  CHECK(h.prov.plain.open_calls() == 0);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(ctx->refs() == 1);
}

TEST_CASE("register: ZCRX_REG_NODEV makes an ifq with no device and no queue") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  RegRequest r = h.request(0, 0, 8);
  r.reg.flags = uapi::kZcrxRegNodev;
  r.reg.rx_buf_len = 4096;  // the default, named: accepted
  REQUIRE(h.register_ifq(a, r) == 0);
  Ifq* q = a->lookup(r.reg.zcrx_id);
  REQUIRE(q != nullptr);
  CHECK(q->kind() == IfqKind::real);
  CHECK(q->nodev());
  CHECK(q->if_rxq() == -1);
  CHECK(r.area.rq_area_token == uapi::area_token(0));
  CHECK(q->area()->num_niovs() == 8);
  CHECK(q->master_ctx() == a);
  CHECK(a->resolve(r.reg.zcrx_id) == q);
  // Nothing went through the binder; the sink has its free pool.
  CHECK(h.prov.plain.lookup_calls() == 0);
  CHECK(h.prov.plain.open_calls() == 0);
  CHECK_FALSE(h.prov.plain.bound(0, 0));
  FreeList* fl = PlainProvider::free_list(*q->area());
  REQUIRE(fl != nullptr);
  // A second device-less ifq needs no queue of its own, and a bound one
  // on queue 0 does not collide with either.
  RegRequest r2 = h.request(0, 0, 4);
  r2.reg.flags = uapi::kZcrxRegNodev;
  REQUIRE(h.register_ifq(a, r2) == 0);
  Ifq* bound = h.register_ok(a, 0, 0, 4);
  CHECK(bound->if_rxq() == 0);
  CHECK_FALSE(bound->nodev());

  // Delivered (the copy path's job) and refilled like any other.
  Harness::push_rqes(q, h.deliver(q, 3));
  CHECK(q->refill(16) == 3);
  const std::vector<uint64_t> held = h.deliver(q, 2);

  // Exported, imported and cloned like any other.
  Ctx* b = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  ExportBox* box = h.export_ok(a, q->zcrx_id());
  Ifq* imp = h.import_ok(b, box);
  CHECK(imp->proxy() == q);
  CHECK(imp->if_rxq() == -1);
  CHECK(imp->nodev());
  Ifq* prx = h.clone_ok(c, a, q->zcrx_id());
  CHECK(prx->proxy() == q);
  CHECK(prx->nodev());
  CHECK(q->refs() == 4);
  CHECK(q->user_refs() == 4);
  Harness::push_rqes(imp, h.deliver(imp, 1));
  CHECK(imp->refill(4) == 1);
  h.deliver(prx, 2);
  h.eng.release_box(box);
  h.eng.terminate_ctx(b);
  h.eng.terminate_ctx(a);  // the clone keeps it; still no binder call
  CHECK(q->user_refs() == 1);
  CHECK(h.prov.plain.close_calls() == 1);  // `bound`'s queue only
  // Its last user closes it: scrub, no close_queue.
  h.eng.terminate_ctx(c);
  CHECK(h.prov.plain.close_calls() == 1);
  CHECK(h.prov.plain.open_calls() == 1);
  CHECK(h.prov.plain.lookup_calls() == 1);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().ctxs_live == 0);
  CHECK(h.eng.stats().free_with_master_set == 0);
  // The 2 still held (and the clone's 2) came back with the scrub, once.
  CHECK(held.size() == 2);
  CHECK(fl->free_count() == 8);
  CHECK(fl->overflows() == 0);
}
