// SPDX-License-Identifier: MIT
// Rules of export (ZCRX_CTRL_EXPORT) and import (ZCRX_REG_IMPORT).
#include <cerrno>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

namespace {

uapi::io_uring_zcrx_ifq_reg import_reg() {
  uapi::io_uring_zcrx_ifq_reg reg{};
  reg.flags = uapi::kZcrxRegImport;
  return reg;
}

}  // namespace

TEST_CASE("export: a box holds refs and user_refs; its release unregisters with no ctx") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  REQUIRE(r->refs() == 1);
  REQUIRE(r->user_refs() == 1);
  ExportBox* box1 = h.export_ok(a, 0);
  ExportBox* box2 = h.export_ok(a, 0);
  CHECK(Engine::box_ifq(box1) == r);
  CHECK(r->refs() == 3);
  CHECK(r->user_refs() == 3);
  CHECK(h.eng.stats().boxes_live == 2);
  h.eng.release_box(box1);
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(r->master_ctx() == a);  // a box release passes no ctx
  CHECK(a->refs() == 2);
  // The box keeps the queue open and the ifq alive after its ring is gone.
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().ifqs_live == 1);
  CHECK(h.eng.stats().ctxs_live == 0);
  CHECK(h.prov.plain.bound(0, 0));
  h.eng.release_box(box2);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK_FALSE(h.prov.plain.bound(0, 0));
  CHECK(h.eng.stats().boxes_live == 0);
}

TEST_CASE("export: zcrx_ctrl errors with the kernel's errno, nothing taken") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  ExportBox* box = nullptr;
  uapi::zcrx_ctrl c{};
  c.op = uapi::ZCRX_CTRL_EXPORT;
  c.__resv[1] = 1;
  CHECK(h.eng.export_ifq(a, c, &box) == -EFAULT);
  c = {};
  c.op = uapi::ZCRX_CTRL_EXPORT;
  c.zcrx_id = 7;
  CHECK(h.eng.export_ifq(a, c, &box) == -ENXIO);
  c.zcrx_id = 0;
  c.zc_export.zcrx_fd = 3;
  CHECK(h.eng.export_ifq(a, c, &box) == -EINVAL);
  c.zc_export.zcrx_fd = 0;
  c.zc_export.__resv1[10] = 1;
  CHECK(h.eng.export_ifq(a, c, &box) == -EINVAL);
  c = {};
  c.op = uapi::ZCRX_CTRL_FLUSH_RQ;
  CHECK(h.eng.export_ifq(a, c, &box) == -EOPNOTSUPP);
  CHECK(box == nullptr);
  CHECK(r->refs() == 1);
  CHECK(r->user_refs() == 1);
  CHECK(h.eng.stats().boxes_live == 0);
}

TEST_CASE("import: refs and user_refs as the kernel's; the entry resolves to the real ifq") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  ExportBox* box = h.export_ok(a, 0);
  uapi::io_uring_zcrx_ifq_reg reg = import_reg();
  REQUIRE(h.eng.import_ifq(b, reg, box) == 0);
  CHECK(reg.zcrx_id == 0);
  CHECK(reg.rq_entries == r->rq_layout().rq_entries);
  CHECK(reg.offsets.rqes == r->rq_layout().off.rqes);
  Ifq* imp = b->lookup(reg.zcrx_id);
  REQUIRE(imp != nullptr);
  CHECK(imp->kind() == IfqKind::import);
  CHECK(imp != r);
  CHECK(imp->proxy() == r);
  CHECK(b->resolve(reg.zcrx_id) == r);
  CHECK(imp->if_rxq() == 0);
  CHECK(imp->rq_base() != r->rq_base());  // its own refill queue
  CHECK(r->refs() == 3);       // register + box + import
  CHECK(r->user_refs() == 3);
  CHECK(b->refs() == 1);
  // The box may be closed once imported: the import keeps its own refs.
  h.eng.release_box(box);
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  h.eng.terminate_ctx(b);
  CHECK(r->refs() == 1);
  CHECK(r->user_refs() == 1);
  CHECK(h.eng.stats().entries_live == 0);
}

