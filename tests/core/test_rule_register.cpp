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

struct BadCase {
  const char* what;
  int err;
  std::function<void(RegRequest&)> spoil;
};

}  // namespace

TEST_CASE("register: validates ifq_reg and area with the kernel's errno") {
  const BadCase cases[] = {
      {"reg.__resv non-zero", -EINVAL, [](RegRequest& r) { r.reg.__resv[1] = 1; }},
      {"reg.zcrx_id non-zero", -EINVAL, [](RegRequest& r) { r.reg.zcrx_id = 3; }},
      {"reg.flags set", -EINVAL, [](RegRequest& r) { r.reg.flags = 2; }},
      {"reg.flags IMPORT on the register path", -EINVAL,
       [](RegRequest& r) { r.reg.flags = uapi::kZcrxRegImport; }},
      {"if_rxq == -1", -EINVAL, [](RegRequest& r) { r.reg.if_rxq = ~0u; }},
      {"rq_entries == 0", -EINVAL, [](RegRequest& r) { r.reg.rq_entries = 0; }},
      {"rx_buf_len not a power of two", -EINVAL, [](RegRequest& r) { r.reg.rx_buf_len = 6000; }},
      {"rx_buf_len below a page", -EINVAL, [](RegRequest& r) { r.reg.rx_buf_len = 2048; }},
      {"rx_buf_len not dividing the area", -EINVAL,
       [](RegRequest& r) { r.reg.rx_buf_len = 8192; r.area.len = 3 * 4096; }},
      {"area.flags unknown", -EINVAL, [](RegRequest& r) { r.area.flags = 2; }},
      {"area.rq_area_token non-zero", -EINVAL, [](RegRequest& r) { r.area.rq_area_token = 1; }},
      {"area.__resv2 non-zero", -EINVAL, [](RegRequest& r) { r.area.__resv2[0] = 1; }},
      {"area.len == 0", -EFAULT, [](RegRequest& r) { r.area.len = 0; }},
      {"area.len above 1 GiB", -EFAULT, [](RegRequest& r) { r.area.len = (1ull << 30) + 4096; }},
      {"area.addr + len wraps", -EOVERFLOW,
       [](RegRequest& r) { r.area.addr = ~0ull - 4095; r.area.len = 8192; }},
      {"area.addr not page aligned", -EINVAL, [](RegRequest& r) { r.area.addr += 64; }},
      {"area.len not page aligned", -EINVAL, [](RegRequest& r) { r.area.len -= 100; }},
      {"area.addr == 0", -EFAULT, [](RegRequest& r) { r.area.addr = 0; }},
      {"dma-buf area", -EOPNOTSUPP, [](RegRequest& r) { r.area.flags = uapi::kZcrxAreaDmabuf; }},
      {"dmabuf_fd without the dma-buf flag", -EINVAL, [](RegRequest& r) { r.area.dmabuf_fd = 5; }},
      {"mapped area shorter than area.len", -EINVAL, [](RegRequest& r) { r.mem.len = 4096; }},
  };
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  for (const BadCase& c : cases) {
    CAPTURE(c.what);
    RegRequest r = h.request(0, 0);
    c.spoil(r);
    CHECK(h.register_ifq(ctx, r) == c.err);
    // check_ifq_reg agrees wherever it sees the same fields.
    if (std::string(c.what) != "mapped area shorter than area.len")
      CHECK(h.eng.check_ifq_reg(r.reg, r.area, nullptr) == c.err);
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
