// SPDX-License-Identifier: MIT
// Rules of zcrx events (Linux 7.2, "io_uring/zcrx: rename notif to
// event"): the registration's zcrx_event_desc and its errnos in the
// kernel's order, the fire-once-until-re-armed rule on the master ctx,
// ZCRX_CTRL_ARM_EVENT and its errnos, the copy-fallback counters and the
// shared zcrx_stats block in the RQ region.
#include <atomic>
#include <cerrno>
#include <thread>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

namespace {

constexpr uint32_t kAllocFail = uapi::ZCRX_EVENT_ALLOC_FAIL;
constexpr uint32_t kCopy = uapi::ZCRX_EVENT_COPY;
constexpr uint32_t kAllocFailBit = 1u << kAllocFail;
constexpr uint32_t kCopyBit = 1u << kCopy;

/// A registration request carrying `ev` the way zcrxd hands it over.
RegRequest with_desc(Harness& h, uapi::zcrx_event_desc& ev, uint32_t rxq = 0) {
  RegRequest r = h.request(0, rxq);
  r.reg.event_desc = reinterpret_cast<uint64_t>(&ev);
  return r;
}

void check_nothing_left(Harness& h, Ctx* ctx) {
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(ctx->refs() == 1);
  CHECK(ctx->lookup(0) == nullptr);
  CHECK_FALSE(h.prov.plain.bound(0, 0));
}

}  // namespace

TEST_CASE("events: descriptor checks return the kernel's errno") {
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  uapi::zcrx_event_desc ev{};
  ev.type_mask = kAllocFailBit;
  RegRequest r = with_desc(h, ev);
  SUBCASE("event_desc set, descriptor unreadable: -EFAULT") {
    CHECK(h.register_ifq(ctx, r, nullptr) == -EFAULT);
  }
  SUBCASE("type bit beyond the known ones: -EINVAL") {
    ev.type_mask = 1u << uapi::__ZCRX_EVENT_TYPE_LAST;
    CHECK(h.register_ifq(ctx, r, &ev) == -EINVAL);
    ev.type_mask = 0x80000000u | kAllocFailBit;
    CHECK(h.register_ifq(ctx, r, &ev) == -EINVAL);
  }
  SUBCASE("unknown flag: -EINVAL") {
    ev.flags = 2;
    CHECK(h.register_ifq(ctx, r, &ev) == -EINVAL);
  }
  SUBCASE("stats_offset without the stats flag: -EINVAL") {
    ev.stats_offset = 4096;
    CHECK(h.register_ifq(ctx, r, &ev) == -EINVAL);
  }
  SUBCASE("reserved word set: -EINVAL") {
    for (int i = 0; i < 9; i++) {
      CAPTURE(i);
      ev.__resv2[i] = 1;
      CHECK(h.register_ifq(ctx, r, &ev) == -EINVAL);
      ev.__resv2[i] = 0;
    }
  }
  SUBCASE("ifq_reg reserved words: -EINVAL") {
    r.reg.__resv[1] = 1;
    CHECK(h.register_ifq(ctx, r, &ev) == -EINVAL);
  }
  SUBCASE("check_ifq_reg answers the same before any region exists") {
    RqRegionLayout l;
    CHECK(h.eng.check_ifq_reg(r.reg, r.area, &l) == -EFAULT);
    ev.flags = 4;
    CHECK(h.eng.check_ifq_reg(r.reg, r.area, &l, &ev) == -EINVAL);
    ev.flags = 0;
    CHECK(h.eng.check_ifq_reg(r.reg, r.area, &l, &ev) == 0);
  }
  CHECK(h.eng.stats().ctxs_live == 1);
  check_nothing_left(h, ctx);
}