TEST_CASE("import: non-zero if_rxq, rq_entries, area_ptr or region_ptr -> -EINVAL") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  ExportBox* box = h.export_ok(a, 0);
  for (int field = 0; field < 4; field++) {
    CAPTURE(field);
    uapi::io_uring_zcrx_ifq_reg reg = import_reg();
    if (field == 0) reg.if_rxq = 1;
    if (field == 1) reg.rq_entries = 64;
    if (field == 2) reg.area_ptr = 0x1000;
    if (field == 3) reg.region_ptr = 0x1000;
    CHECK(h.eng.import_ifq(b, reg, box) == -EINVAL);
  }
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(b->lookup(0) == nullptr);
  h.eng.release_box(box);
}

TEST_CASE("import: unknown flags or reserved fields -> -EINVAL") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  ExportBox* box = h.export_ok(a, 0);
  uapi::io_uring_zcrx_ifq_reg reg = import_reg();
  reg.flags = uapi::kZcrxRegImport | 2;
  CHECK(h.eng.import_ifq(b, reg, box) == -EINVAL);
  reg = import_reg();
  reg.flags = 0x80000000u | uapi::kZcrxRegImport;
  CHECK(h.eng.import_ifq(b, reg, box) == -EINVAL);
  reg = import_reg();
  reg.__resv[1] = 9;
  CHECK(h.eng.import_ifq(b, reg, box) == -EINVAL);
  reg = import_reg();
  reg.event_desc = 8;
  CHECK(h.eng.import_ifq(b, reg, box) == -EINVAL);
  reg = import_reg();
  reg.zcrx_id = 1;
  CHECK(h.eng.import_ifq(b, reg, box) == -EINVAL);
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(b->lookup(0) == nullptr);
  h.eng.release_box(box);
}

TEST_CASE("import: a descriptor that is not a box -> -EBADF") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  uapi::io_uring_zcrx_ifq_reg reg = import_reg();
  CHECK(h.eng.import_ifq(b, reg, nullptr) == -EBADF);
  // A pointer the engine never handed out (or already released).
  ExportBox* box = h.export_ok(a, 0);
  h.eng.release_box(box);
  CHECK(h.eng.import_ifq(b, reg, box) == -EBADF);
  CHECK(r->refs() == 1);
  CHECK(r->user_refs() == 1);
  CHECK(b->lookup(0) == nullptr);
}

TEST_CASE("import: the error path undoes exactly what it took (seed 000)") {
  Harness h;
  Ctx* s = h.eng.create_ctx(nullptr);
  h.register_ok(s, 1, 0);
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  ExportBox* box = h.export_ok(a, 0);
  SUBCASE("RQ region too small") {
    uapi::io_uring_zcrx_ifq_reg reg = import_reg();
    static char small[128];
    CHECK(h.eng.import_ifq(b, reg, box, {small, sizeof small}) == -EINVAL);
    CHECK(b->lookup(0) == nullptr);
  }
  SUBCASE("no free zcrx id in the importing ring") {
    for (uint32_t i = 0; i < kMaxZcrxPerCtx; i++) h.clone_ok(b, s, 0);
    uapi::io_uring_zcrx_ifq_reg reg = import_reg();
    CHECK(h.eng.import_ifq(b, reg, box) == -EBUSY);
  }
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(r->master_ctx() == a);
  CHECK(a->refs() == 2);
  CHECK(b->refs() == 1);
  CHECK(r->entry_slots() == 1);  // no entry was published
  CHECK(h.eng.stats().entries_live == 64 * (b->lookup(0) != nullptr));
  h.eng.release_box(box);
}

TEST_CASE("import: the error path unregisters with its ctx, clearing a self-import's master") {
  // Seed 000: import's error path calls zcrx_unregister(ifq, ctx). When
  // the importing ring is the master (it imports its own export), that
  // clears the master and drops its reference, as in the kernel.
  Harness h;
  Ctx* s = h.eng.create_ctx(nullptr);
  h.register_ok(s, 1, 0);
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  for (uint32_t i = 1; i < kMaxZcrxPerCtx; i++) h.clone_ok(a, s, 0);
  ExportBox* box = h.export_ok(a, 0);
  REQUIRE(a->refs() == 2);
  uapi::io_uring_zcrx_ifq_reg reg = import_reg();
  CHECK(h.eng.import_ifq(a, reg, box) == -EBUSY);
  CHECK(r->refs() == 2);
  CHECK(r->user_refs() == 2);
  CHECK(r->master_ctx() == nullptr);
  CHECK(a->refs() == 1);
  h.eng.release_box(box);
  h.eng.terminate_ctx(a);
  h.eng.terminate_ctx(s);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().free_with_master_set == 0);
}
