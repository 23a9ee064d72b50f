// SPDX-License-Identifier: MIT
// zcrxd entry point: EAL with the user's arguments, zcrxd's own options
// after `--`, the served port, one datapath per served queue (on the k-th
// worker lcore, or on an EAL-registered thread when the workers run out)
// and the control thread.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cinttypes>
#include <cstring>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control.h"
#include "datapath.h"
#include "eal_runtime.h"
#include "inject.h"
#include "options.h"
#include "port.h"
#include "queue_set.h"
#include "stats.h"

namespace {

int datapath_main(void* arg) {
  static_cast<zcrxd::Datapath*>(arg)->run();
  return 0;
}

// Where one queue's datapath runs: a worker lcore, or (when the EAL has
// fewer workers than queues) a thread registered with the EAL so it has an
// lcore id and with it per-lcore mempool caches.
struct Runner {
  zcrxd::Datapath* dp = nullptr;
  unsigned lcore = RTE_MAX_LCORE;  // RTE_MAX_LCORE: a thread of its own
  std::thread thread;

  void start(unsigned worker) {
    if (worker < RTE_MAX_LCORE && rte_eal_remote_launch(datapath_main, dp, worker) == 0) {
      lcore = worker;
      return;
    }
    zcrxd::Datapath* d = dp;
    thread = std::thread([d] {
      bool registered = rte_thread_register() == 0;
      d->run();
      if (registered) rte_thread_unregister();
    });
  }
  void stop() {
    dp->stop();
  }
  void join() {
    if (lcore < RTE_MAX_LCORE) rte_eal_wait_lcore(lcore);
    else if (thread.joinable()) thread.join();
  }
};

struct StopCtx {
  std::vector<Runner>* runners;
  zcrxd::Injector* injector;  // may be null
};

// Control's shutdown: no more frames in, then every datapath ends.
void stop_datapaths(void* arg) {
  auto* c = static_cast<StopCtx*>(arg);
  if (c->injector) c->injector->stop();
  for (Runner& r : *c->runners) r.stop();
  for (Runner& r : *c->runners) r.join();
}

// Every connection costs zcrxd a few descriptors (its socket, its ring
// memfd, its eventfd's io_uring), every export box one, every area one:
// take the whole hard limit, and say so when the configured limits could
// still run into it (accept then backs off; see Control::accept_session).
void raise_fd_limit(const zcrxd::LimitConfig& lim) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  const uint64_t want = 3ull * lim.max_rings + lim.max_exports + 256;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
    std::fprintf(stderr,
                 "zcrxd: descriptor limit %llu is below the %llu that --max-rings %u and "
                 "--max-exports %u may need\n",
                 static_cast<unsigned long long>(rl.rlim_cur),
                 static_cast<unsigned long long>(want), lim.max_rings, lim.max_exports);
}

