// SPDX-License-Identifier: MIT
// net_responder: the network layer of zcrxd's TCP endpoint on a real port,
// for the netns check (test_net_netns.sh): it owns --ip addresses on port
// 0, announces them (gratuitous ARP), answers ARP and ICMP echo, and
// with --probe-tcp sends one TCP SYN to HOST:PORT through the neighbour
// cache (held until ARP resolves the next hop), then reports what came
// back (a kernel answers a SYN to a closed port with RST|ACK, and only
// when our checksum is right). Prints "READY mac=M" once it polls and
// "RESULT {json}" at the end (--seconds, or SIGTERM/SIGINT).
//
// usage: net_responder [EAL options] -- --ip A.B.C.D/P [--ip ...]
//          [--gateway A.B.C.D] [--probe-tcp A.B.C.D:PORT] [--seconds N]
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "arp.h"
#include "eal_runtime.h"
#include "frame_tx.h"
#include "icmp.h"
#include "neighbor.h"
#include "net_config.h"
#include "tcp_wire.h"

using namespace zcrxd;

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }  // relaxed: a flag

struct Args {
  NetConfig net;
  uint32_t probe_addr = 0;
  uint16_t probe_port = 0;
  uint32_t seconds = 10;
};

int parse_args(int argc, char** argv, Args* a) {
  for (int i = 0; i < argc; i++) {
    const std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!v) {
      std::fprintf(stderr, "net_responder: %s needs a value\n", k.c_str());
      return -EINVAL;
    }
    i++;
    if (k == "--ip") {
      if (parse_ip_option(v, &a->net, stderr)) return -EINVAL;
    } else if (k == "--gateway") {
      if (parse_gateway_option(v, &a->net, stderr)) return -EINVAL;
    } else if (k == "--seconds") {
      a->seconds = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (k == "--probe-tcp") {
      const char* colon = std::strchr(v, ':');
      const std::string host = colon ? std::string(v, colon) : std::string(v);
      if (!colon || !parse_ipv4(host.c_str(), &a->probe_addr)) {
        std::fprintf(stderr, "net_responder: --probe-tcp A.B.C.D:PORT\n");
        return -EINVAL;
      }
      a->probe_port = static_cast<uint16_t>(std::strtoul(colon + 1, nullptr, 10));
    } else {
      std::fprintf(stderr, "net_responder: unknown option %s\n", k.c_str());
      return -EINVAL;
    }
  }
  if (a->net.n_addrs == 0) {
    std::fprintf(stderr, "net_responder: at least one --ip\n");
    return -EINVAL;
  }
  return check_net_config(a->net, stderr);
}

// The cache's host: requests go out through FrameTx, held frames are sent
// with their MAC or freed.
struct TxHost : NeighborHost {
  const NetConfig* net = nullptr;
  FrameTx* tx = nullptr;
  void send_request(uint32_t ip, const Mac* unicast) override {
    NextHop h;
    uint32_t src = net->addrs[0].addr;
    if (net->next_hop(ip, &h) == 0) src = h.src;
    tx->send_built([&](uint8_t* p, uint32_t room) {
      return write_arp_request(p, room, net->mac, src, ip, unicast);
    });
  }
  void release(void* frame, uint32_t, const Mac* mac, int result) override {
    auto* m = static_cast<rte_mbuf*>(frame);
    if (result != 0) {
      FrameTx::drop(m);
      return;
    }
    FrameTx::set_eth_dst(m, *mac);
    tx->send(m);
  }
};

uint64_t now_us() {
  // In two parts: cycles since boot times 10^6 would overflow in hours.
  const uint64_t c = rte_get_timer_cycles(), hz = rte_get_timer_hz();
  return c / hz * 1000000 + c % hz * 1000000 / hz;
}

