// SPDX-License-Identifier: MIT
// Rules of the datapath interface: the lock-free snapshot of a real ifq's
// live entries, zcrx_ctrl, the plain FreeList provider and the quiescent
// epoch the control thread waits on.
#include <cerrno>
#include <thread>

#include "test_rule_fixture.h"

using namespace zcrx;
using namespace zcrx::core;
using namespace zcrx::core::test;

TEST_CASE("snapshot: live entries are published and removed with a generation change") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ctx* b = h.eng.create_ctx(nullptr);
  Ctx* c = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0);
  CHECK(r->entry_slots() == 1);
  CHECK(r->entry_at(0) == r);
  CHECK(r->slot() == 0);
  CHECK(r->live());
  ExportBox* box = h.export_ok(a, 0);
  uint32_t gen = r->entries_generation();
  Ifq* imp = h.import_ok(b, box);
  CHECK(r->entries_generation() != gen);
  Ifq* prx = h.clone_ok(c, a, 0);
  CHECK(r->entry_slots() == 3);
  CHECK(r->entry_at(imp->slot()) == imp);
  CHECK(r->entry_at(prx->slot()) == prx);
  CHECK(imp->slot() != prx->slot());
  CHECK(r->entry_at(kMaxEntriesPerIfq) == nullptr);

  gen = r->entries_generation();
  const uint32_t imp_slot = imp->slot();
  const uint64_t syncs = h.prov.plain.synchronize_calls();
  h.eng.terminate_ctx(b);
  CHECK(r->entries_generation() != gen);
  CHECK(r->entry_at(imp_slot) == nullptr);
  CHECK(h.prov.plain.synchronize_calls() > syncs);
  CHECK(r->entry_slots() == 3);  // the proxy still sits in slot 2
  // A later entry reuses the free slot.
  Ctx* d = h.eng.create_ctx(nullptr);
  Ifq* imp2 = h.import_ok(d, box);
  CHECK(imp2->slot() == imp_slot);
  h.eng.terminate_ctx(c);
  h.eng.terminate_ctx(d);
  CHECK(r->entry_slots() == 1);
  h.eng.release_box(box);
}

TEST_CASE("ctrl: zcrx_ctrl results with the kernel's errno") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  h.register_ok(a, 0, 0);
  uapi::zcrx_ctrl c{};
  c.op = uapi::ZCRX_CTRL_FLUSH_RQ;
  CHECK(h.eng.ctrl(a, c) == 0);
  c.__resv[0] = 1;
  CHECK(h.eng.ctrl(a, c) == -EFAULT);
  c.__resv[0] = 0;
  c.zcrx_id = 3;
  CHECK(h.eng.ctrl(a, c) == -ENXIO);
  c.zcrx_id = 0;
  c.zc_flush.__resv[5] = 1;
  CHECK(h.eng.ctrl(a, c) == -EINVAL);
  c = {};
  c.op = 77;
  CHECK(h.eng.ctrl(a, c) == -EOPNOTSUPP);
  c.op = uapi::ZCRX_CTRL_EXPORT;
  CHECK(h.eng.ctrl(a, c) == -EINVAL);
}

TEST_CASE("free list: burst and bulk allocation, datapath and control returns balance") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 8);
  FreeList& fl = h.free_list(r);
  CHECK(fl.capacity() == 8);
  uint32_t got[16];
  CHECK(fl.alloc_burst(got, 3) == 3);
  CHECK(got[0] == 0);
  CHECK(got[2] == 2);
  CHECK_FALSE(fl.alloc_bulk(got + 3, 6));  // all or nothing
  CHECK(fl.free_count() == 5);
  CHECK(fl.alloc_burst(got + 3, 10) == 5);
  CHECK(fl.alloc_burst(got + 8, 1) == 0);
  fl.return_niovs(*r->area(), got, 2);       // datapath side
  fl.reclaim_niovs(*r->area(), got + 2, 6);  // control side
  CHECK(fl.free_count() == 8);
  CHECK(fl.alloc_bulk(got, 8));  // drains the control ring
  CHECK(fl.free_count() == 0);
  fl.return_niovs(*r->area(), got, 8);
  fl.return_niovs(*r->area(), got, 1);  // a double free is refused
  CHECK(fl.overflows() == 1);
  CHECK(fl.free_count() == 8);
}

