// SPDX-License-Identifier: MIT
// Per-packet cost of zcrxd's real datapath loop (Datapath::poll_once) over
// a PMD, with the consumer's side on the same thread: what zcrxd's core
// spends per packet end to end, beside the PMD's own receive-and-free.
//
//   BM_RxFree          rte_eth_rx_burst from net_null into the area pool,
//                      then rte_pktmbuf_free_bulk (baseline A's work)
//   BM_Loop            one poll_once() (SQ poll, refill, rx_burst, parse,
//                      classify, IPv4 header checksum, deliver, CQE post,
//                      CQ publish), then the consumer reaps the CQEs, reads
//                      first/last payload byte and hands every buffer back
//                      through the RQ; UDP checksum 0 (none sent)
//   BM_LoopUdpCsum     the same with a UDP checksum in every datagram,
//                      checked in software (net_null gives no offload flags)
//   BM_LoopRxCsumOff   BM_Loop with --rx-csum off: what the checks cost
//   BM_LoopCopy        the same over net_ring with foreign mbufs: every
//                      payload takes the copy fallback (the producer's
//                      rte_pktmbuf_alloc and enqueue are in the figure)
//
// The BM_Loop* runs report TSC cycles per packet by stage of the loop as
// counters (<stage>_cyc, dpdk_app/dp_profile.h: iteration, refill,
// rx_burst, parse, deliver, free, cq_publish; their sum datapath_cyc) and
// the consumer's (consumer_cyc). This program links its own copy of the
// datapath built with those laps; their ten TSC reads per iteration made
// BM_Loop's ns_per_pkt 9 % (-1 to +12 %, 8 pairs) slower than a build
// without them: compare builds that both have them. zcrxd has none.
//
// net_null (copy=0) hands out pool mbufs without writing them, so every
// niov carries a UDP frame written once at start-up. EAL runs with
// --no-huge on one lcore; items_per_second is packets per second.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "datapath_fixture.h"
#include "dp_profile.h"
#include "udp_frame.h"

namespace {

namespace uapi = zcrx::uapi;
using zcrxd::testing::DatapathFixture;
using zcrxd::testing::FixtureConfig;

constexpr uint32_t kNiov = 4096;
constexpr uint32_t kNiovs = 4096;
constexpr uint16_t kUdpPort = 9000;
constexpr uint32_t kPayload = 64;
constexpr uint32_t kFrame = zcrxd::testing::kUdpHeaders + kPayload;
constexpr uint32_t kBurst = 32;

/// A UDP frame to kUdpPort whose payload byte i is i; with `udp_csum`
/// its UDP checksum too (else 0: none).
void write_frame(uint8_t* p, bool udp_csum = false) {
  const uint32_t h = zcrxd::testing::write_udp_headers(p, kUdpPort, kPayload);
  for (uint32_t i = 0; i < kPayload; i++) p[h + i] = static_cast<uint8_t>(i);
  if (!udp_csum) return;
  uint8_t* ip = p + 14;
  uint8_t* udp = ip + 20;
  zcrxd::InetSum sum = zcrxd::udp_pseudo_header(ip + 12, ip + 16, 4, 8 + kPayload);
  sum.add(udp, 8 + kPayload);
  const uint16_t c = zcrxd::udp_checksum_field(sum);
  udp[6] = static_cast<uint8_t>(c >> 8);
  udp[7] = static_cast<uint8_t>(c);
}

/// The datapath fixture driven by hand on this thread: a port bound to an
/// area pool, one consumer ring with its RECV_ZC armed by a first
/// poll_once(), the consumer's side in consume().
struct Loop : DatapathFixture {
  static FixtureConfig config(int port, bool udp_csum, zcrxd::RxCsum rx_csum) {
    static uint32_t pool_id = 500;
    static int seq = 0;
    FixtureConfig c;
    c.port = port;
    c.name = "bench_wire" + std::to_string(seq++);
    c.niovs = kNiovs;
    c.niov_size = kNiov;
    c.pool_id = pool_id++;
    c.rx_desc = 1024;
    c.rq_entries = kNiovs;
    c.burst = kBurst;
    c.gate_on_free_buffers = true;  // both PMDs are virtual, as zcrxd sets it
    c.rx_csum = rx_csum;
    c.udp_port = kUdpPort;
    // Where net_null's mbufs start their data: the headroom.
    c.prepare = [udp_csum](uint8_t* area) {
      for (uint32_t i = 0; i < kNiovs; i++)
        write_frame(area + size_t{i} * kNiov + RTE_PKTMBUF_HEADROOM, udp_csum);
    };
    return c;
  }

  /// Over port `port`, or over a new net_ring port when it is -1.
  explicit Loop(int port, bool udp_csum = false, zcrxd::RxCsum rx_csum = zcrxd::RxCsum::kAuto)
      : DatapathFixture(config(port, udp_csum, rx_csum)) {
    if (!ok()) return;
    dp->poll_once();
    armed = dp->armed() == 1;
  }

