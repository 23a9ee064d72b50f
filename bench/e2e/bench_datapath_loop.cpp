// SPDX-License-Identifier: MIT
// Per-packet cost of zcrxd's real datapath loop (Datapath::poll_once) over
// a PMD, with the consumer's side on the same thread: what zcrxd's core
// spends per packet end to end, beside the PMD's own receive-and-free.
//
//   BM_RxFree          rte_eth_rx_burst from net_null into the area pool,
//                      then rte_pktmbuf_free_bulk (baseline A's work)
//   BM_Loop            one poll_once() (SQ poll, refill, rx_burst, parse,
//                      classify, deliver, CQE post, CQ publish), then the
//                      consumer reaps the CQEs, reads first/last payload
//                      byte and hands every buffer back through the RQ
//   BM_LoopCopy        the same over net_ring with foreign mbufs: every
//                      payload takes the copy fallback (the producer's
//                      rte_pktmbuf_alloc and enqueue are in the figure)
//
// net_null (copy=0) hands out pool mbufs without writing them, so every
// niov carries a UDP frame written once at start-up. EAL runs with
// --no-huge on one lcore; items_per_second is packets per second.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "area_pool.h"
#include "datapath.h"
#include "ring_dp.h"
#include "zcrx/core/engine.h"
#include "zcrx/ring_layout.h"

namespace {

namespace uapi = zcrx::uapi;
using namespace zcrxd;

constexpr uint32_t kNiov = 4096;
constexpr uint32_t kNiovs = 4096;
constexpr uint16_t kUdpPort = 9000;
constexpr uint32_t kPayload = 64;
constexpr uint32_t kFrame = 14 + 20 + 8 + kPayload;
constexpr uint32_t kBurst = 32;

void write_frame(uint8_t* p) {
  const uint32_t ip_len = 20 + 8 + kPayload;
  std::memset(p, 0, kFrame);
  p[12] = 0x08;
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_len >> 8);
  ip[3] = static_cast<uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
  uint8_t* udp = ip + 20;
  udp[0] = 0x30, udp[1] = 0x39;
  udp[2] = kUdpPort >> 8, udp[3] = kUdpPort & 0xff;
  udp[5] = 8 + kPayload;
  for (uint32_t i = 0; i < kPayload; i++) udp[8 + i] = static_cast<uint8_t>(i);
}

/// Binds the served queue to the area pool and hands free niovs back to
/// it, as zcrxd's Provider does.
struct BenchProvider final : zcrx::core::QueueBinder, zcrx::core::BufferSink {
  uint16_t port = 0;
  AreaPool* pool = nullptr;
  std::function<void()> bound_cb;
  zcrx::core::Ifq* bound = nullptr;
  DpStats* st = nullptr;
  int open_queue(zcrx::core::Ifq& ifq, uint32_t, uint32_t) override {
    ifq.area()->set_provider_data(pool);
    int rc = rte_eth_rx_queue_setup(port, 0, 1024, 0, nullptr, pool->pool());
    if (rc == 0) rc = rte_eth_dev_start(port);
    if (rc == 0) bound = &ifq;
    return rc;
  }
  void close_queue(zcrx::core::Ifq&) override {
    bound = nullptr;
    rte_eth_dev_stop(port);
  }
  void synchronize(zcrx::core::Ifq&) override {}
  void return_niovs(zcrx::core::Area& area, const uint32_t* idx, uint32_t n) override {
    auto* p = static_cast<AreaPool*>(area.provider_data());
    rte_mbuf* batch[64];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
      batch[k++] = p->mbuf(idx[i]);
      if (k == 64) rte_pktmbuf_free_bulk(batch, k), k = 0;
    }
    if (k) rte_pktmbuf_free_bulk(batch, k);
    st->returned.add(n);
  }
};

/// A port bound to an area pool through the engine, one consumer ring
/// with an armed RECV_ZC on a UDP-port flow, and a Datapath driven by hand.
struct Loop {
  void* area = nullptr;
  size_t len = size_t{kNiovs} * kNiov;
  uint16_t port = 0;
  DpStats st;
  std::unique_ptr<Datapath> dp;
  BenchProvider prov;
  std::unique_ptr<zcrx::core::Engine> eng;
  std::unique_ptr<AreaPool> pool;
  zcrx::core::Ctx* ctx = nullptr;
  zcrx::core::Ifq* ifq = nullptr;
  zcrx::RingRegionLayout ring_l{};
  void* ring_mem = nullptr;
  std::unique_ptr<RingDp> ring;
  zcrx::CqConsumer cq;
  zcrx::RqProducer rq;
  bool ok = false;

