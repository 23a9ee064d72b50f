// SPDX-License-Identifier: MIT
// dpdk_mp_handoff (baseline B): the classic DPDK multi-process design. The
// primary receives from the port and enqueues the mbuf pointers into a
// named rte_ring; a secondary process (--proc-type=secondary, same
// --file-prefix) dequeues them, reads the first and last payload byte and
// frees the mbufs back to the shared pool. This is what zcrxd's handoff to
// consumer processes competes with.
//
//   primary:   dpdk_mp_handoff -l 0 --file-prefix P --vdev net_null0,size=64 -- --role primary
//   secondary: dpdk_mp_handoff -l 1 --file-prefix P --proc-type=secondary -- --role secondary
#include <getopt.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_common.h"
#include "dpdk_source.h"

namespace {

using namespace zcrx::bench;

constexpr const char* kRingName = "zb_handoff";

struct Options {
  std::string role;
  double duration = 0;  // primary: 0 = until SIGINT; secondary: default 2
  unsigned burst = 32;
  unsigned data_room = 2048;
  unsigned nb_mbufs = 16383;
  unsigned ring_size = 4096;
};

void usage(FILE* f) {
  fprintf(f,
          "usage: dpdk_mp_handoff [EAL args] -- --role primary|secondary [options]\n"
          "Baseline B: primary rx_burst -> rte_ring '%s' -> secondary reads\n"
          "first/last byte and frees. Run both with the same --file-prefix; the\n"
          "secondary with --proc-type=secondary and another lcore.\n"
          "  --role R         primary or secondary (required)\n"
          "  --duration S     seconds to run (primary default: until SIGINT;\n"
          "                   secondary default 2)\n"
          "  --burst N        burst size (default 32, max 256)\n"
          "  --data-room N    primary: mbuf data bytes (default 2048)\n"
          "  --mbufs N        primary: mbufs in the pool (default 16383)\n"
          "  --ring-size N    primary: handoff ring entries, power of two (default 4096)\n"
          "  --help           this text\n"
          "The primary prints 'dpdk_mp_handoff: ready' once the ring exists.\n"
          "Final line: RESULT {json}; primary: received, enqueued, dropped;\n"
          "secondary: packets, bytes, elapsed_s, mpps, cpu_user_s, cpu_sys_s.\n",
          kRingName);
}

bool parse(int argc, char** argv, Options* o) {
  static const option longopts[] = {
      {"role", required_argument, nullptr, 'r'},      {"duration", required_argument, nullptr, 't'},
      {"burst", required_argument, nullptr, 'b'},     {"data-room", required_argument, nullptr, 'd'},
      {"mbufs", required_argument, nullptr, 'm'},     {"ring-size", required_argument, nullptr, 'R'},
      {"help", no_argument, nullptr, 'h'},            {nullptr, 0, nullptr, 0}};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 'r': o->role = optarg; break;
      case 't': o->duration = atof(optarg); break;
      case 'b': o->burst = static_cast<unsigned>(atoi(optarg)); break;
      case 'd': o->data_room = static_cast<unsigned>(atoi(optarg)); break;
      case 'm': o->nb_mbufs = static_cast<unsigned>(atoi(optarg)); break;
      case 'R': o->ring_size = static_cast<unsigned>(atoi(optarg)); break;
      case 'h': usage(stdout); exit(0);
      default: return false;
    }
  }
  if (o->role == "secondary" && o->duration <= 0) o->duration = 2.0;
  bool pow2 = o->ring_size && (o->ring_size & (o->ring_size - 1)) == 0;
  return (o->role == "primary" || o->role == "secondary") && o->burst >= 1 && o->burst <= 256 &&
         o->data_room >= 64 && o->data_room <= 65000 && pow2;
}

