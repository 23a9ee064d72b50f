// SPDX-License-Identifier: MIT
// zcrxd entry point: EAL, the served port, the datapath lcore and the
// control thread.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "options.h"
#include "port.h"
#include "stats.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  using namespace zcrxd;
  if (wants_help(argc, argv)) {
    print_usage(stdout);
    return 0;
  }
  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    std::fprintf(stderr, "zcrxd: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  Options opt;
  if (parse_options(argc - consumed, argv + consumed, &opt, stderr)) return 2;
  Port port;
  if (port.open({opt.port, opt.queue, opt.rx_desc})) return 1;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("zcrxd: ready socket=%s\n", opt.socket_path.c_str());
  std::fflush(stdout);
  DpStats st;
  rte_mbuf* pkts[kMaxBurst];
  while (!g_stop) {
    uint16_t n = rte_eth_rx_burst(port.id(), port.queue(), pkts,
                                  static_cast<uint16_t>(opt.burst));
    st.rx.add(n);
    st.dropped_no_flow.add(n);
    rte_pktmbuf_free_bulk(pkts, n);
  }
  std::printf("zcrxd: stats rx=%lu dropped_no_flow=%lu\n",
              (unsigned long)st.rx.get(), (unsigned long)st.dropped_no_flow.get());
  port.close();
  rte_eal_cleanup();
  return 0;
}