  explicit Loop(uint16_t port_id) : port(port_id) {
    area = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
      area = nullptr;
      return;
    }
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) return;
    if (rte_eth_tx_queue_setup(port, 0, 256, 0, nullptr) != 0) return;
    static uint32_t pool_id = 500;
    int err = 0;
    pool = AreaPool::create(area, len, kNiov, pool_id++, 0, -1, &err);
    if (!pool) return;
    // Where net_null's mbufs start their data: the headroom.
    for (uint32_t i = 0; i < kNiovs; i++)
      write_frame(static_cast<uint8_t*>(area) + size_t{i} * kNiov + RTE_PKTMBUF_HEADROOM);
    DatapathConfig cfg;
    cfg.port = port;
    cfg.burst = kBurst;
    cfg.gate_on_free_buffers = true;  // both PMDs are virtual, as zcrxd sets it
    dp = std::make_unique<Datapath>(cfg, st);
    prov.port = port;
    prov.pool = pool.get();
    prov.st = &st;
    eng = std::make_unique<zcrx::core::Engine>(prov, prov);
    ctx = eng->create_ctx(nullptr);
    uapi::io_uring_zcrx_ifq_reg reg{};
    uapi::io_uring_zcrx_area_reg areg{};
    reg.if_idx = port;
    reg.rq_entries = kNiovs;
    areg.addr = reinterpret_cast<uint64_t>(area);
    areg.len = len;
    if (eng->register_ifq(ctx, reg, areg, {area, len}, {}) != 0) return;
    ifq = ctx->lookup(reg.zcrx_id);
    rq = zcrx::rq_producer(ifq->rq_base(), ifq->rq_layout().off, ifq->rq_layout().rq_entries);
    ring_l = zcrx::ring_region_layout(64, 4096);
    ring_mem = std::aligned_alloc(4096, ring_l.size);
    zcrx::init_ring_region(ring_mem, ring_l);
    ring = std::make_unique<RingDp>(ring_mem, ring_l);
    cq = zcrx::cq_consumer(ring_mem, ring_l);
    ring->set_entry(reg.zcrx_id, ifq, ifq);
    ring->set_flow(0, ifq);
    auto s = std::make_unique<Snapshot>();
    s->rings.push_back(ring.get());
    s->real = ifq;
    s->pool = pool.get();
    s->rx = true;
    FlowKey key{};
    key.kind = FlowKind::udp_port;
    key.dst_port = kUdpPort;
    normalize(&key);
    s->flows = FlowTable({{key, 0}});
    s->groups.push_back(FlowGroupDp{{{ring.get(), 0}}});
    dp->publish(std::move(s));
    uapi::io_uring_sqe sqe{};
    sqe.opcode = uapi::kOpRecvZc;
    sqe.ioprio = uapi::kRecvMultishot;
    sqe.zcrx_ifq_idx = reg.zcrx_id;
    sqe.user_data = 42;
    zcrx::sq_producer(ring_mem, ring_l).push(sqe);
    dp->poll_once();
    ok = dp->armed() == 1;
  }

  /// The consumer: reap, read first and last byte, hand every buffer back.
  uint64_t consume(uint64_t* touch) {
    uapi::io_uring_cqe32 c[kBurst];
    uapi::io_uring_zcrx_rqe r[kBurst];
    uint32_t n = cq.pop_burst(c, kBurst);
    for (uint32_t i = 0; i < n; i++) {
      const uint8_t* p = static_cast<const uint8_t*>(area) + uapi::area_offset_of(c[i].zcqe.off);
      const uint32_t l = static_cast<uint32_t>(c[i].cqe.res);
      *touch += p[0] + p[l - 1];
      r[i] = {c[i].zcqe.off, l, 0};
    }
    rq.push_bulk(r, n);
    return n;
  }

  ~Loop() {
    if (ctx) eng->terminate_ctx(ctx);
    eng.reset();
    ring.reset();
    std::free(ring_mem);
    dp.reset();
    pool.reset();
    if (area) munmap(area, len);
  }
};

