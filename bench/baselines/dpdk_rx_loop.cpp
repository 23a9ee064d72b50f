// SPDX-License-Identifier: MIT
// dpdk_rx_loop (baseline A, the ceiling): the least a DPDK application can
// do with a packet. rte_eth_rx_burst, read the first and last payload byte,
// rte_pktmbuf_free_bulk; no handoff, no classification, no completion.
// Source: an EAL --vdev (net_null0,size=N) or, with --ring-gen, a net_ring
// port that a generator on the second lcore fills.
#include <getopt.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench_common.h"
#include "dpdk_source.h"

namespace {

using namespace zcrx::bench;

struct Options {
  double duration = 2.0;
  unsigned burst = 32;
  unsigned data_room = 2048;
  unsigned nb_mbufs = 8191;
  bool ring_gen = false;
  uint32_t pkt_size = 64;
};

void usage(FILE* f) {
  fprintf(f,
          "usage: dpdk_rx_loop [EAL args] -- [options]\n"
          "Baseline A: receive, read first/last byte, free. No handoff.\n"
          "  --duration S     seconds to measure (default 2)\n"
          "  --burst N        rx burst size (default 32, max 256)\n"
          "  --data-room N    mbuf data bytes (default 2048; net_null needs >= size)\n"
          "  --mbufs N        mbufs in the pool (default 8191)\n"
          "  --ring-gen       source = net_ring fed by a generator on the next lcore\n"
          "                   (needs two lcores, e.g. -l 0,1)\n"
          "  --pkt-size N     generator packet bytes (default 64; chained if > data room)\n"
          "  --help           this text\n"
          "Without --ring-gen the first ethdev port is used (e.g. --vdev net_null0,size=64).\n"
          "Final line: RESULT {json} with packets, bytes, elapsed_s, mpps, gbps,\n"
          "cpu_user_s, cpu_sys_s (process), rx_cpu_s (receive thread).\n");
}

bool parse(int argc, char** argv, Options* o) {
  static const option longopts[] = {
      {"duration", required_argument, nullptr, 't'}, {"burst", required_argument, nullptr, 'b'},
      {"data-room", required_argument, nullptr, 'd'}, {"mbufs", required_argument, nullptr, 'm'},
      {"ring-gen", no_argument, nullptr, 'g'},       {"pkt-size", required_argument, nullptr, 's'},
      {"help", no_argument, nullptr, 'h'},           {nullptr, 0, nullptr, 0}};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 't': o->duration = atof(optarg); break;
      case 'b': o->burst = static_cast<unsigned>(atoi(optarg)); break;
      case 'd': o->data_room = static_cast<unsigned>(atoi(optarg)); break;
      case 'm': o->nb_mbufs = static_cast<unsigned>(atoi(optarg)); break;
      case 'g': o->ring_gen = true; break;
      case 's': o->pkt_size = static_cast<uint32_t>(atoi(optarg)); break;
      case 'h': usage(stdout); exit(0);
      default: return false;
    }
  }
  return o->duration > 0 && o->burst >= 1 && o->burst <= 256 && o->data_room >= 64 &&
         o->data_room <= 65000 && o->pkt_size >= 1 && o->pkt_size <= 65000;
}

}  // namespace

int main(int argc, char** argv) {
  int eal = init_eal(argc, argv, "dpdk_rx_loop", usage);
  if (eal == kEalHelpShown) return 0;
  if (eal < 0) return 1;
  argc -= eal;
  argv += eal;
  Options o;
  if (!parse(argc, argv, &o)) {
    usage(stderr);
    rte_eal_cleanup();
    return 2;
  }
  install_stop_handlers();

  rte_mempool* pool = create_pool("bench_a_pool", o.nb_mbufs, o.data_room);
  if (!pool) {
    fprintf(stderr, "dpdk_rx_loop: mempool: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  static RingGenerator gen;  // static: lives as long as the worker lcore
  unsigned gen_lcore = RTE_MAX_LCORE;
  int port;
  if (o.ring_gen) {
    gen_lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
    if (gen_lcore >= RTE_MAX_LCORE) {
      fprintf(stderr, "dpdk_rx_loop: --ring-gen needs a second lcore (-l 0,1)\n");
      return 2;
    }
    port = gen.create("bench_a_ring", pool, o.pkt_size);
    if (port < 0) {
      fprintf(stderr, "dpdk_rx_loop: net_ring port: %s\n", strerror(-port));
      return 1;
    }
  } else {
    if (rte_eth_dev_count_avail() == 0) {
      fprintf(stderr, "dpdk_rx_loop: no ethdev port (give --vdev net_null0,size=64)\n");
      return 2;
    }
    port = static_cast<int>(rte_eth_find_next(0));
  }
  int ret = start_port(static_cast<uint16_t>(port), pool, 1024);
  if (ret < 0) {
    fprintf(stderr, "dpdk_rx_loop: port %d: %s\n", port, strerror(-ret));
    return 1;
  }
  if (o.ring_gen) rte_eal_remote_launch(RingGenerator::run, &gen, gen_lcore);
  printf("dpdk_rx_loop: ready port=%d\n", port);
  fflush(stdout);

  rte_mbuf* bufs[256];
  uint64_t packets = 0, bytes = 0, touch = 0;
  const uint64_t hz = rte_get_tsc_hz();
  const CpuTimes thread0 = cpu_times(RUSAGE_THREAD);
  const uint64_t t0 = rte_rdtsc();
  const uint64_t t_end = t0 + static_cast<uint64_t>(o.duration * static_cast<double>(hz));
  uint64_t now = t0;
  const uint16_t qport = static_cast<uint16_t>(port);
  while (!stop_requested()) {
    uint16_t n = rte_eth_rx_burst(qport, 0, bufs, static_cast<uint16_t>(o.burst));
    for (uint16_t i = 0; i < n; i++) {
      touch += touch_first_last(bufs[i]);
      bytes += bufs[i]->pkt_len;
    }
    if (n) rte_pktmbuf_free_bulk(bufs, n);
    packets += n;
    now = rte_rdtsc();
    if (now >= t_end) break;
  }
  const double elapsed = static_cast<double>(now - t0) / static_cast<double>(hz);
  const CpuTimes thread1 = cpu_times(RUSAGE_THREAD);
  if (o.ring_gen) {
    gen.stop.store(true, std::memory_order_relaxed);  // relaxed: one-way flag
    rte_eal_wait_lcore(gen_lcore);
  }
  rte_eth_dev_stop(qport);
  rte_eth_dev_close(qport);

  JsonLine j;
  j.str("prog", "dpdk_rx_loop")
      .str("source", o.ring_gen ? "net_ring+generator" : "ethdev")
      .integer("packets", packets)
      .integer("bytes", bytes)
      .num("elapsed_s", elapsed)
      .num("mpps", static_cast<double>(packets) / elapsed / 1e6)
      .num("gbps", static_cast<double>(bytes) * 8 / elapsed / 1e9)
      .integer("touch", touch & 0xffff)
      .num("rx_cpu_s", (thread1.user_s + thread1.sys_s) - (thread0.user_s + thread0.sys_s))
      .integer("generated", gen.generated)
      .cpu(cpu_times());
  j.print();
  rte_eal_cleanup();
  return 0;
}