  bool ready() const { return ok() && armed; }

  /// The consumer: reap, read first and last byte, hand every buffer back.
  uint64_t consume(uint64_t* touch) {
    uapi::io_uring_cqe32 c[kBurst];
    uapi::io_uring_zcrx_rqe r[kBurst];
    uint32_t n = cq.pop_burst(c, kBurst);
    for (uint32_t i = 0; i < n; i++) {
      const uint8_t* p = at(c[i].zcqe.off);
      const uint32_t l = static_cast<uint32_t>(c[i].cqe.res);
      *touch += p[0] + p[l - 1];
      r[i] = {c[i].zcqe.off, l, 0};
    }
    rq.push_bulk(r, n);
    return n;
  }

  bool armed = false;
};

/// Whether `l` was set up and armed; marks the run failed when not.
bool usable(benchmark::State& state, const Loop& l) {
  if (!l.ready()) state.SkipWithError("setup failed");
  return l.ready();
}

uint16_t g_null_port = 0;

void BM_RxFree(benchmark::State& state) {
  Loop l(g_null_port);
  if (!usable(state, l)) return;
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

/// Per-stage cycles of the datapath (dp_profile.h) over a run, and the
/// consumer's, reported per packet as counters named <stage>_cyc.
class StageCycles {
 public:
  StageCycles() { std::memcpy(start_, zcrxd::profile::g_cycles, sizeof start_); }
  void report(benchmark::State& state, uint64_t packets, uint64_t consumer) const {
    if (!packets) return;
    const double n = static_cast<double>(packets);
    double sum = 0;
    for (uint32_t i = 0; i < zcrxd::profile::kStages; i++) {
      const double c = static_cast<double>(zcrxd::profile::g_cycles[i] - start_[i]) / n;
      state.counters[std::string(zcrxd::profile::kStageNames[i]) + "_cyc"] = c;
      sum += c;
    }
    state.counters["consumer_cyc"] = static_cast<double>(consumer) / n;
    state.counters["datapath_cyc"] = sum;
    state.counters["tsc_ghz"] = static_cast<double>(rte_get_tsc_hz()) / 1e9;
  }

 private:
  uint64_t start_[zcrxd::profile::kStages];
};

void run_loop(benchmark::State& state, bool udp_csum,
              zcrxd::RxCsum rx_csum = zcrxd::RxCsum::kAuto) {
  Loop l(g_null_port, udp_csum, rx_csum);
  if (!usable(state, l)) return;
  uint64_t touch = 0, got = 0, consumer = 0;
  const StageCycles stages;
  for (auto _ : state) {
    l.dp->poll_once();
    const uint64_t t = rte_rdtsc();
    got += l.consume(&touch);
    consumer += rte_rdtsc() - t;
  }
  benchmark::DoNotOptimize(touch);
  stages.report(state, got, consumer);
  // Every packet received was delivered, and reaped (the last burst now).
  const uint64_t tail = l.consume(&touch);
  if (l.st.delivered.get() != got + tail || l.st.rx.get() != got + tail)
    state.SkipWithError("packets lost or misclassified");
  state.counters["ns_per_pkt"] = benchmark::Counter(
      static_cast<double>(got), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(static_cast<int64_t>(got));
}

void BM_Loop(benchmark::State& state) { run_loop(state, false); }
BENCHMARK(BM_Loop);

void BM_LoopUdpCsum(benchmark::State& state) { run_loop(state, true); }
BENCHMARK(BM_LoopUdpCsum);

void BM_LoopRxCsumOff(benchmark::State& state) { run_loop(state, false, zcrxd::RxCsum::kOff); }
BENCHMARK(BM_LoopRxCsumOff);

void BM_LoopCopy(benchmark::State& state) {
  static int seq = 0;
  rte_mempool* foreign = rte_pktmbuf_pool_create(("bench_fp" + std::to_string(++seq)).c_str(),
                                                 2047, 256, 0, 2048 + RTE_PKTMBUF_HEADROOM, 0);
  if (!foreign) {
    state.SkipWithError("net_ring setup failed");
    return;
  }
  {
    Loop l(-1);  // a new net_ring port, closed with l
    if (!usable(state, l)) {
      rte_mempool_free(foreign);
      return;
    }
    uint8_t frame[kFrame];
    write_frame(frame);
    uint64_t touch = 0, got = 0;
    rte_mbuf* pkts[kBurst];
    for (auto _ : state) {
      if (rte_pktmbuf_alloc_bulk(foreign, pkts, kBurst) == 0) {
        for (rte_mbuf* m : pkts) std::memcpy(rte_pktmbuf_append(m, kFrame), frame, kFrame);
        unsigned q = rte_ring_enqueue_burst(l.wire, reinterpret_cast<void**>(pkts), kBurst, nullptr);
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