std::string queue_list(const std::vector<uint16_t>& q) {
  std::string s;
  for (size_t i = 0; i < q.size(); i++) s += (i ? "," : "") + std::to_string(q[i]);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace zcrxd;
  if (wants_help(argc, argv)) {
    print_usage(stdout);
    return 0;
  }
  // Every thread (EAL's included) inherits the mask: only the control
  // thread takes SIGINT/SIGTERM, through a signalfd.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  // A shell starts background jobs with SIGINT ignored; an ignored signal
  // is discarded before a signalfd can see it.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    std::fprintf(stderr, "zcrxd: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  Options opt;
  if (parse_options(argc - consumed, argv + consumed, &opt, stderr)) {
    eal_cleanup_all();
    return 2;
  }
  raise_fd_limit(opt.limits);
  Device dev;
  PortConfig pcfg;
  pcfg.port = opt.port;
  pcfg.queues = opt.queues;
  pcfg.rx_desc = opt.rx_desc;
  pcfg.burst = opt.burst;
  pcfg.copy_mode = opt.copy_mode;
  pcfg.rx_csum_offload = opt.rx_csum == RxCsum::kAuto;
  // A finite source (--rx-gate) must not be rewound by a restart.
  pcfg.start_when_all_bound = opt.rx_gate > 0;
  pcfg.tcp = opt.net.n_addrs > 0;
  if (pcfg.tcp && !opt.inject_path.empty()) {
    // Both would transmit on TX queue 0 from different threads.
    std::fprintf(stderr, "zcrxd: --inject and --ip cannot be combined\n");
    eal_cleanup_all();
    return 2;
  }
  if (dev.open(pcfg)) {
    dev.close();
    eal_cleanup_all();
    return 1;
  }
  std::unique_ptr<Injector> injector;
  if (!opt.inject_path.empty()) {
    injector = std::make_unique<Injector>();
    InjectConfig icfg;
    icfg.port = dev.id();
    icfg.path = opt.inject_path;
    icfg.loops = opt.inject_loops;
    icfg.socket = dev.socket();
    if (!dev.has_tx_queue())
      std::fprintf(stderr, "zcrxd: --inject: port %u has no TX queue\n", dev.id());
    if (!dev.has_tx_queue() || injector->open(icfg)) {
      injector.reset();
      dev.close();
      eal_cleanup_all();
      return 1;
    }
  }
  // One datapath (and its counters) per served queue.
  std::vector<std::unique_ptr<ServedQueue>> queues;
  std::vector<ServedQueue*> served;
  for (uint32_t k = 0; k < dev.num_queues(); k++) {
    DatapathConfig dcfg;
    dcfg.port = dev.id();
    dcfg.queue = dev.queue(k).queue();
    dcfg.burst = opt.burst;
    dcfg.rx_gate = opt.rx_gate;
    dcfg.rx_timestamp = opt.rx_timestamp;
    dcfg.gate_on_free_buffers = dev.is_virtual();
    dcfg.sq_idle_ms = opt.sq_idle_ms;
    dcfg.max_rings = opt.limits.max_rings;
    dcfg.rx_csum = opt.rx_csum;
    dcfg.reassembly.max_datagrams = opt.frag_max;
    dcfg.reassembly.timeout_ms = opt.frag_timeout_ms;
    // PMDs over a local interface that do not report partial checksums.
    const std::string drv = dev.driver();
    dcfg.partial_csum_hint = drv == "net_af_packet" || drv == "net_af_xdp";
    queues.push_back(std::make_unique<ServedQueue>(dev.queue(k), dcfg));
    served.push_back(queues.back().get());
    if (pcfg.tcp) {
      TcpStackConfig tc;
      tc.port = dev.id();
      tc.tx_queue = dcfg.queue;
      tc.socket = dev.socket();
      tc.net = opt.net;
      tc.tcp = opt.tcp;
      tc.tx_offloads = dev.tx_offloads();
      tc.rx_csum = opt.rx_csum;
      tc.name = std::to_string(dev.id()) + "_" + std::to_string(dcfg.queue);
      tc.dp_stats = &queues.back()->stats;
      tc.rss = &dev.rss();
      int err = 0;
      std::unique_ptr<TcpStack> stack = TcpStack::create(tc, &err);
      if (!stack) {
        std::fprintf(stderr, "zcrxd: TCP endpoint of queue %u: %s\n", dcfg.queue,
                     strerror(-err));
        queues.clear();
        dev.close();
        eal_cleanup_all();
        return 1;
      }
      queues.back()->dp.set_tcp(std::move(stack));
    }
  }
  int rc = 0;
  {
    Control control(opt, dev, served);
    control.set_injector(injector.get());
    if (control.listen_socket()) {
      rc = 1;
    } else {
      int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
      std::vector<Runner> runners(queues.size());
      unsigned worker = rte_get_next_lcore(-1, 1, 0);
      unsigned on_workers = 0;
      for (size_t k = 0; k < queues.size(); k++) {
        runners[k].dp = &queues[k]->dp;
        runners[k].start(worker);
        if (runners[k].lcore < RTE_MAX_LCORE) {
          on_workers++;
          worker = rte_get_next_lcore(worker, 1, 0);
        } else {
          worker = RTE_MAX_LCORE;  // no more workers: threads for the rest
        }
      }
      const char* where = on_workers == queues.size() ? "worker"
                          : on_workers == 0           ? "thread"
                                                      : "worker+thread";
      // mode: copy (every queue copies, --copy-mode always), zero-copy
      // (off), or auto (decided per queue when its area is bound; a queue
      // that falls back to copy mode says so then).
      const char* mode = opt.copy_mode == CopyMode::kAlways ? "copy"
                         : opt.copy_mode == CopyMode::kOff  ? "zero-copy"
                                                            : "auto";
      std::printf("zcrxd: ready socket=%s port=%u queue=%u queues=%s driver=%s lcore=%s "
                  "mode=%s\n",
                  opt.socket_path.c_str(), dev.id(), opt.queues.front(),
                  queue_list(opt.queues).c_str(), dev.driver(), where, mode);
      std::fflush(stdout);
      if (injector) injector->start();  // transmits once an area is bound
      StopCtx stop{&runners, injector.get()};
      control.run(sfd, stop_datapaths, &stop);
      close(sfd);
      // Sessions are gone (every buffer users held was reclaimed); what the
      // PMD still holds comes back when the port closes.
      dev.close();
      int missing = control.release_areas();
      std::printf("zcrxd: exit outstanding=%" PRIu64 " missing=%d per_queue=%s\n",
                  control.outstanding(), missing, control.outstanding_per_queue().c_str());
      std::fflush(stdout);
      if (missing) rc = 3;
    }
  }
  if (injector) injector->stop();
  dev.close();
  injector.reset();  // its pool, once the port no longer holds its mbufs
  queues.clear();    // datapaths free their reassembly tables in EAL memory
  eal_cleanup_all();
  return rc;
}