TEST_CASE("events: descriptor checks run where the kernel copies it") {
  // After the reg words, the queue, rq_entries and the area token; before
  // rx_buf_len and the rest of the area (checked when the area is made).
  Harness h;
  Ctx* ctx = h.eng.create_ctx(nullptr);
  uapi::zcrx_event_desc ev{};
  ev.type_mask = 1u << 5;  // invalid
  RegRequest r = with_desc(h, ev);
  SUBCASE("area length 0 (-EFAULT) loses to a bad type (-EINVAL)") {
    r.area.len = 0;
    CHECK(h.register_ifq(ctx, r, &ev) == -EINVAL);
    r.reg.event_desc = 0;
    CHECK(h.register_ifq(ctx, r, &ev) == -EFAULT);
  }
  SUBCASE("dma-buf area (-EOPNOTSUPP) loses to an unreadable descriptor (-EFAULT)") {
    r.area.flags = uapi::kZcrxAreaDmabuf;
    CHECK(h.register_ifq(ctx, r, nullptr) == -EFAULT);
  }
  SUBCASE("bad rx_buf_len loses to an unreadable descriptor") {
    r.reg.rx_buf_len = 1000;
    CHECK(h.register_ifq(ctx, r, nullptr) == -EFAULT);
  }
  SUBCASE("an area token is rejected before the descriptor is read") {
    r.area.rq_area_token = uapi::area_token(1);
    CHECK(h.register_ifq(ctx, r, nullptr) == -EINVAL);
  }
  SUBCASE("rq_entries 0 is rejected before the descriptor is read") {
    r.reg.rq_entries = 0;
    CHECK(h.register_ifq(ctx, r, nullptr) == -EINVAL);
  }
  SUBCASE("event_desc 0: whatever `ev` holds is not read") {
    r.reg.event_desc = 0;
    REQUIRE(h.register_ifq(ctx, r, &ev) == 0);
    Ifq* q = ctx->lookup(r.reg.zcrx_id);
    CHECK(q->event_mask() == 0);
    CHECK(q->event_user_data() == 0);
    // The ring is the master all the same (seed 000); nothing is allowed.
    CHECK(q->master_ctx() == ctx);
    CHECK(ctx->refs() == 2);
    h.eng.terminate_ctx(ctx);
    CHECK(h.eng.stats().ifqs_live == 0);
    return;
  }
  check_nothing_left(h, ctx);
}

TEST_CASE("events: import and clone carry no descriptor (-EINVAL)") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit);
  ExportBox* box = h.export_ok(a, 0);
  uapi::io_uring_zcrx_ifq_reg reg{};
  reg.flags = uapi::kZcrxRegImport;
  reg.event_desc = 0x1000;
  CHECK(h.eng.import_ifq(b, reg, box) == -EINVAL);
  uapi::io_uring_zcrx_ifq_reg creg{};
  creg.flags = uapi::kZcrxIfqRegClone;
  creg.event_desc = 0x1000;
  CHECK(h.eng.clone_ifq(b, creg, a) == -EINVAL);
  // Nothing was taken.
  CHECK(r->refs() == 2);  // own + box
  CHECK(r->user_refs() == 2);
  CHECK(b->refs() == 1);
  CHECK(a->refs() == 2);  // own + master
  CHECK(b->lookup(0) == nullptr);
  h.eng.release_box(box);
}

TEST_CASE("events: ALLOC_FAIL fires once per arm, on the master, with its user_data") {
  Harness h;
  RecordingEvents ea;
  Ctx* a = h.eng.create_ctx(&ea);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit | kCopyBit, 0x1234abcd5678ull);
  CHECK(r->event_mask() == (kAllocFailBit | kCopyBit));
  CHECK(r->event_user_data() == 0x1234abcd5678ull);
  CHECK(r->master_ctx() == a);
  CHECK(r->events_fired() == 0);

  r->report_no_buffers();
  REQUIRE(ea.seen.size() == 1);
  CHECK(ea.seen[0].ifq == r);
  CHECK(ea.seen[0].user_data == 0x1234abcd5678ull);
  CHECK(ea.seen[0].type == kAllocFail);
  CHECK(r->events_fired() == kAllocFailBit);
  // Until re-armed, more starvation posts nothing but is still counted.
  for (int i = 0; i < 5; i++) r->report_no_buffers();
  CHECK(ea.seen.size() == 1);
  CHECK(r->stats().no_buffers == 6);
  CHECK(r->stats().events_posted == 1);

  CHECK(h.arm(a, r->zcrx_id(), kAllocFail) == 0);
  CHECK(r->events_fired() == 0);
  // Arming again before it fired: -EINVAL.
  CHECK(h.arm(a, r->zcrx_id(), kAllocFail) == -EINVAL);
  r->report_no_buffers();
  REQUIRE(ea.seen.size() == 2);
  CHECK(ea.seen[1].type == kAllocFail);
  CHECK(r->stats().events_posted == 2);
  // The other type is independent: still armed, never fired.
  CHECK(h.arm(a, r->zcrx_id(), kCopy) == -EINVAL);
}

