// SPDX-License-Identifier: MIT
// Per-packet cost of zcrxd's datapath work outside the PMD, beside the
// ceiling loop of the same memory: what one packet costs between
// rte_eth_rx_burst and the buffer being free again.
//
//   BM_Ceiling        take a free niov, read the first and last payload
//                     byte, give it back (baseline A's work without a PMD)
//   BM_Classify/N     parse Ethernet/IPv4/UDP, classify, flow hash over N
//                     distinct frames (1: cache-hot header, 4096: cold)
//   BM_DeliverCycle   the full zcrx cycle of a burst: classify, deliver
//                     (user ref + CQE off), post CQE32s and publish them;
//                     the consumer reaps, reads first/last byte and writes
//                     RQEs; the datapath refills (validates each RQE, drops
//                     the ref, returns the niov) and allocates again.
//   BM_DeliverCycleBurst  the same with the engine's burst forms:
//                     deliver_burst for the burst, refill_burst and one
//                     bulk return (zcrxd's loop uses the refill half; with
//                     its per-packet checks, deliver_burst runs measured
//                     no faster there than inline deliver()).
//
// Everything runs on one thread, so the figures are the instructions and
// cache traffic of the path, not cross-core latency. items_per_second is
// packets per second.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "flow.h"
#include "packet.h"
#include "ring_dp.h"
#include "udp_frame.h"
#include "zcrx/core/engine.h"
#include "zcrx/core/free_list.h"
#include "zcrx/pattern.h"
#include "zcrx/ring_layout.h"

namespace {

namespace uapi = zcrx::uapi;
using zcrx::core::Engine;
using zcrx::core::FreeList;
using zcrx::core::PlainProvider;

constexpr uint32_t kNiovs = 4096;
constexpr uint32_t kBurst = 32;
constexpr uint16_t kPort = 9000;
constexpr uint32_t kPayload = 64;

/// Writes an Ethernet + IPv4 + UDP frame with a pattern payload at `p`;
/// returns the frame length.
uint32_t write_frame(uint8_t* p, uint64_t seq) {
  const uint32_t h = zcrxd::testing::write_udp_headers(p, kPort, kPayload);
  zcrx::pattern::fill(p + h, kPayload, seq);
  return h + kPayload;
}

/// An engine over plain memory with one registered ifq, a consumer ring
/// served by zcrxd's RingDp with one armed multishot RECV_ZC, and a frame
/// already written into every niov.
struct Setup {
  /// Page-aligned area memory; declared first so it outlives the engine.
  struct Memory {
    void* base = nullptr;
    ~Memory() { std::free(base); }
  } mem;
  PlainProvider prov{1, 1};
  Engine eng{prov, prov};
  void* area = nullptr;
  zcrx::core::Ctx* ctx = nullptr;
  zcrx::core::Ifq* ifq = nullptr;
  FreeList* free = nullptr;
  uint64_t token = 0;  // the area's CQE offset token, for RQEs
  zcrx::RingRegionLayout ring_l{};
  void* ring_mem = nullptr;
  std::unique_ptr<zcrxd::RingDp> dp;
  zcrx::CqConsumer cq;
  zcrx::RqProducer rq;
  zcrxd::FlowTable table;
  uint32_t frame_len = 0;
  bool ok = false;

