// SPDX-License-Identifier: MIT
// Rules of the master ctx (seed 000, as merged in Linux 7.2): set once
// with a ctx reference by a registration that asks for events, cleared
// only by its own ctx in unregister_user, and never still set when an ifq
// is freed. Where the events go: test_rule_events.cpp.
#include <algorithm>
#include <array>
#include <cerrno>
#include <numeric>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

TEST_CASE("master ctx: a registration without events sets none") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  RegRequest plain = h.request(0, 0);
  REQUIRE(h.register_ifq(a, plain) == 0);
  Ifq* r = a->lookup(plain.reg.zcrx_id);
  CHECK(r->master_ctx() == nullptr);
  CHECK(a->refs() == 1);
  // A descriptor with an empty type mask asks for nothing either.
  RegRequest none = h.request(0, 1);
  uapi::zcrx_event_desc ev{};
  ev.user_data = 7;
  none.reg.event_desc = reinterpret_cast<uint64_t>(&ev);
  REQUIRE(h.register_ifq(a, none, &ev) == 0);
  CHECK(a->lookup(none.reg.zcrx_id)->master_ctx() == nullptr);
  CHECK(a->refs() == 1);
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().ctxs_live == 0);
  CHECK(h.eng.stats().free_with_master_set == 0);
}

TEST_CASE("master ctx: register with events sets it once, taking a ctx reference") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  CHECK(a->refs() == 1);
  Ifq* r = h.register_ok(a, 0, 0);
  CHECK(r->master_ctx() == a);
  CHECK(a->refs() == 2);  // the ring's own + the master's
  // A second set returns false and changes nothing.
  CHECK_FALSE(h.eng.set_master_ctx(r, b));
  CHECK_FALSE(h.eng.set_master_ctx(r, a));
  CHECK(r->master_ctx() == a);
  CHECK(a->refs() == 2);
  CHECK(b->refs() == 1);
  // Imports and clones never become master.
  ExportBox* box = h.export_ok(a, 0);
  h.import_ok(b, box);
  Ctx* c = h.eng.create_ctx(nullptr);
  h.clone_ok(c, a, 0);
  CHECK(r->master_ctx() == a);
  CHECK(b->refs() == 1);
  CHECK(c->refs() == 1);
  h.eng.release_box(box);
}

TEST_CASE("unregister_user: clears the master only when ctx is the master") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  h.clone_ok(c, a, 0);  // keeps a's ctx alive after its termination
  ExportBox* box = h.export_ok(a, 0);
  h.import_ok(b, box);
  REQUIRE(a->refs() == 3);  // own + master + c's proxy
  REQUIRE(r->user_refs() == 4);

  h.eng.terminate_ctx(b);  // an importer: not the master
  CHECK(r->master_ctx() == a);
  CHECK(a->refs() == 3);
  CHECK(r->user_refs() == 3);

  h.eng.release_box(box);  // no ctx: master untouched
  CHECK(r->master_ctx() == a);
  CHECK(a->refs() == 3);
  CHECK(r->user_refs() == 2);

  h.eng.terminate_ctx(a);  // the master: cleared, its reference dropped
  CHECK(r->master_ctx() == nullptr);
  CHECK(a->refs() == 1);  // c's proxy only
  CHECK(r->user_refs() == 1);
  CHECK(r->if_rxq() == 0);  // c still uses the queue

  h.eng.terminate_ctx(c);
  CHECK(h.eng.stats().ctxs_live == 0);
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(h.eng.stats().free_with_master_set == 0);
}

// Every order of the four ways a user of one queue goes away, with buffers
// held by every entry: the ifq is freed last with no master, no object is
// left and every niov came back exactly once.
TEST_CASE("free: an ifq is never freed with its master set in any legal sequence") {
  std::array<int, 4> order = {0, 1, 2, 3};
  int sequences = 0;
  do {
    CAPTURE(order);
    Harness h;
    Ctx* a = h.eng.create_ctx(nullptr);
    Ctx* b = h.eng.create_ctx(nullptr);
    Ctx* c = h.eng.create_ctx(nullptr);
    Ifq* r = h.register_ok(a, 0, 0, 32);
    Area* area = r->area();
    FreeList& fl = h.free_list(r);
    ExportBox* box = h.export_ok(a, 0);
    Ifq* imp = h.import_ok(b, box);
    Ifq* prx = h.clone_ok(c, a, 0);
    h.deliver(r, 3);
    h.deliver(imp, 4);
    h.deliver(prx, 5);
    // Some go back through the RQs before anyone leaves.
    Harness::push_rqes(imp, {h.deliver(imp, 2)});
    CHECK(imp->refill(64) == 2);
    for (int step : order) {
      switch (step) {
        case 0: h.eng.terminate_ctx(a); break;
        case 1: h.eng.terminate_ctx(b); break;
        case 2: h.eng.terminate_ctx(c); break;
        case 3: h.eng.release_box(box); break;
      }
    }
    const EngineStats s = h.eng.stats();
    CHECK(s.free_with_master_set == 0);
    CHECK(s.ifqs_live == 0);
    CHECK(s.ctxs_live == 0);
    CHECK(s.entries_live == 0);
    CHECK(s.boxes_live == 0);
    CHECK(s.niovs_scrubbed + s.niovs_reclaimed == 12);
    CHECK(fl.free_count() == 32);
    CHECK(fl.overflows() == 0);
    uint32_t returned_twice = 0, delivered_not_back = 0;
    for (uint32_t i = 0; i < 14; i++) {  // niovs 0..13 were delivered
      uint32_t n = h.prov.returned(area, i);
      if (n > 1) returned_twice++;
      if (n == 0) delivered_not_back++;
    }
    CHECK(returned_twice == 0);
    CHECK(delivered_not_back == 0);
    sequences++;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(sequences == 24);
}