TEST_CASE("events: a queue still starved raises ALLOC_FAIL again once re-armed, counted once") {
  Harness h;
  RecordingEvents ea;
  Ctx* a = h.eng.create_ctx(&ea);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit, 77);
  r->report_no_buffers();  // the queue starves
  REQUIRE(ea.seen.size() == 1);
  for (int i = 0; i < 4; i++) r->report_starved();  // and stays starved
  CHECK(ea.seen.size() == 1);
  CHECK(h.arm(a, r->zcrx_id(), kAllocFail) == 0);
  r->report_starved();
  REQUIRE(ea.seen.size() == 2);
  CHECK(ea.seen[1].type == kAllocFail);
  CHECK(ea.seen[1].user_data == 77);
  // Starved iterations are not deliveries that found no niov.
  CHECK(r->stats().no_buffers == 1);
  CHECK(r->stats().events_posted == 2);
  // Without the type allowed, nothing is raised.
  Ctx* b = h.eng.create_ctx(&ea);
  Ifq* q = h.register_events(b, 1, 0, kCopyBit);
  q->report_starved();
  CHECK(ea.seen.size() == 2);
}

TEST_CASE("events: a type the registration did not allow never fires") {
  Harness h;
  RecordingEvents ea;
  Ctx* a = h.eng.create_ctx(&ea);
  Ifq* r = h.register_events(a, 0, 0, kCopyBit);
  for (int i = 0; i < 3; i++) r->report_no_buffers();
  CHECK(ea.seen.empty());
  CHECK(r->events_fired() == 0);
  CHECK(r->stats().no_buffers == 3);
  CHECK(h.arm(a, r->zcrx_id(), kAllocFail) == -EINVAL);
  r->report_copy(100);
  REQUIRE(ea.seen.size() == 1);
  CHECK(ea.seen[0].type == kCopy);
}

TEST_CASE("events: ZCRX_CTRL_ARM_EVENT errnos") {
  Harness h;
  RecordingEvents ea;
  Ctx* a = h.eng.create_ctx(&ea);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit);
  r->report_no_buffers();  // fired: a valid ARM would succeed below
  REQUIRE(r->events_fired() == kAllocFailBit);
  uapi::zcrx_ctrl c{};
  c.zcrx_id = r->zcrx_id();
  c.op = uapi::ZCRX_CTRL_ARM_EVENT;
  SUBCASE("unknown type: -EINVAL") {
    c.zc_arm_event.event_type = uapi::__ZCRX_EVENT_TYPE_LAST;
    CHECK(h.eng.ctrl(a, c) == -EINVAL);
    c.zc_arm_event.event_type = ~0u;
    CHECK(h.eng.ctrl(a, c) == -EINVAL);
  }
  SUBCASE("payload reserved word: -EINVAL") {
    for (int i = 0; i < 11; i++) {
      CAPTURE(i);
      c.zc_arm_event.__resv[i] = 1;
      CHECK(h.eng.ctrl(a, c) == -EINVAL);
      c.zc_arm_event.__resv[i] = 0;
    }
  }
  SUBCASE("ctrl reserved word: -EFAULT (before the id lookup)") {
    c.__resv[0] = 1;
    c.zcrx_id = 40;
    CHECK(h.eng.ctrl(a, c) == -EFAULT);
  }
  SUBCASE("no such id: -ENXIO") {
    c.zcrx_id = 1;
    CHECK(h.eng.ctrl(a, c) == -ENXIO);
    c.zcrx_id = kMaxZcrxPerCtx;
    CHECK(h.eng.ctrl(a, c) == -ENXIO);
  }
  // None of the failures re-armed the type.
  CHECK(r->events_fired() == kAllocFailBit);
  c = {};
  c.zcrx_id = r->zcrx_id();
  c.op = uapi::ZCRX_CTRL_ARM_EVENT;
  CHECK(h.eng.ctrl(a, c) == 0);
  CHECK(r->events_fired() == 0);
}