// The datapath thread serves the queue (delivers, acts as the consumer's
// RQ producer, refills and passes quiescent points) while the control
// thread imports and terminates rings: every entry that goes away gets its
// buffers back exactly once and the accounting balances at the end.
TEST_CASE("datapath: entries come and go while the datapath delivers and refills") {
  Harness h;
  Ctx* a = h.eng.create_ctx(nullptr);
  Ifq* r = h.register_ok(a, 0, 0, 256);
  Area* area = r->area();
  FreeList& fl = h.free_list(r);
  ExportBox* box = h.export_ok(a, 0);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> rounds{0};
  // Waits until the datapath finished another loop iteration, so the
  // control thread's changes really interleave with its work.
  auto wait_round = [&rounds] {
    // relaxed: progress only; ordering comes from the engine's protocol.
    const uint64_t r0 = rounds.load(std::memory_order_relaxed);
    while (rounds.load(std::memory_order_relaxed) == r0) std::this_thread::yield();
  };

  std::thread datapath([&] {
    QuiescentEpoch& epoch = h.prov.plain.epoch();
    epoch.set_running(true);
    uint64_t n = 0, round = 0;
    // relaxed: a stop request; the join orders everything after it.
    while (!stop.load(std::memory_order_relaxed)) {
      const uint32_t slots = r->entry_slots();
      for (uint32_t s = 0; s < slots; s++) {
        Ifq* e = r->entry_at(s);
        if (e == nullptr) continue;
        uint32_t idx[4];
        const uint32_t got = fl.alloc_burst(idx, 4);
        if (got == 0) e->report_no_buffers();
        RqProducer rq = rq_producer(e->rq_base(), e->rq_layout().off,
                                    e->rq_layout().rq_entries);
        for (uint32_t i = 0; i < got; i++) {
          const uint64_t off = e->deliver(idx[i], 0);
          n++;
          // Keep every fourth buffer held, hand the rest back.
          if ((round + i) % 4 != 0) {
            uapi::io_uring_zcrx_rqe rqe{};
            rqe.off = off;
            rq.push(rqe);
          }
        }
        e->refill(64);
      }
      round++;
      epoch.quiescent();
      rounds.store(round, std::memory_order_relaxed);  // relaxed: progress only
    }
    epoch.set_running(false);
    // relaxed: read after join.
    delivered.store(n, std::memory_order_relaxed);
  });

  wait_round();
  for (int i = 0; i < 200; i++) {
    Ctx* b = h.eng.create_ctx(nullptr);
    h.import_ok(b, box);
    if (i % 10 == 0) wait_round();
    if (i % 3 == 0) {
      Ctx* c = h.eng.create_ctx(nullptr);
      h.clone_ok(c, b, 0);
      h.eng.terminate_ctx(c);
    }
    std::this_thread::yield();
    h.eng.terminate_ctx(b);
  }
  stop.store(true, std::memory_order_relaxed);
  datapath.join();

  CHECK(delivered.load() > 0);
  // Only a's own entry is left; what it holds goes back at its end.
  CHECK(r->entry_slots() == 1);
  // Everything not in the free list is held by a's consumer.
  const uint64_t held_at_end = area->held_by_users();
  CHECK(held_at_end == 256 - fl.free_count());
  const uint64_t reclaimed_before = h.eng.stats().niovs_reclaimed;
  h.eng.release_box(box);
  h.eng.terminate_ctx(a);
  const EngineStats s = h.eng.stats();
  CHECK(s.ifqs_live == 0);
  CHECK(s.free_with_master_set == 0);
  CHECK(fl.overflows() == 0);
  CHECK(fl.free_count() == 256);
  CHECK(s.niovs_scrubbed + s.niovs_reclaimed == held_at_end + reclaimed_before);
}