  Setup() {
    const size_t len = size_t{kNiovs} * zcrx::core::kDefaultRxBufLen;
    area = mem.base = std::aligned_alloc(4096, len);
    for (uint32_t i = 0; i < kNiovs; i++)
      frame_len = write_frame(static_cast<uint8_t*>(area) + size_t{i} * zcrx::core::kDefaultRxBufLen, i);
    ctx = eng.create_ctx(nullptr);
    uapi::io_uring_zcrx_ifq_reg reg{};
    uapi::io_uring_zcrx_area_reg areg{};
    reg.if_idx = 0;
    reg.if_rxq = 0;
    reg.rq_entries = kNiovs;
    areg.addr = reinterpret_cast<uint64_t>(area);
    areg.len = len;
    if (eng.register_ifq(ctx, reg, areg, {area, len}, {}) != 0) return;
    ifq = ctx->lookup(reg.zcrx_id);
    free = PlainProvider::free_list(*ifq->area());
    token = ifq->area()->token();
    rq = zcrx::rq_producer(ifq->rq_base(), ifq->rq_layout().off, ifq->rq_layout().rq_entries);

    ring_l = zcrx::ring_region_layout(64, 4096);
    ring_mem = std::aligned_alloc(4096, ring_l.size);
    zcrx::init_ring_region(ring_mem, ring_l);
    dp = std::make_unique<zcrxd::RingDp>(ring_mem, ring_l);
    cq = zcrx::cq_consumer(ring_mem, ring_l);
    dp->set_entry(reg.zcrx_id, ifq, ifq);
    dp->set_flow(0, ifq);
    uapi::io_uring_sqe sqe{};
    sqe.opcode = uapi::kOpRecvZc;
    sqe.ioprio = uapi::kRecvMultishot;
    sqe.fd = 0;
    sqe.zcrx_ifq_idx = reg.zcrx_id;
    sqe.user_data = 42;
    zcrx::SqProducer sq = zcrx::sq_producer(ring_mem, ring_l);
    sq.push(sqe);
    dp->poll_sq(8);

    zcrxd::FlowKey key{};
    key.kind = zcrxd::FlowKind::udp_port;
    key.dst_port = kPort;
    zcrxd::normalize(&key);
    table = zcrxd::FlowTable({{key, 0}});
    ok = dp->armed(0) != nullptr;
  }
  ~Setup() {
    dp.reset();
    if (ctx) eng.terminate_ctx(ctx);
    std::free(ring_mem);
  }
  uint8_t* niov(uint32_t idx) const {
    return static_cast<uint8_t*>(area) + size_t{idx} * zcrx::core::kDefaultRxBufLen;
  }

  /// Datapath: takes the niovs of a burst (what rx_burst would have
  /// returned) into `idx` and CQ room for it. false when either ran out:
  /// the accounting broke.
  bool take_burst(uint32_t* idx) { return free->alloc_bulk(idx, kBurst) && dp->reserve(kBurst); }

  /// The consumer: reap a burst of CQEs, read the first and last payload
  /// byte of each, hand every buffer back through the RQ.
  void consume(uint64_t* touch) {
    uapi::io_uring_cqe32 cqes[kBurst];
    uapi::io_uring_zcrx_rqe rqes[kBurst];
    const uint32_t n = cq.pop_burst(cqes, kBurst);
    for (uint32_t i = 0; i < n; i++) {
      const uint64_t off = cqes[i].zcqe.off & ~uapi::kZcrxAreaMask;
      const uint8_t* p = static_cast<const uint8_t*>(area) + off;
      const uint32_t len = static_cast<uint32_t>(cqes[i].cqe.res);
      *touch += p[0] + p[len - 1];
      rqes[i] = {token | off, len, 0};
    }
    rq.push_bulk(rqes, n);
  }
};

/// Whether `s` was set up; marks the run failed when not.
bool usable(benchmark::State& state, const Setup& s) {
  if (!s.ok) state.SkipWithError("setup failed");
  return s.ok;
}

void BM_Ceiling(benchmark::State& state) {
  Setup s;
  if (!usable(state, s)) return;
  uint32_t idx[kBurst];
  uint64_t touch = 0;
  for (auto _ : state) {
    if (!s.free->alloc_bulk(idx, kBurst)) {
      state.SkipWithError("free list empty");
      break;
    }
    for (uint32_t i = 0; i < kBurst; i++) {
      const uint8_t* p = s.niov(idx[i]) + 42;
      touch += p[0] + p[kPayload - 1];
    }
    s.free->return_niovs(*s.ifq->area(), idx, kBurst);
  }
  benchmark::DoNotOptimize(touch);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBurst);
}
BENCHMARK(BM_Ceiling);

void BM_Classify(benchmark::State& state) {
  Setup s;
  if (!usable(state, s)) return;
  // range(0) distinct frames: 1 = the header is always in cache (what DDIO
  // gives a real NIC), kNiovs = every header comes from memory.
  const uint32_t mask = static_cast<uint32_t>(state.range(0)) - 1;
  uint32_t i = 0;
  uint64_t acc = 0;
  for (auto _ : state) {
    zcrxd::ParsedPacket pp;
    zcrxd::parse_packet(s.niov(i), s.frame_len, s.frame_len, &pp);
    acc += s.table.classify(pp) + zcrxd::flow_hash(pp);
    i = (i + 1) & mask;
  }
  benchmark::DoNotOptimize(acc);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Classify)->Arg(1)->Arg(kNiovs);