TEST_CASE("events: ARM on a terminated ring: -EBADF") {
  Harness h;
  RecordingEvents ea;
  Ctx* a = h.eng.create_ctx(&ea);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit);
  h.clone_ok(b, a, 0);  // keeps a's ctx alive (not freed) after termination
  r->report_no_buffers();
  h.eng.terminate_ctx(a);
  REQUIRE(a->terminated());
  CHECK(h.arm(a, 0, kAllocFail) == -EBADF);
  CHECK(r->events_fired() == kAllocFailBit);
}

TEST_CASE("events: importers and clones re-arm, the master alone is told") {
  Harness h;
  RecordingEvents ea, eb, ec;
  Ctx* a = h.eng.create_ctx(&ea);
  Ctx* b = h.eng.create_ctx(&eb);
  Ctx* c = h.eng.create_ctx(&ec);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit, 99);
  ExportBox* box = h.export_ok(a, 0);
  Ifq* imp = h.import_ok(b, box);
  Ifq* prx = h.clone_ok(c, a, 0);

  imp->report_no_buffers();  // any entry of the real ifq raises it
  REQUIRE(ea.seen.size() == 1);
  CHECK(ea.seen[0].ifq == r);  // named by the real ifq
  CHECK(h.arm(b, imp->zcrx_id(), kAllocFail) == 0);
  prx->report_no_buffers();
  CHECK(ea.seen.size() == 2);
  CHECK(h.arm(c, prx->zcrx_id(), kAllocFail) == 0);
  r->report_no_buffers();
  CHECK(ea.seen.size() == 3);
  CHECK(eb.seen.empty());
  CHECK(ec.seen.empty());
  CHECK(r->stats().no_buffers == 3);
  h.eng.release_box(box);
}

TEST_CASE("events: without a master nothing fires and nothing is disarmed") {
  Harness h;
  RecordingEvents ea, eb;
  Ctx* a = h.eng.create_ctx(&ea);
  Ctx* b = h.eng.create_ctx(&eb);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit | kCopyBit);
  ExportBox* box = h.export_ok(a, 0);
  Ifq* imp = h.import_ok(b, box);
  h.eng.terminate_ctx(a);  // the master goes: cleared
  REQUIRE(imp->master_ctx() == nullptr);
  imp->report_no_buffers();
  imp->report_copy(10);
  CHECK(ea.seen.empty());
  CHECK(eb.seen.empty());
  CHECK(imp->events_fired() == 0);
  CHECK(imp->target().stats().no_buffers == 1);
  CHECK(imp->target().stats().copies == 1);
  CHECK(h.arm(b, imp->zcrx_id(), kAllocFail) == -EINVAL);
  // A ring that becomes master later (set_master_ctx) gets the events.
  REQUIRE(h.eng.set_master_ctx(imp, b));
  imp->report_no_buffers();
  REQUIRE(eb.seen.size() == 1);
  CHECK(eb.seen[0].ifq == &imp->target());
  h.eng.release_box(box);
  h.eng.terminate_ctx(b);
  CHECK(h.eng.stats().free_with_master_set == 0);
  CHECK(h.eng.stats().ifqs_live == 0);
  (void)r;
}

