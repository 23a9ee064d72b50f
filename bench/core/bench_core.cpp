// SPDX-License-Identifier: MIT
// Cost of the engine's datapath per buffer: one round trip of a buffer
// through zcrx_core (allocate from the provider, deliver into an entry,
// the consumer writes the RQE, refill validates it and returns the buffer
// to the provider), for batches of 1 and 32, against the bare provider
// measured in the same run (get and put of the same count, nothing else):
//
//   roundtrip/engine+free_list    engine over the plain FreeList provider,
//                                 per-buffer deliver() and refill() (the
//                                 BufferSink returns each batch)
//   roundtrip/engine_burst+free_list  the burst API: deliver_burst() and
//                                 refill_burst(), whose niovs the caller
//                                 puts back with one FreeList call
//   roundtrip/import_entry+free_list  as engine+free_list through an
//                                 import entry of a second ring
//   baseline/free_list            FreeList alloc_bulk + return_niovs only
//   baseline/free_list+rq         the same plus what any round trip through
//                                 a consumer inherently adds: each index
//                                 written as an RQE into an SPSC ring of
//                                 the same geometry and read back from it
//                                 (no validation, no per-niov state)
//   baseline/plain_stack          a minimal array stack get/put
//   roundtrip/engine+rte_mempool  engine over an rte_mempool (as zcrxd)  [DPDK]
//   roundtrip/engine_burst+rte_mempool  burst API, one put per burst     [DPDK]
//   baseline/rte_mempool          rte_mempool_get_bulk + put_bulk only   [DPDK]
//
// The consumer writes each RQE field by field into its ring slot, as a
// liburing consumer does (no staging array).
//
// After the usual table the program prints ns/buffer (CPU time) of each
// engine case, of its baselines, and the ratio (target: engine <= 1.5x its
// provider); with --benchmark_repetitions the medians are compared. Every
// case runs in the same process over the same batch sizes.
// The rte_mempool cases need an EAL (started with
// on one lcore, --no-huge --no-shconf); without DPDK, or when the EAL does not start, they are
// left out and the reason printed.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "zcrx/core/engine.h"
#include "zcrx/core/free_list.h"
#include "zcrx/ring_layout.h"

#ifdef ZCRX_BENCH_DPDK
// DPDK 22.11 headers use ++ on volatile, deprecated in C++20: not our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wvolatile"
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#pragma GCC diagnostic pop
#endif

namespace {

namespace core = zcrx::core;
namespace u = zcrx::uapi;

constexpr uint32_t kNiovs = 1024;
constexpr uint32_t kBufLen = 4096;
constexpr uint32_t kRqEntries = 1024;
constexpr uint32_t kMaxBatch = 32;

// ---- the engine on one registered ifq --------------------------------------------

// One ring with one real ifq of kNiovs buffers on `binder`/`sink`, and the
// consumer's producer view of its RQ.
// With `via_import` the buffers go to an import entry in a second ring
// (export + ZCRX_REG_IMPORT) instead of the registering ring's own entry.
class EngineSetup {
 public:
  EngineSetup(core::QueueBinder& binder, core::BufferSink& sink, bool via_import = false)
      : engine_(binder, sink), area_mem_(std::aligned_alloc(4096, size_t{kNiovs} * kBufLen)) {
    if (area_mem_ == nullptr) std::abort();
    ctx_ = engine_.create_ctx(nullptr);
    u::io_uring_zcrx_area_reg area{};
    area.addr = reinterpret_cast<uint64_t>(area_mem_);
    area.len = size_t{kNiovs} * kBufLen;
    u::io_uring_zcrx_ifq_reg reg{};
    reg.rq_entries = kRqEntries;
    reg.area_ptr = reinterpret_cast<uint64_t>(&area);
    const int ret = engine_.register_ifq(ctx_, reg, area, {area_mem_, area.len}, {});
    if (ret != 0) {
      std::fprintf(stderr, "bench_core: register_ifq failed: %d\n", ret);
      std::exit(1);
    }
    ifq_ = ctx_->lookup(reg.zcrx_id);
    if (via_import) {
      u::zcrx_ctrl ctrl{};
      ctrl.zcrx_id = reg.zcrx_id;
      ctrl.op = u::ZCRX_CTRL_EXPORT;
      importer_ = engine_.create_ctx(nullptr);
      u::io_uring_zcrx_ifq_reg imp{};
      imp.flags = u::kZcrxRegImport;
      if (engine_.export_ifq(ctx_, ctrl, &box_) != 0 ||
          engine_.import_ifq(importer_, imp, box_) != 0) {
        std::fprintf(stderr, "bench_core: export/import failed\n");
        std::exit(1);
      }
      ifq_ = importer_->lookup(imp.zcrx_id);
    }
    const zcrx::RqRegionLayout& l = ifq_->rq_layout();
    rq_ = zcrx::rq_producer(ifq_->rq_base(), l.off, l.rq_entries);
  }
  ~EngineSetup() {
    if (importer_ != nullptr) {
      engine_.terminate_ctx(importer_);
      engine_.release_box(box_);
    }
    engine_.terminate_ctx(ctx_);
    std::free(area_mem_);
  }
  EngineSetup(const EngineSetup&) = delete;
  EngineSetup& operator=(const EngineSetup&) = delete;