int run_primary(const Options& o) {
  rte_mempool* pool = create_pool("zb_handoff_pool", o.nb_mbufs, o.data_room);
  if (!pool) {
    fprintf(stderr, "dpdk_mp_handoff: mempool: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  // One producer (this lcore), one consumer (the secondary's lcore).
  rte_ring* ring = rte_ring_create(kRingName, o.ring_size, static_cast<int>(rte_socket_id()),
                                   RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!ring) {
    fprintf(stderr, "dpdk_mp_handoff: ring: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  if (rte_eth_dev_count_avail() == 0) {
    fprintf(stderr, "dpdk_mp_handoff: no ethdev port (give --vdev net_null0,size=64)\n");
    return 2;
  }
  const uint16_t port = static_cast<uint16_t>(rte_eth_find_next(0));
  int ret = start_port(port, pool, 1024);
  if (ret < 0) {
    fprintf(stderr, "dpdk_mp_handoff: port %u: %s\n", port, strerror(-ret));
    return 1;
  }
  printf("dpdk_mp_handoff: ready port=%u ring=%s\n", port, kRingName);
  fflush(stdout);

  rte_mbuf* bufs[256];
  uint64_t received = 0, enqueued = 0, dropped = 0;
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t t0 = rte_rdtsc();
  const uint64_t t_end = o.duration > 0 ? t0 + static_cast<uint64_t>(o.duration * static_cast<double>(hz)) : UINT64_MAX;
  while (!stop_requested()) {
    uint16_t n = rte_eth_rx_burst(port, 0, bufs, static_cast<uint16_t>(o.burst));
    if (n) {
      unsigned done = rte_ring_sp_enqueue_burst(ring, reinterpret_cast<void**>(bufs), n, nullptr);
      if (done < n) rte_pktmbuf_free_bulk(&bufs[done], n - done);
      received += n;
      enqueued += done;
      dropped += n - done;
    }
    if (rte_rdtsc() >= t_end) break;
  }
  const double elapsed = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(hz);
  rte_eth_dev_stop(port);
  JsonLine j;
  j.str("prog", "dpdk_mp_handoff")
      .str("role", "primary")
      .integer("received", received)
      .integer("enqueued", enqueued)
      .integer("dropped", dropped)
      .num("elapsed_s", elapsed)
      .cpu(cpu_times());
  j.print();
  // Drain what the secondary left so the pool balances before exit.
  void* left[256];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(ring, left, 256, nullptr)) > 0)
    rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(left), n);
  rte_eth_dev_close(port);
  return 0;
}

int run_secondary(const Options& o) {
  rte_ring* ring = nullptr;
  // The primary may still be starting: look the ring up for a while.
  for (int i = 0; i < 200 && !ring && !stop_requested(); i++) {
    ring = rte_ring_lookup(kRingName);
    if (!ring) rte_delay_ms(10);
  }
  if (!ring) {
    fprintf(stderr, "dpdk_mp_handoff: no ring %s (is the primary running?)\n", kRingName);
    return 1;
  }
  printf("dpdk_mp_handoff: secondary attached\n");
  fflush(stdout);
  void* bufs[256];
  uint64_t packets = 0, bytes = 0, touch = 0;
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t t0 = rte_rdtsc();
  const uint64_t t_end = t0 + static_cast<uint64_t>(o.duration * static_cast<double>(hz));
  uint64_t now = t0;
  while (!stop_requested()) {
    unsigned n = rte_ring_sc_dequeue_burst(ring, bufs, o.burst, nullptr);
    auto** m = reinterpret_cast<rte_mbuf**>(bufs);
    for (unsigned i = 0; i < n; i++) {
      touch += touch_first_last(m[i]);
      bytes += m[i]->pkt_len;
    }
    if (n) rte_pktmbuf_free_bulk(m, n);
    packets += n;
    now = rte_rdtsc();
    if (now >= t_end) break;
  }
  const double elapsed = static_cast<double>(now - t0) / static_cast<double>(hz);
  JsonLine j;
  j.str("prog", "dpdk_mp_handoff")
      .str("role", "secondary")
      .integer("packets", packets)
      .integer("bytes", bytes)
      .num("elapsed_s", elapsed)
      .num("mpps", static_cast<double>(packets) / elapsed / 1e6)
      .num("gbps", static_cast<double>(bytes) * 8 / elapsed / 1e9)
      .integer("touch", touch & 0xffff)
      .cpu(cpu_times());
  j.print();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int eal = init_eal(argc, argv, "dpdk_mp_handoff", usage);
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
  int rc = o.role == "primary" ? run_primary(o) : run_secondary(o);
  rte_eal_cleanup();
  return rc;
}