TEST_CASE("events: a master ring without a sink, or a sink that cannot post, leaves the type armed") {
  Harness h;
  SUBCASE("no sink") {
    Ctx* a = h.eng.create_ctx(nullptr);
    Ifq* r = h.register_events(a, 0, 0, kAllocFailBit);
    r->report_no_buffers();
    CHECK(r->events_fired() == 0);
    CHECK(r->stats().events_posted == 0);
  }
  SUBCASE("CQ full") {
    RecordingEvents ea;
    ea.accept = false;
    Ctx* a = h.eng.create_ctx(&ea);
    Ifq* r = h.register_events(a, 0, 0, kAllocFailBit);
    r->report_no_buffers();
    r->report_no_buffers();
    CHECK(ea.refused == 2);
    CHECK(r->events_fired() == 0);
    CHECK(r->stats().events_lost == 2);
    ea.accept = true;
    r->report_no_buffers();
    CHECK(ea.seen.size() == 1);
    CHECK(r->events_fired() == kAllocFailBit);
    CHECK(r->stats().events_posted == 1);
    h.eng.terminate_ctx(a);
  }
}

TEST_CASE("events: copy fallback counters, the shared stats block and ZCRX_EVENT_COPY") {
  Harness h;
  RecordingEvents ea;
  Ctx* a = h.eng.create_ctx(&ea);
  RegRequest req = h.request(0, 0);
  RqRegionLayout layout;
  REQUIRE(h.eng.check_ifq_reg(req.reg, req.area, &layout) == 0);
  const uint64_t off = Engine::stats_offset(layout);
  REQUIRE(off != 0);
  CHECK(off % 64 == 0);
  CHECK(off >= layout.off.rqes + 16ull * layout.rq_entries);
  CHECK(off + sizeof(uapi::zcrx_stats) <= layout.size);
  // The consumer's region: garbage where the block goes, zeroed by the engine.
  std::vector<uint64_t> region(layout.size / 8, 0);
  std::memset(reinterpret_cast<char*>(region.data()) + off, 0xab, sizeof(uapi::zcrx_stats));
  uapi::zcrx_event_desc ev{};
  ev.user_data = 0xc0b7;
  ev.type_mask = kCopyBit;
  ev.flags = uapi::kZcrxEventDescFlagStats;
  ev.stats_offset = off;
  req.reg.event_desc = reinterpret_cast<uint64_t>(&ev);
  REQUIRE(h.eng.register_ifq(a, req.reg, req.area, req.mem, {region.data(), layout.size}, &ev) == 0);
  Ifq* r = a->lookup(req.reg.zcrx_id);
  auto* block = reinterpret_cast<uapi::zcrx_stats*>(reinterpret_cast<char*>(region.data()) + off);
  REQUIRE(r->stats_block() == block);
  CHECK(block->copy_count == 0);
  CHECK(block->copy_bytes == 0);

  r->report_copy(1400);
  r->report_copy(60);
  r->report_copy(9000);
  CHECK(block->copy_count == 3);
  CHECK(block->copy_bytes == 10460);
  CHECK(r->stats().copies == 3);
  CHECK(r->stats().copy_bytes == 10460);
  REQUIRE(ea.seen.size() == 1);
  CHECK(ea.seen[0].type == kCopy);
  CHECK(ea.seen[0].user_data == 0xc0b7);
  CHECK(h.arm(a, r->zcrx_id(), kCopy) == 0);
  r->report_copy(1);
  CHECK(ea.seen.size() == 2);
  CHECK(block->copy_count == 4);
  CHECK(block->copy_bytes == 10461);
  // The RQ itself still works next to the block.
  std::vector<uint64_t> offs = h.deliver(r, 4);
  Harness::push_rqes(r, offs);
  CHECK(r->refill(64) == 4);
  CHECK(block->copy_count == 4);
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().ifqs_live == 0);
}

