// SPDX-License-Identifier: MIT
// Rules of buffer reclaim: the last user of a real ifq closes its queue
// and scrubs every held buffer exactly once; an entry that goes away (an
// import's ring ends, a proxy is dropped, the master's ring ends while
// others stay) gives back exactly the buffers it holds while the others
// keep receiving.
#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

TEST_CASE("scrub: the last user going away returns every held buffer exactly once") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 32);
  Area* area = r->area();
  ExportBox* box = h.export_ok(a, 0);
  Ifq* imp = h.import_ok(b, box);
  h.eng.release_box(box);
  const auto held_r = h.deliver(r, 5);
  const auto held_i = h.deliver(imp, 7);
  Harness::push_rqes(r, {held_r[0], held_r[1]});  // two came back normally
  REQUIRE(r->refill(8) == 2);

  h.eng.terminate_ctx(a);  // not the last user: its own entry's 3 reclaimed
  CHECK(h.eng.stats().niovs_reclaimed == 3);
  CHECK(h.eng.stats().niovs_scrubbed == 0);
  CHECK(area->held_by_users() == 7);

  h.eng.terminate_ctx(b);  // last user: close, then scrub the 7
  CHECK(h.eng.stats().niovs_scrubbed == 7);
  CHECK(h.eng.stats().niovs_reclaimed == 3);
  CHECK_FALSE(h.prov.plain.bound(0, 0));
  FreeList* fl = h.prov.plain.free_list(0, 0);
  CHECK(fl->free_count() == 32);
  CHECK(fl->overflows() == 0);
  for (uint32_t i = 0; i < 12; i++) CHECK(h.prov.returned(area, i) == 1);
  for (uint32_t i = 12; i < 32; i++) CHECK(h.prov.returned(area, i) == 0);
  CHECK(h.eng.stats().ifqs_live == 0);
}

TEST_CASE("scrub: a sole registering ring's exit scrubs what its consumer held") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 16);
  Area* area = r->area();
  h.deliver(r, 16);
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().niovs_scrubbed == 16);
  CHECK(h.eng.stats().niovs_reclaimed == 0);
  for (uint32_t i = 0; i < 16; i++) CHECK(h.prov.returned(area, i) == 1);
  CHECK(h.prov.plain.free_list(0, 0)->free_count() == 16);
}

TEST_CASE("entry teardown: an import's ring going away reclaims its buffers while others keep receiving") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 16);
  Area* area = r->area();
  ExportBox* box = h.export_ok(a, 0);
  Ifq* imp = h.import_ok(b, box);
  h.eng.release_box(box);
  const auto held_r = h.deliver(r, 3);
  const auto held_i = h.deliver(imp, 4);
  const uint64_t sync_before = h.prov.plain.synchronize_calls();

  h.eng.terminate_ctx(b);  // b's process died with 4 buffers
  CHECK(h.eng.stats().niovs_reclaimed == 4);
  CHECK(h.eng.stats().niovs_scrubbed == 0);
  CHECK(h.prov.plain.synchronize_calls() > sync_before);  // waited for the datapath
  for (uint64_t off : held_i) CHECK(h.prov.returned(area, niov_of(r, off)) == 1);
  for (uint64_t off : held_r) CHECK(area->user_refs(niov_of(r, off)) == 1);
  CHECK(r->if_rxq() == 0);
  CHECK(r->user_refs() == 1);
  CHECK(r->entry_at(1) == nullptr);

  // a keeps receiving and refilling, reusing the reclaimed buffers.
  const auto more = h.deliver(r, 13);
  CHECK(h.free_list(r).free_count() == 0);
  Harness::push_rqes(r, held_r);
  Harness::push_rqes(r, more);
  CHECK(r->refill(64) == 16);
  CHECK(h.free_list(r).free_count() == 16);
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().niovs_scrubbed == 0);
  CHECK(h.prov.plain.free_list(0, 0)->overflows() == 0);
}

TEST_CASE("entry teardown: a dropped proxy's buffers come back exactly once") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 16);
  Area* area = r->area();
  Ifq* p = h.clone_ok(c, a, 0);
  const auto held_p = h.deliver(p, 6);
  const auto held_r = h.deliver(r, 2);
  h.eng.terminate_ctx(c);
  CHECK(h.eng.stats().niovs_reclaimed == 6);
  for (uint64_t off : held_p) CHECK(h.prov.returned(area, niov_of(r, off)) == 1);
  for (uint64_t off : held_r) CHECK(area->user_refs(niov_of(r, off)) == 1);
  CHECK(r->entry_slots() == 1);  // only a's own entry left
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().niovs_scrubbed == 2);
  CHECK(h.prov.plain.free_list(0, 0)->free_count() == 16);
}

TEST_CASE("entry teardown: the master ring going away reclaims its buffers while importers keep receiving") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 16);
  Area* area = r->area();
  ExportBox* box = h.export_ok(a, 0);
  Ifq* imp = h.import_ok(b, box);
  h.eng.release_box(box);
  const auto held_r = h.deliver(r, 5);
  const auto held_i = h.deliver(imp, 2);
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().niovs_reclaimed == 5);
  for (uint64_t off : held_r) CHECK(h.prov.returned(area, niov_of(r, off)) == 1);
  CHECK(r->entry_at(0) == nullptr);
  CHECK(imp->live());
  Harness::push_rqes(imp, h.deliver(imp, 3));
  CHECK(imp->refill(64) == 3);
  Harness::push_rqes(imp, held_i);
  CHECK(imp->refill(64) == 2);
  h.eng.terminate_ctx(b);
  CHECK(h.eng.stats().niovs_scrubbed == 0);
  CHECK(h.prov.plain.free_list(0, 0)->free_count() == 16);
  CHECK(h.eng.stats().ifqs_live == 0);
}