uint16_t g_null_port = 0;

void BM_RxFree(benchmark::State& state) {
  Loop l(g_null_port);
  if (!l.ok) {
    state.SkipWithError("setup failed");
    return;
  }
  rte_mbuf* pkts[kBurst];
  uint64_t got = 0;
  for (auto _ : state) {
    uint16_t n = rte_eth_rx_burst(g_null_port, 0, pkts, kBurst);
    rte_pktmbuf_free_bulk(pkts, n);
    got += n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(got));
}
BENCHMARK(BM_RxFree);

void BM_Loop(benchmark::State& state) {
  Loop l(g_null_port);
  if (!l.ok) {
    state.SkipWithError("setup failed");
    return;
  }
  uint64_t touch = 0, got = 0;
  for (auto _ : state) {
    l.dp->poll_once();
    got += l.consume(&touch);
  }
  benchmark::DoNotOptimize(touch);
  // Every packet received was delivered, and reaped (the last burst now).
  const uint64_t tail = l.consume(&touch);
  if (l.st.delivered.get() != got + tail || l.st.rx.get() != got + tail)
    state.SkipWithError("packets lost or misclassified");
  state.counters["ns_per_pkt"] = benchmark::Counter(
      static_cast<double>(got), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(static_cast<int64_t>(got));
}
BENCHMARK(BM_Loop);

void BM_LoopCopy(benchmark::State& state) {
  static int seq = 0;
  std::string name = "bench_wire" + std::to_string(seq++);
  rte_ring* wire = rte_ring_create(name.c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  int id = wire ? rte_eth_from_ring(wire) : -1;
  rte_mempool* foreign = rte_pktmbuf_pool_create(("bench_fp" + std::to_string(seq)).c_str(),
                                                 2047, 256, 0, 2048 + RTE_PKTMBUF_HEADROOM, 0);
  if (id < 0 || !foreign) {
    state.SkipWithError("net_ring setup failed");
    return;
  }
  {
    Loop l(static_cast<uint16_t>(id));
    if (!l.ok) {
      state.SkipWithError("setup failed");
      return;
    }
    uint8_t frame[kFrame];
    write_frame(frame);
    uint64_t touch = 0, got = 0;
    rte_mbuf* pkts[kBurst];
    for (auto _ : state) {
      if (rte_pktmbuf_alloc_bulk(foreign, pkts, kBurst) == 0) {
        for (rte_mbuf* m : pkts) std::memcpy(rte_pktmbuf_append(m, kFrame), frame, kFrame);
        unsigned q = rte_ring_enqueue_burst(wire, reinterpret_cast<void**>(pkts), kBurst, nullptr);
        if (q < kBurst) rte_pktmbuf_free_bulk(pkts + q, kBurst - q);
      }
      l.dp->poll_once();
      got += l.consume(&touch);
    }
    benchmark::DoNotOptimize(touch);
    if (l.st.copied.get() != l.st.delivered.get()) state.SkipWithError("not all copied");
    state.counters["ns_per_pkt"] = benchmark::Counter(
        static_cast<double>(got), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.SetItemsProcessed(static_cast<int64_t>(got));
  }
  rte_eth_dev_close(static_cast<uint16_t>(id));
  rte_mempool_free(foreign);
}
BENCHMARK(BM_LoopCopy);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf(
          "usage: %s [Google Benchmark options]\n"
          "Per-packet cost of zcrxd's datapath loop over net_null (zero copy)\n"
          "and net_ring (copy fallback), with the consumer on the same thread,\n"
          "beside rx_burst + free. Runs its own EAL (--no-huge, one lcore).\n",
          argv[0]);
      benchmark::Initialize(&argc, argv);  // prints the library's options
      return 0;
    }
  std::string prefix = "bench_dp_" + std::to_string(getpid());
  std::string vdev = "net_null0,size=" + std::to_string(kFrame);
  const char* eal[] = {"bench", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
                       "--file-prefix", prefix.c_str(), "-l", "0",
                       "--log-level", "lib.eal:error", "--vdev", vdev.c_str()};
  if (rte_eal_init(static_cast<int>(sizeof(eal) / sizeof(eal[0])),
                   const_cast<char**>(eal)) < 0) {
    std::fprintf(stderr, "SKIP: EAL init failed\n");
    return 77;
  }
  g_null_port = 0;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
