// SPDX-License-Identifier: MIT
// Ring throughput: our RingProducer/RingConsumer over a refill-queue region
// against DPDK's rte_ring (SP/SC, bulk, 16-byte elements) measured in the
// same run, for batches of 1, 8 and 32 entries.
//
//   same_core:  one thread enqueues a batch, then dequeues it.
//   cross_core: the producer on CPU 0, the consumer on CPU 1.
//
// Both rings move the same 16-byte entries (struct io_uring_zcrx_rqe) with
// all-or-nothing batches, copying from a source array and into a
// destination array. rte_ring is initialised in plain aligned memory with
// rte_ring_get_memsize_elem + rte_ring_init: no EAL is needed. After the
// usual table the program prints entries/s of ours over rte_ring per case.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

// DPDK 22.11 headers use ++ on volatile, deprecated in C++20: not our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wvolatile"
#include <rte_ring.h>
#include <rte_ring_elem.h>
#pragma GCC diagnostic pop

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "zcrx/ring_layout.h"

namespace {

namespace u = zcrx::uapi;
using Entry = u::io_uring_zcrx_rqe;

constexpr uint32_t kRingEntries = 1024;
constexpr uint32_t kMaxBatch = 32;

inline void cpu_relax() { __builtin_ia32_pause(); }

// Our ring: a refill-queue region in page-aligned memory.
class ZcrxRing {
 public:
  ZcrxRing() : l_(zcrx::rq_region_layout(kRingEntries)) {
    mem_ = std::aligned_alloc(4096, l_.size);
    if (mem_ == nullptr) std::abort();
    std::memset(mem_, 0, l_.size);
    p_ = zcrx::rq_producer(mem_, l_.off, kRingEntries);
    c_ = zcrx::rq_consumer(mem_, l_.off, kRingEntries);
  }
  ~ZcrxRing() { std::free(mem_); }
  ZcrxRing(const ZcrxRing&) = delete;
  ZcrxRing& operator=(const ZcrxRing&) = delete;

  bool enqueue(const Entry* src, uint32_t n) { return p_.push_bulk(src, n); }
  bool dequeue(Entry* dst, uint32_t n) { return c_.pop_bulk(dst, n); }

 private:
  zcrx::RqRegionLayout l_;
  void* mem_ = nullptr;
  // Each side's private state on its own pair of lines: the two threads
  // of cross_core write them, and adjacent lines are prefetched together.
  alignas(128) zcrx::RqProducer p_;
  alignas(128) zcrx::RqConsumer c_;
  char pad_[128 - sizeof(zcrx::RqConsumer)];
};

// DPDK's ring with the same capacity (RING_F_EXACT_SZ) and element size.
class RteRing {
 public:
  RteRing() {
    const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
    ssize_t sz = rte_ring_get_memsize_elem(sizeof(Entry), 2 * kRingEntries);
    if (sz < 0) std::abort();
    // aligned_alloc wants a multiple of the alignment.
    size_t bytes = (static_cast<size_t>(sz) + RTE_CACHE_LINE_SIZE - 1) & ~size_t{RTE_CACHE_LINE_SIZE - 1};
    r_ = static_cast<rte_ring*>(std::aligned_alloc(RTE_CACHE_LINE_SIZE, bytes));
    if (r_ == nullptr) std::abort();
    // With RING_F_EXACT_SZ the usable capacity is exactly the count asked.
    if (rte_ring_init(r_, "bench", kRingEntries, flags) != 0 ||
        rte_ring_get_capacity(r_) != kRingEntries) {
      std::fprintf(stderr, "rte_ring_init failed\n");
      std::exit(1);
    }
  }
  ~RteRing() { std::free(r_); }
  RteRing(const RteRing&) = delete;
  RteRing& operator=(const RteRing&) = delete;