/// After a delivery cycle: every buffer must be back (deliveries, CQEs,
/// RQEs and refills balance), else the run is marked failed; reports the
/// misses and the packet rate.
void end_cycle(benchmark::State& state, Setup& s, uint64_t touch, uint64_t misses) {
  benchmark::DoNotOptimize(touch);
  s.ifq->refill(kNiovs);
  if (s.free->free_count() != kNiovs) state.SkipWithError("buffers leaked");
  state.counters["misses"] = static_cast<double>(misses);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBurst);
}

void BM_DeliverCycle(benchmark::State& state) {
  Setup s;
  if (!usable(state, s)) return;
  uint32_t idx[kBurst];
  uint64_t touch = 0, misses = 0;
  for (auto _ : state) {
    // Datapath: the burst rx_burst would have returned.
    if (!s.take_burst(idx)) {
      state.SkipWithError("out of buffers or CQ space: accounting broke");
      break;
    }
    for (uint32_t i = 0; i < kBurst; i++) {
      zcrxd::ParsedPacket pp;
      zcrxd::parse_packet(s.niov(idx[i]), s.frame_len, s.frame_len, &pp);
      uint32_t group = s.table.classify(pp);
      uint32_t hash = zcrxd::flow_hash(pp);
      zcrxd::RecvRequest* r = s.dp->armed(0);
      if (group == zcrxd::kNoFlow || !r) {
        misses++;
        continue;
      }
      (void)hash;  // one ring in the group: the hash picks ring 0
      uint64_t off = s.ifq->deliver(idx[i], pp.payload_off);
      s.dp->post_data(*r, pp.payload_len, off, 0, true);
    }
    s.dp->flush();
    s.consume(&touch);
    // Datapath: drain the refill queue back into the free list.
    s.ifq->refill(2 * kBurst);
  }
  end_cycle(state, s, touch, misses);
}
BENCHMARK(BM_DeliverCycle);

// BM_DeliverCycle with the engine's burst forms: the burst is classified
// first, its packets (one entry, one payload offset) delivered with one
// deliver_burst(), their CQEs posted and published once; refill_burst()
// hands the freed niovs back for one bulk return instead of the
// BufferSink per batch.
void BM_DeliverCycleBurst(benchmark::State& state) {
  Setup s;
  if (!usable(state, s)) return;
  uint32_t idx[kBurst], ok_idx[kBurst], freed[2 * kBurst];
  uint32_t lens[kBurst];
  uint64_t offs[kBurst];
  uint64_t touch = 0, misses = 0;
  for (auto _ : state) {
    if (!s.take_burst(idx)) {
      state.SkipWithError("out of buffers or CQ space: accounting broke");
      break;
    }
    zcrxd::RecvRequest* r = s.dp->armed(0);
    uint32_t n = 0, data_off = 0;
    for (uint32_t i = 0; i < kBurst; i++) {
      zcrxd::ParsedPacket pp;
      zcrxd::parse_packet(s.niov(idx[i]), s.frame_len, s.frame_len, &pp);
      if (s.table.classify(pp) == zcrxd::kNoFlow || !r) {
        misses++;
        s.free->return_niovs(*s.ifq->area(), &idx[i], 1);
        continue;
      }
      data_off = pp.payload_off;  // one header layout: one offset
      lens[n] = pp.payload_len;
      ok_idx[n++] = idx[i];
    }
    s.ifq->deliver_burst(ok_idx, n, data_off, offs);
    for (uint32_t i = 0; i < n; i++) s.dp->post_data(*r, lens[i], offs[i], 0, true);
    s.dp->flush();
    s.consume(&touch);
    const uint32_t k = s.ifq->refill_burst(2 * kBurst, freed);
    s.free->return_niovs(*s.ifq->area(), freed, k);
  }
  end_cycle(state, s, touch, misses);
}
BENCHMARK(BM_DeliverCycleBurst);

}  // namespace

BENCHMARK_MAIN();