  core::Ifq& ifq() { return *ifq_; }
  zcrx::RqProducer& rq() { return rq_; }

 private:
  core::Engine engine_;
  void* area_mem_;
  core::Ctx* ctx_ = nullptr;
  core::Ctx* importer_ = nullptr;
  core::ExportBox* box_ = nullptr;
  core::Ifq* ifq_ = nullptr;
  zcrx::RqProducer rq_;
};

// The consumer: hands the CQE offsets `off` back as RQEs, written in
// place. False when the RQ has no room.
inline bool hand_back(zcrx::RqProducer& rq, const uint64_t* off, uint32_t n) {
  if (!rq.reserve_bulk(n)) return false;
  for (uint32_t i = 0; i < n; i++) {
    u::io_uring_zcrx_rqe& rqe = rq.slot(i);
    rqe.off = off[i];
    rqe.len = kBufLen;
    rqe.__pad = 0;
  }
  rq.commit(n);
  return true;
}

// The part of a round trip after the provider handed out `idx`: deliver
// each buffer, the consumer hands each CQE offset back as an RQE, refill.
// Returns false when refill did not return every buffer.
inline bool deliver_and_refill(core::Ifq& q, zcrx::RqProducer& rq, const uint32_t* idx,
                               uint32_t n) {
  uint64_t off[kMaxBatch];
  for (uint32_t i = 0; i < n; i++) off[i] = q.deliver(idx[i], 0);
  if (!hand_back(rq, off, n)) return false;
  return q.refill(n) == n;
}

// The same with the burst API: the niovs refill frees come back in
// `freed` (room for n) for the caller to return. Returns how many.
inline uint32_t deliver_and_refill_burst(core::Ifq& q, zcrx::RqProducer& rq,
                                         const uint32_t* idx, uint32_t n, uint32_t* freed) {
  uint64_t off[kMaxBatch];
  q.deliver_burst(idx, n, 0, off);
  if (!hand_back(rq, off, n)) return 0;
  return q.refill_burst(n, freed);
}

void engine_free_list_on(benchmark::State& state, bool via_import) {
  const auto n = static_cast<uint32_t>(state.range(0));
  core::PlainProvider provider;
  EngineSetup s(provider, provider, via_import);
  core::FreeList& fl = *core::PlainProvider::free_list(*s.ifq().area());
  uint32_t idx[kMaxBatch];
  for (auto _ : state) {
    if (!fl.alloc_bulk(idx, n) || !deliver_and_refill(s.ifq(), s.rq(), idx, n)) {
      state.SkipWithError("a buffer did not come back");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

void engine_free_list(benchmark::State& state) { engine_free_list_on(state, false); }

void engine_burst_free_list(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  core::PlainProvider provider;
  EngineSetup s(provider, provider);
  core::Area& area = *s.ifq().area();
  core::FreeList& fl = *core::PlainProvider::free_list(area);
  uint32_t idx[kMaxBatch];
  uint32_t freed[kMaxBatch];
  for (auto _ : state) {
    if (!fl.alloc_bulk(idx, n) || deliver_and_refill_burst(s.ifq(), s.rq(), idx, n, freed) != n) {
      state.SkipWithError("a buffer did not come back");
      break;
    }
    fl.return_niovs(area, freed, n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
void engine_free_list_import(benchmark::State& state) { engine_free_list_on(state, true); }

// ---- bare providers ------------------------------------------------------------------

void baseline_free_list(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  // The same FreeList the engine case uses, bound the same way.
  core::PlainProvider provider;
  EngineSetup s(provider, provider);
  core::FreeList& fl = *core::PlainProvider::free_list(*s.ifq().area());
  core::Area& area = *s.ifq().area();
  uint32_t idx[kMaxBatch];
  for (auto _ : state) {
    if (!fl.alloc_bulk(idx, n)) {
      state.SkipWithError("free list ran dry");
      break;
    }
    benchmark::DoNotOptimize(idx);
    fl.return_niovs(area, idx, n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

// The FreeList plus the handoff every round trip through a consumer
// includes: the indices go out as RQE offsets (area token | byte offset)
// written into an SPSC ring of the engine's RQ geometry and come back
// from it, read field by field, before they are returned. What the engine
// adds on top is its per-niov state, validation and accounting.
void baseline_free_list_rq(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  core::PlainProvider provider;
  EngineSetup s(provider, provider);
  core::Area& area = *s.ifq().area();
  core::FreeList& fl = *core::PlainProvider::free_list(area);
  // A second ring of the same geometry, private to this case.
  const zcrx::RqRegionLayout& l = s.ifq().rq_layout();
  std::unique_ptr<char[]> mem(new char[l.size]());
  zcrx::RqProducer prod = zcrx::rq_producer(mem.get(), l.off, l.rq_entries);
  zcrx::RqConsumer cons = zcrx::rq_consumer(mem.get(), l.off, l.rq_entries);
  const uint64_t token = area.token();
  const uint32_t shift = area.niov_shift();
  uint32_t idx[kMaxBatch];
  uint64_t off[kMaxBatch];
  uint32_t back[kMaxBatch];
  for (auto _ : state) {
    if (!fl.alloc_bulk(idx, n)) {
      state.SkipWithError("free list ran dry");
      break;
    }
    for (uint32_t i = 0; i < n; i++) off[i] = token | (uint64_t{idx[i]} << shift);
    if (!hand_back(prod, off, n) || cons.peek(n) != n) {
      state.SkipWithError("ring handoff failed");
      break;
    }
    for (uint32_t i = 0; i < n; i++) {
      uint64_t o;
      __builtin_memcpy(&o, &cons.at(i).off, sizeof o);
      back[i] = static_cast<uint32_t>(u::area_offset_of(o) >> shift);
    }
    cons.advance(n);
    fl.return_niovs(area, back, n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

// The least a free list can do: an array stack of indices.
void baseline_plain_stack(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<uint32_t> stack(kNiovs);
  for (uint32_t i = 0; i < kNiovs; i++) stack[i] = i;
  uint32_t top = kNiovs;
  uint32_t idx[kMaxBatch];
  for (auto _ : state) {
    top -= n;
    std::memcpy(idx, &stack[top], n * sizeof(uint32_t));
    benchmark::DoNotOptimize(idx);
    std::memcpy(&stack[top], idx, n * sizeof(uint32_t));
    top += n;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

#ifdef ZCRX_BENCH_DPDK
// ---- rte_mempool -------------------------------------------------------------------

// A mempool of kNiovs objects, each holding its niov index, as zcrxd keeps
// one mbuf per niov.
class NiovPool {
 public:
  NiovPool() {
    pool_ = rte_mempool_create("bench_core_niovs", kNiovs, 64, 256, 0, nullptr, nullptr,
                               nullptr, nullptr, static_cast<int>(rte_socket_id()), 0);
    if (pool_ == nullptr) return;
    // Number the objects and remember which object is which niov.
    std::vector<void*> all(kNiovs);
    if (rte_mempool_get_bulk(pool_, all.data(), kNiovs) != 0) {
      rte_mempool_free(pool_);
      pool_ = nullptr;
      return;
    }
    obj_.resize(kNiovs);
    for (uint32_t i = 0; i < kNiovs; i++) {
      *static_cast<uint32_t*>(all[i]) = i;
      obj_[i] = all[i];
    }
    rte_mempool_put_bulk(pool_, all.data(), kNiovs);
  }
  ~NiovPool() {
    if (pool_ != nullptr) rte_mempool_free(pool_);
  }
  NiovPool(const NiovPool&) = delete;
  NiovPool& operator=(const NiovPool&) = delete;

  bool ok() const { return pool_ != nullptr; }
  rte_mempool* pool() const { return pool_; }
  void* obj(uint32_t idx) const { return obj_[idx]; }

 private:
  rte_mempool* pool_ = nullptr;
  std::vector<void*> obj_;
};

// zcrxd's arrangement: the queue's buffers live in a mempool; refill puts
// them back.
class MempoolProvider final : public core::QueueBinder, public core::BufferSink {
 public:
  explicit MempoolProvider(NiovPool& p) : p_(p) {}
  int open_queue(core::Ifq&, uint32_t, uint32_t) override { return 0; }
  void close_queue(core::Ifq&) override {}
  void synchronize(core::Ifq&) override {}
  void return_niovs(core::Area&, const uint32_t* idx, uint32_t n) override {
    void* objs[kMaxBatch];
    while (n > 0) {
      const uint32_t k = n < kMaxBatch ? n : kMaxBatch;
      for (uint32_t i = 0; i < k; i++) objs[i] = p_.obj(idx[i]);
      rte_mempool_put_bulk(p_.pool(), objs, k);
      idx += k;
      n -= k;
    }
  }

 private:
  NiovPool& p_;
};

NiovPool* g_pool = nullptr;

void engine_mempool(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  MempoolProvider provider(*g_pool);
  EngineSetup s(provider, provider);
  void* objs[kMaxBatch];
  uint32_t idx[kMaxBatch];
  for (auto _ : state) {
    if (rte_mempool_get_bulk(g_pool->pool(), objs, n) != 0) {
      state.SkipWithError("mempool ran dry");
      break;
    }
    for (uint32_t i = 0; i < n; i++) idx[i] = *static_cast<uint32_t*>(objs[i]);
    if (!deliver_and_refill(s.ifq(), s.rq(), idx, n)) {
      state.SkipWithError("a buffer did not come back");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

void engine_burst_mempool(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  MempoolProvider provider(*g_pool);
  EngineSetup s(provider, provider);
  void* objs[kMaxBatch];
  uint32_t idx[kMaxBatch];
  uint32_t freed[kMaxBatch];
  for (auto _ : state) {
    if (rte_mempool_get_bulk(g_pool->pool(), objs, n) != 0) {
      state.SkipWithError("mempool ran dry");
      break;
    }
    for (uint32_t i = 0; i < n; i++) idx[i] = *static_cast<uint32_t*>(objs[i]);
    if (deliver_and_refill_burst(s.ifq(), s.rq(), idx, n, freed) != n) {
      state.SkipWithError("a buffer did not come back");
      break;
    }
    for (uint32_t i = 0; i < n; i++) objs[i] = g_pool->obj(freed[i]);
    rte_mempool_put_bulk(g_pool->pool(), objs, n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

void baseline_mempool(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  void* objs[kMaxBatch];
  for (auto _ : state) {
    if (rte_mempool_get_bulk(g_pool->pool(), objs, n) != 0) {
      state.SkipWithError("mempool ran dry");
      break;
    }
    benchmark::DoNotOptimize(objs);
    rte_mempool_put_bulk(g_pool->pool(), objs, n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}

// Starts a private, file-less EAL on one lcore; returns an error or "".
std::string start_eal() {
  std::string prefix = "--file-prefix=bench_core_" + std::to_string(getpid());
  const char* args[] = {"bench_core", "--no-huge", "--no-pci", "--no-shconf", "-l", "0",
                        "-m", "64", "--log-level=lib.*:error", prefix.c_str()};
  std::vector<char*> argv;
  for (const char* a : args) argv.push_back(const_cast<char*>(a));
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
    return std::string("rte_eal_init: ") + rte_strerror(rte_errno);
  return "";
}
#endif

// ---- report ----------------------------------------------------------------------------

// Records ns/buffer per case while printing the usual table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      // With --benchmark_repetitions the median stands for the case.
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type != Run::RT_Iteration && !median) continue;
      auto it = r.counters.find("items_per_second");
      if (it == r.counters.end() || it->second.value <= 0) continue;
      const std::string name = median ? r.run_name.str() : r.benchmark_name();
      if (median || medians_.count(name) == 0) ns_[name] = 1e9 / it->second.value;
      if (median) medians_.insert(name);
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void print_ratios() const {
    std::printf("\n%-36s %8s  %-24s %8s  %6s\n", "engine round trip", "ns/buf", "baseline",
                "ns/buf", "ratio");
    struct Pair {
      const char* engine;
      const char* baseline;
    };
    const Pair pairs[] = {{"roundtrip/engine+free_list", "baseline/free_list"},
                          {"roundtrip/engine_burst+free_list", "baseline/free_list"},
                          {"roundtrip/import_entry+free_list", "baseline/free_list"},
                          {"roundtrip/engine+free_list", "baseline/free_list+rq"},
                          {"roundtrip/engine_burst+free_list", "baseline/free_list+rq"},
                          {"roundtrip/engine+free_list", "baseline/plain_stack"},
                          {"roundtrip/engine+rte_mempool", "baseline/rte_mempool"},
                          {"roundtrip/engine_burst+rte_mempool", "baseline/rte_mempool"}};
    for (const Pair& p : pairs) {
      for (int batch : {1, 32}) {
        const std::string e = std::string(p.engine) + "/" + std::to_string(batch);
        const std::string b = std::string(p.baseline) + "/" + std::to_string(batch);
        auto ie = ns_.find(e), ib = ns_.find(b);
        if (ie == ns_.end() || ib == ns_.end()) continue;
        std::printf("%-36s %8.2f  %-24s %8.2f  %5.2fx%s\n", e.c_str(), ie->second, b.c_str(),
                    ib->second, ie->second / ib->second,
                    ie->second / ib->second <= 1.5 ? "" : "  (above the 1.5x target)");
      }
    }
  }

 private:
  std::map<std::string, double> ns_;
  std::set<std::string> medians_;
};

void register_all(bool mempool) {
  for (int64_t b : {1, 32}) {
    benchmark::RegisterBenchmark("roundtrip/engine+free_list", engine_free_list)->Arg(b);
    benchmark::RegisterBenchmark("roundtrip/engine_burst+free_list", engine_burst_free_list)
        ->Arg(b);
    benchmark::RegisterBenchmark("roundtrip/import_entry+free_list", engine_free_list_import)
        ->Arg(b);
    benchmark::RegisterBenchmark("baseline/free_list", baseline_free_list)->Arg(b);
    benchmark::RegisterBenchmark("baseline/free_list+rq", baseline_free_list_rq)->Arg(b);
    benchmark::RegisterBenchmark("baseline/plain_stack", baseline_plain_stack)->Arg(b);
#ifdef ZCRX_BENCH_DPDK
    if (mempool) {
      benchmark::RegisterBenchmark("roundtrip/engine+rte_mempool", engine_mempool)->Arg(b);
      benchmark::RegisterBenchmark("roundtrip/engine_burst+rte_mempool", engine_burst_mempool)
          ->Arg(b);
      benchmark::RegisterBenchmark("baseline/rte_mempool", baseline_mempool)->Arg(b);
    }
#else
    (void)mempool;
#endif
  }
}

void usage() {
  std::printf(
      "usage: bench_core [google benchmark flags]\n"
      "Per-buffer cost of the zcrx_core datapath (deliver + consumer RQE + refill)\n"
      "at batch 1 and 32, beside the bare buffer provider (free list; rte_mempool\n"
      "when built with DPDK) measured in the same run, then the ratios.\n"
      "Useful flags: --benchmark_filter=REGEX --benchmark_repetitions=N\n"
      "              --benchmark_min_time=SECONDS --benchmark_format=json\n");
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage();
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  bool mempool = false;
#ifdef ZCRX_BENCH_DPDK
  std::unique_ptr<NiovPool> pool;
  const std::string err = start_eal();
  if (err.empty()) {
    pool = std::make_unique<NiovPool>();
    if (pool->ok()) {
      g_pool = pool.get();
      mempool = true;
    } else {
      std::printf("rte_mempool cases left out: rte_mempool_create failed\n");
    }
  } else {
    std::printf("rte_mempool cases left out: %s\n", err.c_str());
  }
#else
  std::printf("rte_mempool cases left out: built without DPDK\n");
#endif

  register_all(mempool);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
#ifdef ZCRX_BENCH_DPDK
  pool.reset();
  if (err.empty()) rte_eal_cleanup();
#endif
  return 0;
}