  bool enqueue(const Entry* src, uint32_t n) {
    return rte_ring_sp_enqueue_bulk_elem(r_, src, sizeof(Entry), n, nullptr) == n;
  }
  bool dequeue(Entry* dst, uint32_t n) {
    return rte_ring_sc_dequeue_bulk_elem(r_, dst, sizeof(Entry), n, nullptr) == n;
  }

 private:
  rte_ring* r_ = nullptr;
};

void fill_source(Entry* src) {
  for (uint32_t i = 0; i < kMaxBatch; i++) {
    src[i] = Entry{};
    src[i].off = u::area_token(1) | (uint64_t{i} * 4096);
    src[i].len = 4096;
  }
}

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

template <class Ring>
void same_core(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  Ring ring;
  Entry src[kMaxBatch], dst[kMaxBatch];
  fill_source(src);
  for (auto _ : state) {
    if (!ring.enqueue(src, n) || !ring.dequeue(dst, n)) {
      state.SkipWithError("ring refused a batch that fits");
      break;
    }
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

template <class Ring>
void cross_core(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  cpu_set_t saved;
  pthread_getaffinity_np(pthread_self(), sizeof saved, &saved);
  if (std::thread::hardware_concurrency() < 2 || !pin_to(0)) {
    state.SkipWithError("needs CPUs 0 and 1");
    return;
  }
  Ring ring;
  Entry src[kMaxBatch];
  fill_source(src);
  // relaxed: both are plain flags; no data is handed over through them
  // (the entries travel through the ring, whose own orders apply).
  std::atomic<bool> started{false};
  std::atomic<uint64_t> target{UINT64_MAX};
  uint64_t received = 0;
  std::thread consumer([&] {
    pin_to(1);
    started.store(true, std::memory_order_relaxed);
    Entry dst[kMaxBatch];
    while (received < target.load(std::memory_order_relaxed)) {
      if (ring.dequeue(dst, n)) {
        received += n;
        benchmark::DoNotOptimize(dst);
      } else {
        cpu_relax();
      }
    }
  });
  while (!started.load(std::memory_order_relaxed)) cpu_relax();

  uint64_t sent = 0;
  for (auto _ : state) {
    while (!ring.enqueue(src, n)) cpu_relax();
    sent += n;
  }
  target.store(sent, std::memory_order_relaxed);
  consumer.join();
  pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
  if (received != sent) state.SkipWithError("consumer lost entries");
  state.SetItemsProcessed(static_cast<int64_t>(sent));
}

// Records entries/s per benchmark name while printing the usual table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rate_[r.benchmark_name()] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // "<mode>/zcrx_ring/<batch>..." paired with "<mode>/rte_ring/<batch>...".
  void print_ratios() const {
    std::printf("\n%-24s %16s %16s %10s\n", "case", "zcrx entries/s", "rte_ring entries/s",
                "ours/rte");
    for (const auto& [name, ours] : rate_) {
      auto pos = name.find("/zcrx_ring/");
      if (pos == std::string::npos) continue;
      std::string other = name;
      other.replace(pos, 11, "/rte_ring/");
      auto it = rate_.find(other);
      if (it == rate_.end() || it->second <= 0) continue;
      std::string label = name;
      label.replace(pos, 11, "/");
      std::printf("%-24s %16.3e %18.3e %10.2f\n", label.c_str(), ours, it->second,
                  ours / it->second);
    }
  }

 private:
  std::map<std::string, double> rate_;
};

void register_all() {
  for (int64_t b : {1, 8, 32}) {
    benchmark::RegisterBenchmark("same_core/zcrx_ring", same_core<ZcrxRing>)->Arg(b);
    benchmark::RegisterBenchmark("same_core/rte_ring", same_core<RteRing>)->Arg(b);
  }
  for (int64_t b : {1, 8, 32}) {
    benchmark::RegisterBenchmark("cross_core/zcrx_ring", cross_core<ZcrxRing>)->Arg(b)->UseRealTime();
    benchmark::RegisterBenchmark("cross_core/rte_ring", cross_core<RteRing>)->Arg(b)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