TEST_CASE("events: stats block placement errnos, undone exactly") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  RegRequest req = h.request(0, 0);
  RqRegionLayout layout;
  REQUIRE(h.eng.check_ifq_reg(req.reg, req.area, &layout) == 0);
  std::vector<uint64_t> region(layout.size / 8, 0);
  uapi::zcrx_event_desc ev{};
  ev.type_mask = kCopyBit;
  ev.flags = uapi::kZcrxEventDescFlagStats;
  req.reg.event_desc = reinterpret_cast<uint64_t>(&ev);
  const uint64_t rq_end = layout.off.rqes + 16ull * layout.rq_entries;
  auto reg_with = [&](uint64_t off, size_t region_len) {
    ev.stats_offset = off;
    RegRequest r = req;
    return h.eng.register_ifq(a, r.reg, r.area, r.mem, {region.data(), region_len}, &ev);
  };
  CHECK(reg_with(rq_end + 4, layout.size) == -EINVAL);     // misaligned
  CHECK(reg_with(rq_end - 8, layout.size) == -ERANGE);     // over the last RQE
  CHECK(reg_with(0, layout.size) == -ERANGE);              // over the indices
  CHECK(reg_with(layout.size - 8, layout.size) == -ERANGE); // past the end
  CHECK(reg_with(layout.size, layout.size) == -ERANGE);
  CHECK(reg_with(~uint64_t{7}, layout.size) == -ERANGE);    // wraps
  // Each failure came after the ifq existed: it was undone.
  CHECK(h.eng.stats().ifqs_live == 0);
  CHECK(a->refs() == 1);
  CHECK(a->lookup(0) == nullptr);
  CHECK_FALSE(h.prov.plain.bound(0, 0));
  // The last 16 bytes of the region are a valid place.
  CHECK(reg_with(layout.size - 16, layout.size) == 0);
  CHECK(a->lookup(0)->stats_block() != nullptr);
  // An engine-allocated region is checked against the layout size.
  RegRequest r2 = h.request(0, 1);
  ev.stats_offset = layout.size;
  r2.reg.event_desc = reinterpret_cast<uint64_t>(&ev);
  CHECK(h.register_ifq(a, r2, &ev) == -ERANGE);
  ev.stats_offset = Engine::stats_offset(layout);
  CHECK(h.register_ifq(a, r2, &ev) == 0);
  h.eng.terminate_ctx(a);
  CHECK(h.eng.stats().ifqs_live == 0);
}

// The datapath sets the fired bit while the control thread re-arms it:
// every successful ARM clears exactly one post, so at the end
// posted - armed is the fired bit (0 or 1), whatever the interleaving.
TEST_CASE("datapath: events fire once per arm while the control thread re-arms") {
  Harness h;
  RecordingEvents ea;
  Ctx* a = h.eng.create_ctx(&ea);
  Ifq* r = h.register_events(a, 0, 0, kAllocFailBit);
  std::atomic<bool> stop{false};
  std::thread dp([&] {
    // relaxed: a stop flag; the join orders everything after it.
    while (!stop.load(std::memory_order_relaxed)) r->report_no_buffers();
  });
  // Until the datapath fired (and the control thread re-armed) 2000
  // times; a successful ARM proves a post happened before it.
  uint64_t armed = 0, refused = 0, calls = 0;
  while (armed < 2000 && calls < 50'000'000) {
    const int rc = h.arm(a, r->zcrx_id(), kAllocFail);
    REQUIRE((rc == 0 || rc == -EINVAL));
    (rc == 0 ? armed : refused)++;
    calls++;
    // Nothing fired since the last arm: let the datapath thread run (on a
    // loaded machine it may share this CPU).
    if (rc != 0) std::this_thread::yield();
  }
  stop.store(true, std::memory_order_relaxed);
  dp.join();
  const uint64_t posted = ea.seen.size();
  CHECK(r->stats().events_posted == posted);
  CHECK(posted - armed == (r->events_fired() & kAllocFailBit ? 1u : 0u));
  CHECK(armed == 2000);
  CHECK(armed + refused == calls);
  for (const SeenEvent& e : ea.seen) CHECK(e.type == kAllocFail);
}