// Everything between the EAL's start and its cleanup.
int run(Args& args) {
  const uint16_t port = 0;
  rte_ether_addr ea{};
  uint16_t mtu = 1500;
  rte_eth_macaddr_get(port, &ea);
  rte_eth_dev_get_mtu(port, &mtu);
  args.net.set_port(Mac::from(ea.addr_bytes), mtu);
  rte_mempool* rx_pool = rte_pktmbuf_pool_create("nr_rx", 4095, 128, 0, 4096, 0);
  rte_eth_conf conf{};
  if (!rx_pool || rte_eth_dev_configure(port, 1, 1, &conf) ||
      rte_eth_rx_queue_setup(port, 0, 512, 0, nullptr, rx_pool) ||
      rte_eth_tx_queue_setup(port, 0, 512, 0, nullptr) || rte_eth_dev_start(port)) {
    std::fprintf(stderr, "net_responder: port setup failed\n");
    return 1;
  }
  FrameTx tx;
  FrameTxConfig tcfg;
  tcfg.port = port;
  tcfg.frame_room = args.net.mtu + kEthHeaderLen;
  tcfg.pool_name = "nr_tx";
  if (tx.open(tcfg)) return 1;
  TxHost host;
  host.net = &args.net;
  host.tx = &tx;
  NeighborCache cache(NeighborConfig{}, host);
  Arp arp(args.net, cache);
  Icmp icmp(args.net);
  TcpWireStats tcp_st;

  for (uint32_t i = 0; i < args.net.n_addrs; i++) {
    tx.send_built([&](uint8_t* p, uint32_t room) {
      return write_gratuitous_arp(p, room, args.net.mac, args.net.addrs[i].addr);
    });
  }
  // One SYN to the probe address, held until its next hop resolves.
  const uint32_t iss = 0x12345678;
  const char* probe_state = "none";
  if (args.probe_addr) {
    NextHop h;
    if (args.net.next_hop(args.probe_addr, &h)) {
      probe_state = "unreachable";
    } else {
      zcrx::tcp::TxSegment s;
      s.tuple.local = {h.src, 40123};
      s.tuple.remote = {args.probe_addr, args.probe_port};
      s.seq = iss;
      s.flags = zcrx::tcp::kSyn;
      s.window = 65535;
      s.opts.mss = args.net.tcp_mss();
      TcpFrame f;
      rte_mbuf* m = tx.tcp_begin(f, s, args.net.mac, Mac{}) == 0 ? tx.tcp_finish(f) : nullptr;
      Mac mac;
      const int rc = m ? cache.resolve(h.addr, now_us(), m, &mac) : -ENOBUFS;
      if (rc == 0) {
        FrameTx::set_eth_dst(m, mac);
        tx.send(m);
      } else if (rc != NeighborCache::kHeld && m) {
        FrameTx::drop(m);
      }
      probe_state = "sent";
    }
  }
  tx.flush();
  char mac_text[18];
  const Mac& mm = args.net.mac;
  std::snprintf(mac_text, sizeof(mac_text), "%02x:%02x:%02x:%02x:%02x:%02x", mm.b[0], mm.b[1],
                mm.b[2], mm.b[3], mm.b[4], mm.b[5]);
  std::printf("READY mac=%s\n", mac_text);
  std::fflush(stdout);

  uint64_t tcp_in = 0, tcp_bad_csum = 0, icmp_options_answered = 0;
  const uint64_t end = now_us() + uint64_t{args.seconds} * 1000000;
  while (!g_stop.load(std::memory_order_relaxed) && now_us() < end) {
    rte_mbuf* pkts[32];
    const uint16_t n = rte_eth_rx_burst(port, 0, pkts, 32);
    const uint64_t now = now_us();
    for (uint16_t i = 0; i < n; i++) {
      rte_mbuf* m = pkts[i];
      const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
      const uint32_t len = m->data_len;
      if (len >= kEthHeaderLen && eth_type(f) == kEtherTypeArp) {
        tx.send_built([&](uint8_t* p, uint32_t room) { return arp.input(f, len, now, p, room); });
      } else if (len >= kEthHeaderLen + 20 && eth_type(f) == kEtherTypeIpv4 &&
                 eth_dst(f) == args.net.mac) {
        const uint8_t* ip = f + kEthHeaderLen;
        if (ip[9] == kIpProtoIcmp) {
          const bool options = (ip[0] & 0xfu) > 5;
          if (tx.send_built([&](uint8_t* p, uint32_t room) { return icmp.input(f, len, p, room); }))
            icmp_options_answered += options;
        } else if (ip[9] == kIpProtoTcp) {
          const uint32_t ihl = (ip[0] & 0xfu) * 4u;
          const uint32_t total = load_be16(ip + 2);
          zcrx::tcp::RxSegment seg;
          TcpParsed info;
          if (total > ihl && kEthHeaderLen + total <= len &&
              parse_tcp(f, len, kEthHeaderLen + ihl, total - ihl, load_be32(ip + 12),
                        load_be32(ip + 16), &seg, &info, tcp_st) == 0) {
            tcp_in++;
            if (!tcp_checksum_ok(f + kEthHeaderLen + ihl, total - ihl, load_be32(ip + 12),
                                 load_be32(ip + 16))) {
              tcp_bad_csum++;
            } else if (seg.tuple.remote.addr == args.probe_addr &&
                       seg.tuple.remote.port == args.probe_port && seg.ack == iss + 1) {
              if ((seg.flags & (zcrx::tcp::kRst | zcrx::tcp::kAck)) ==
                  (zcrx::tcp::kRst | zcrx::tcp::kAck))
                probe_state = "rst";
              else if ((seg.flags & (zcrx::tcp::kSyn | zcrx::tcp::kAck)) ==
                       (zcrx::tcp::kSyn | zcrx::tcp::kAck))
                probe_state = "synack";
            }
          }
        }
      }
      rte_pktmbuf_free(m);
    }
    cache.poll(now);
    tx.flush();
  }

  const ArpStats& a = arp.stats();
  const IcmpStats& c = icmp.stats();
  const NeighborStats& ns = cache.stats();
  const FrameTxStats& t = tx.stats();
  std::printf(
      "RESULT {\"arp_received\":%lu,\"arp_requests_answered\":%lu,\"arp_replies_learnt\":%lu,"
      "\"arp_requests_learnt\":%lu,\"arp_not_for_us\":%lu,\"arp_malformed\":%lu,"
      "\"icmp_received\":%lu,\"icmp_echo_replies\":%lu,\"icmp_bad_checksum\":%lu,"
      "\"icmp_with_ip_options\":%lu,"
      "\"neigh_resolved\":%lu,\"neigh_held_sent\":%lu,\"neigh_failed\":%lu,"
      "\"tcp_in\":%lu,\"tcp_bad_checksum\":%lu,\"probe\":\"%s\",\"tx_sent\":%lu,"
      "\"tx_dropped\":%lu,\"tx_pool_empty\":%lu}\n",
      a.received.get(), a.requests_answered.get(), a.replies_learnt.get(),
      a.requests_learnt.get(), a.not_for_us.get(), a.malformed.get(), c.received.get(),
      c.echo_replies.get(), c.bad_checksum.get(), icmp_options_answered, ns.resolved.get(),
      ns.held_sent.get(), ns.failed.get(), tcp_in, tcp_bad_csum, probe_state, t.sent.get(),
      t.dropped_full.get(), t.pool_empty.get());
  std::fflush(stdout);
  cache.flush();
  rte_eth_dev_stop(port);
  rte_eth_dev_close(port);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int eal = rte_eal_init(argc, argv);
  if (eal < 0) {
    std::fprintf(stderr, "net_responder: EAL init failed\n");
    return 77;
  }
  Args args;
  if (parse_args(argc - eal - 1, argv + eal + 1, &args)) return 2;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  const int rc = run(args);
  eal_cleanup_all();
  return rc;
}
