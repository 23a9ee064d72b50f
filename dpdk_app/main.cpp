// SPDX-License-Identifier: MIT
// zcrxd entry point: EAL with the user's arguments, zcrxd's own options
// after `--`, the served port, the datapath (a worker lcore when the EAL
// has one, else the main lcore) and the control thread.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <thread>

#include "control.h"
#include "datapath.h"
#include "options.h"
#include "port.h"
#include "stats.h"

namespace {

int datapath_main(void* arg) {
  static_cast<zcrxd::Datapath*>(arg)->run();
  return 0;
}

struct StopCtx {
  zcrxd::Datapath* dp;
  unsigned lcore;  // RTE_MAX_LCORE: runs on the main thread
  std::thread* main_loop;
};

void stop_datapath(void* arg) {
  auto* c = static_cast<StopCtx*>(arg);
  c->dp->stop();
  if (c->lcore < RTE_MAX_LCORE) rte_eal_wait_lcore(c->lcore);
  else if (c->main_loop && c->main_loop->joinable()) c->main_loop->join();
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
    rte_eal_cleanup();
    return 2;
  }
  Port port;
  if (port.open({opt.port, opt.queue, opt.rx_desc})) {
    rte_eal_cleanup();
    return 1;
  }
  DpStats stats;
  DatapathConfig dcfg;
  dcfg.port = port.id();
  dcfg.queue = port.queue();
  dcfg.burst = opt.burst;
  dcfg.rx_gate = opt.rx_gate;
  dcfg.rx_timestamp = opt.rx_timestamp;
  dcfg.gate_on_free_buffers = port.is_virtual();
  int rc = 0;
  {
    Datapath dp(dcfg, stats);
    Control control(opt, port, dp, stats);
    if (control.listen_socket()) {
      rc = 1;
    } else {
      int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
      unsigned worker = rte_get_next_lcore(-1, 1, 0);
      std::thread main_loop;
      StopCtx sc{&dp, RTE_MAX_LCORE, &main_loop};
      if (worker < RTE_MAX_LCORE && rte_eal_remote_launch(datapath_main, &dp, worker) == 0) {
        sc.lcore = worker;
      } else {
        // One lcore: the datapath gets a thread of its own, registered with
        // the EAL so it has an lcore id and with it per-lcore mempool caches.
        main_loop = std::thread([&dp] {
          bool registered = rte_thread_register() == 0;
          dp.run();
          if (registered) rte_thread_unregister();
        });
      }
      std::printf("zcrxd: ready socket=%s port=%u queue=%u driver=%s lcore=%s\n",
                  opt.socket_path.c_str(), port.id(), port.queue(), port.driver(),
                  sc.lcore < RTE_MAX_LCORE ? "worker" : "thread");
      std::fflush(stdout);
      control.run(sfd, stop_datapath, &sc);
      close(sfd);
      // Sessions are gone (every buffer users held was reclaimed); what the
      // PMD still holds comes back when the port closes.
      port.close();
      int missing = control.release_areas();
      std::printf("zcrxd: exit outstanding=%" PRIu64 " missing=%d\n",
                  control.outstanding(), missing);
      std::fflush(stdout);
      if (missing) rc = 3;
    }
  }
  port.close();
  rte_eal_cleanup();
  return rc;
}
