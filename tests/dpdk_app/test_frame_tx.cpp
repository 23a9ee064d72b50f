// SPDX-License-Identifier: MIT
// FrameTx under a real EAL over an in-process net_ring port, whose TX
// comes back on its RX: ARP, ICMP and TCP frames return byte-exact with
// checksums right by the reference sum (payload appended in pieces of odd
// lengths, the sum fused into the copy); with TX checksum offload, the
// mbuf flags, header lengths and DPDK's own pseudo-header sum; a full TX
// ring keeps frames for the next flush and then drops, an empty pool
// refuses, and every mbuf comes back to the pool. Over net_tap (root
// only), whose TX checksum offload is real, the kernel receives TCP frames
// with complete checksums.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "arp.h"
#include "eal_doctest_main.h"
#include "frame_tx.h"
#include "icmp.h"
#include "net_test_util.h"
#include "tcp_wire.h"

using namespace zcrxd;
using zcrx::tcp::TxSegment;
using zcrxd::test::Bytes;
using zcrxd::test::get16;
using zcrxd::test::ip4;
using zcrxd::test::kOurMac;
using zcrxd::test::kOurs;
using zcrxd::test::kPeer;
using zcrxd::test::kPeerMac;
using zcrxd::test::ref_checksum;
using zcrxd::test::ref_sum;
using zcrxd::test::slice;
using zcrxd::test::tcp_pseudo;

namespace {

/// A net_ring port over one ring: what is sent comes back on RX queue 0.
struct LoopPort {
  rte_ring* ring = nullptr;
  rte_mempool* rx_pool = nullptr;
  uint16_t port = 0;
  const char* failed = nullptr;

  LoopPort(const std::string& name, unsigned ring_size) {
    ring = rte_ring_create(("ft_" + name).c_str(), ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ring) {
      failed = "rte_ring_create";
      return;
    }
    const int id = rte_eth_from_ring(ring);
    if (id < 0) {
      failed = "rte_eth_from_ring";
      return;
    }
    port = static_cast<uint16_t>(id);
    rx_pool = rte_pktmbuf_pool_create(("ftrx_" + name).c_str(), 511, 0, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    rte_eth_conf conf{};
    if (!rx_pool || rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, 256, 0, nullptr, rx_pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 256, 0, nullptr) != 0 || rte_eth_dev_start(port) != 0)
      failed = "port setup";
  }
  ~LoopPort() {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    if (rx_pool) rte_mempool_free(rx_pool);
    if (ring) rte_ring_free(ring);
  }
  /// Everything that came back, as bytes; the mbufs are freed.
  std::vector<Bytes> receive(std::vector<rte_mbuf*>* keep = nullptr) {
    std::vector<Bytes> out;
    rte_mbuf* pkts[64];
    for (;;) {
      const uint16_t n = rte_eth_rx_burst(port, 0, pkts, 64);
      if (!n) break;
      for (uint16_t i = 0; i < n; i++) {
        REQUIRE(pkts[i]->nb_segs == 1);
        const auto* p = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
        out.emplace_back(p, p + pkts[i]->pkt_len);
        if (keep) keep->push_back(pkts[i]);
        else rte_pktmbuf_free(pkts[i]);
      }
    }
    return out;
  }
};

FrameTxConfig tx_config(const LoopPort& lp, const std::string& name) {
  FrameTxConfig c;
  c.port = lp.port;
  c.tx_queue = 0;
  c.pool_size = 511;
  c.frame_room = 1514;
  c.burst = 32;
  c.pool_name = "fttx_" + name;
  return c;
}

TxSegment segment(uint32_t len, uint8_t flags = zcrx::tcp::kAck | zcrx::tcp::kPsh) {
  TxSegment s;
  s.tuple.local = {kOurs, 80};
  s.tuple.remote = {kPeer, 40000};
  s.seq = 1000;
  s.ack = 2000;
  s.window = 512;
  s.flags = flags;
  s.opts.has_timestamps = true;
  s.opts.tsval = 77;
  s.opts.tsecr = 66;
  s.len = len;
  return s;
}

Bytes pattern(uint32_t n, uint32_t seed) {
  Bytes b(n);
  for (uint32_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8));
  return b;
}

/// Builds the TCP frame of `s` with `payload` appended in pieces of the
/// given lengths (the last takes the rest).
rte_mbuf* tcp_frame(FrameTx& tx, const TxSegment& s, const Bytes& payload,
                    std::initializer_list<uint32_t> pieces, const Mac& dst = kPeerMac) {
  TcpFrame f;
  REQUIRE(tx.tcp_begin(f, s, kOurMac, dst) == 0);
  uint32_t at = 0;
  for (uint32_t n : pieces) {
    n = std::min<uint32_t>(n, static_cast<uint32_t>(payload.size()) - at);
    REQUIRE(tx.tcp_append(f, payload.data() + at, n) == 0);
    at += n;
  }
  REQUIRE(tx.tcp_append(f, payload.data() + at, static_cast<uint32_t>(payload.size()) - at) == 0);
  rte_mbuf* m = tx.tcp_finish(f);
  REQUIRE(m != nullptr);
  return m;
}

/// The frame the wire must carry for `s` and `payload`, checksums by the
/// tcp_wire code checked against the reference in the unit suite.
Bytes expected_tcp(const TxSegment& s, const Bytes& payload) {
  Bytes f(tcp_headers_len(s) + payload.size());
  const uint32_t hdr = write_tcp_headers(s, kOurMac, kPeerMac, ref_sum({payload}), f.data(),
                                         static_cast<uint32_t>(f.size()));
  REQUIRE(hdr == tcp_headers_len(s));
  std::memcpy(f.data() + hdr, payload.data(), payload.size());
  return f;
}

void check_checksums(const Bytes& f) {
  REQUIRE(f.size() >= 54);
  CHECK(ref_sum({slice(f, 14, 20)}) == 0xffff);
  const uint32_t l4 = get16(f, 16) - 20u;
  CHECK(ref_sum({tcp_pseudo(zcrxd::test::get32(f, 26), zcrxd::test::get32(f, 30), l4),
                 slice(f, 34, l4)}) == 0xffff);
}

}  // namespace

TEST_CASE("ARP, ICMP and TCP frames come back byte-exact with correct checksums") {
  LoopPort lp("soft", 1024);
  REQUIRE(lp.failed == nullptr);
  FrameTx tx;
  REQUIRE(tx.open(tx_config(lp, "soft")) == 0);
  CHECK_FALSE(tx.tcp_csum_offload());

  // An ARP request answered into the frame.
  NetConfig net;
  net.addrs[0] = {kOurs, 24};
  net.n_addrs = 1;
  net.set_port(kOurMac, 1500);
  struct NoHost : NeighborHost {
    void send_request(uint32_t, const Mac*) override {}
    void release(void*, uint32_t, const Mac*, int) override {}
  } host;
  NeighborCache cache(NeighborConfig{}, host);
  Arp arp(net, cache);
  uint8_t req[60];
  REQUIRE(write_arp_request(req, sizeof(req), kPeerMac, kPeer, kOurs, nullptr) == 60);
  CHECK(tx.send_built([&](uint8_t* p, uint32_t room) { return arp.input(req, 60, 1, p, room); }));
  Bytes arp_reply(60);
  REQUIRE(arp.input(req, 60, 1, arp_reply.data(), 60) == 60);

  // An ICMP echo request answered into the frame (odd payload).
  Bytes echo = {0x02, 0, 0, 0, 0, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00,
                0x45, 0, 0, 0, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                8, 0, 0, 0, 0x12, 0x34, 0, 1};
  const Bytes data = pattern(37, 9);
  echo.insert(echo.end(), data.begin(), data.end());
  zcrxd::test::put16(echo, 16, static_cast<uint16_t>(echo.size() - 14));
  zcrxd::test::put16(echo, 24, ref_checksum({slice(echo, 14, 20)}));
  zcrxd::test::put16(echo, 36, ref_checksum({slice(echo, 34, echo.size() - 34)}));
  Icmp icmp(net);
  CHECK(tx.send_built([&](uint8_t* p, uint32_t room) {
    return icmp.input(echo.data(), static_cast<uint32_t>(echo.size()), p, room);
  }));
  Bytes icmp_reply = echo;
  Icmp icmp2(net);  // the same reply (IP ID 0) built into a plain buffer
  REQUIRE(icmp2.input(echo.data(), static_cast<uint32_t>(echo.size()), icmp_reply.data(),
                      static_cast<uint32_t>(icmp_reply.size())) == echo.size());

  // TCP frames: payload in pieces of odd lengths, of every size class.
  std::vector<Bytes> want_tcp;
  const uint32_t sizes[] = {0, 1, 3, 100, 1001, 1448};
  for (uint32_t k = 0; k < 6; k++) {
    const TxSegment s = segment(sizes[k]);
    const Bytes payload = pattern(sizes[k], k);
    CHECK(tx.send(tcp_frame(tx, s, payload, {1, 7, 333})));
    want_tcp.push_back(expected_tcp(s, payload));
  }
  CHECK(tx.queued() == 8);
  CHECK(lp.receive().empty());  // nothing leaves before the flush
  CHECK(tx.flush() == 8);
  CHECK(tx.queued() == 0);

  const std::vector<Bytes> got = lp.receive();
  REQUIRE(got.size() == 8);
  CHECK(got[0] == arp_reply);
  CHECK(got[1] == icmp_reply);
  CHECK(ref_sum({slice(got[1], 34, got[1].size() - 34)}) == 0xffff);
  uint64_t bytes = got[0].size() + got[1].size();
  for (uint32_t k = 0; k < 6; k++) {
    CAPTURE(k);
    CHECK(got[2 + k] == want_tcp[k]);
    check_checksums(got[2 + k]);
    bytes += got[2 + k].size();
  }
  CHECK(tx.stats().sent.get() == 8);
  CHECK(tx.stats().sent_bytes.get() == bytes);
  CHECK(tx.stats().bursts.get() == 1);
}

TEST_CASE("random segments over the loop: every frame right, every mbuf back") {
  LoopPort lp("rand", 1024);
  REQUIRE(lp.failed == nullptr);
  FrameTx tx;
  FrameTxConfig cfg = tx_config(lp, "rand");
  REQUIRE(tx.open(cfg) == 0);
  std::mt19937 rng(3);
  for (int round = 0; round < 40; round++) {
    std::vector<Bytes> want;
    const uint32_t n = 1 + rng() % 40;  // more than a burst sometimes: send() flushes
    for (uint32_t i = 0; i < n; i++) {
      TxSegment s = segment(rng() % 1449, static_cast<uint8_t>(rng()) | zcrx::tcp::kAck);
      s.seq = static_cast<uint32_t>(rng());
      s.opts.n_sack = s.flags & zcrx::tcp::kSyn ? 0 : static_cast<uint8_t>(rng() % 4);
      for (auto& b : s.opts.sack) b = {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
      s.len = static_cast<uint32_t>(rng() % (cfg.frame_room - tcp_headers_len(s) + 1));
      const Bytes payload = pattern(s.len, static_cast<uint32_t>(rng()));
      std::vector<PayloadSpan> spans;
      for (uint32_t at = 0; at < s.len;) {
        const uint32_t k = std::min<uint32_t>(s.len - at, 1 + rng() % 500);
        spans.push_back({payload.data() + at, k});
        at += k;
      }
      TcpFrame f;
      REQUIRE(tx.tcp_begin(f, s, kOurMac, kPeerMac) == 0);
      REQUIRE(tx.tcp_append(f, spans.data(), static_cast<uint32_t>(spans.size())) == 0);
      rte_mbuf* m = tx.tcp_finish(f);
      REQUIRE(m);
      REQUIRE(tx.send(m));
      want.push_back(expected_tcp(s, payload));
    }
    tx.flush();
    const std::vector<Bytes> got = lp.receive();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); i++) {
      CHECK(got[i] == want[i]);
      check_checksums(got[i]);
    }
  }
  CHECK(tx.stats().dropped_full.get() == 0);
  CHECK(tx.stats().pool_empty.get() == 0);
  CHECK(rte_mempool_avail_count(rte_mempool_lookup("fttx_rand")) == cfg.pool_size);
}

TEST_CASE("TX checksum offload: flags, header lengths and DPDK's pseudo-header sum") {
  LoopPort lp("ofl", 1024);
  REQUIRE(lp.failed == nullptr);
  for (uint64_t offloads : {uint64_t{RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM},
                            uint64_t{RTE_ETH_TX_OFFLOAD_TCP_CKSUM},
                            uint64_t{RTE_ETH_TX_OFFLOAD_IPV4_CKSUM}}) {
    CAPTURE(offloads);
    FrameTx tx;
    FrameTxConfig cfg = tx_config(lp, "ofl" + std::to_string(offloads));
    // net_ring has no offloads: the flags ride along untouched and the
    // test plays the NIC.
    cfg.offloads = offloads;
    REQUIRE(tx.open(cfg) == 0);
    const bool ip_off = offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    const bool tcp_off = offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    CHECK(tx.ip_csum_offload() == ip_off);
    CHECK(tx.tcp_csum_offload() == tcp_off);
    const TxSegment s = segment(1001);
    const Bytes payload = pattern(1001, 5);
    REQUIRE(tx.send(tcp_frame(tx, s, payload, {500})));
    tx.flush();
    std::vector<rte_mbuf*> back;
    const std::vector<Bytes> got = lp.receive(&back);
    REQUIRE(got.size() == 1);
    rte_mbuf* m = back[0];
    CHECK(m->ol_flags == (RTE_MBUF_F_TX_IPV4 | (ip_off ? RTE_MBUF_F_TX_IP_CKSUM : 0) |
                          (tcp_off ? RTE_MBUF_F_TX_TCP_CKSUM : 0)));
    CHECK(uint64_t{m->l2_len} == 14);
    CHECK(uint64_t{m->l3_len} == 20);
    CHECK(uint64_t{m->l4_len} == 32);
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14);
    auto* tcp = rte_pktmbuf_mtod_offset(m, uint16_t*, 34 + 16);
    if (ip_off) CHECK(get16(got[0], 24) == 0);
    else CHECK(ref_sum({slice(got[0], 14, 20)}) == 0xffff);
    if (tcp_off) CHECK(*tcp == rte_ipv4_phdr_cksum(ip, m->ol_flags));
    // Play the NIC: complete what was left to it; then it is the software frame.
    Bytes done = got[0];
    if (ip_off) zcrxd::test::put16(done, 24, ref_checksum({slice(done, 14, 20)}));
    if (tcp_off) {
      zcrxd::test::put16(done, 50, 0);
      zcrxd::test::put16(done, 50, ref_checksum({tcp_pseudo(kOurs, kPeer, 32 + 1001),
                                                 slice(done, 34, 32 + 1001)}));
    }
    CHECK(done == expected_tcp(s, payload));
    rte_pktmbuf_free(m);
  }
}

TEST_CASE("a full TX ring: frames wait for the next flush, then are dropped; counted") {
  LoopPort lp("full", 32);  // holds 31 frames
  REQUIRE(lp.failed == nullptr);
  FrameTx tx;
  FrameTxConfig cfg = tx_config(lp, "full");
  cfg.burst = 16;
  REQUIRE(tx.open(cfg) == 0);
  const TxSegment s = segment(10);
  const Bytes payload = pattern(10, 1);
  for (int i = 0; i < 16; i++) REQUIRE(tx.send(tcp_frame(tx, s, payload, {})));
  CHECK(tx.flush() == 16);
  for (int i = 0; i < 16; i++) REQUIRE(tx.send(tcp_frame(tx, s, payload, {})));
  CHECK(tx.flush() == 15);  // the ring is full
  CHECK(tx.queued() == 1);
  CHECK(tx.stats().dropped_full.get() == 0);
  // The array fills up; send() flushes, the ring takes nothing: dropped.
  for (int i = 0; i < 15; i++) REQUIRE(tx.send(tcp_frame(tx, s, payload, {})));
  CHECK_FALSE(tx.send(tcp_frame(tx, s, payload, {})));
  CHECK(tx.stats().dropped_full.get() == 1);
  CHECK(tx.queued() == 16);
  CHECK(lp.receive().size() == 31);
  CHECK(tx.flush() == 16);
  CHECK(lp.receive().size() == 16);
  CHECK(tx.stats().sent.get() == 47);
  // Every mbuf is back in the pool (the dropped one included).
  CHECK(rte_mempool_avail_count(rte_mempool_lookup("fttx_full")) == cfg.pool_size);
}

TEST_CASE("an empty pool refuses, frames of the wrong size are refused; nothing leaks") {
  LoopPort lp("pool", 1024);
  REQUIRE(lp.failed == nullptr);
  FrameTx tx;
  FrameTxConfig cfg = tx_config(lp, "pool");
  cfg.pool_size = 63;
  REQUIRE(tx.open(cfg) == 0);
  rte_mempool* mp = rte_mempool_lookup("fttx_pool");
  REQUIRE(mp);
  std::vector<rte_mbuf*> all;
  while (rte_mbuf* m = tx.alloc()) all.push_back(m);
  CHECK(all.size() == 63);
  CHECK(tx.stats().pool_empty.get() == 1);
  TcpFrame f;
  CHECK(tx.tcp_begin(f, segment(1), kOurMac, kPeerMac) == -ENOBUFS);
  CHECK_FALSE(tx.send_built([](uint8_t*, uint32_t) { return 60u; }));
  CHECK(tx.stats().pool_empty.get() == 3);
  for (rte_mbuf* m : all) FrameTx::drop(m);

  // Headers + payload beyond the frame room: refused before any mbuf is taken.
  CHECK(tx.tcp_begin(f, segment(1514 - 54 - 12 + 1), kOurMac, kPeerMac) == -EMSGSIZE);
  CHECK(tx.stats().too_big.get() == 1);
  REQUIRE(tx.tcp_begin(f, segment(1514 - 54 - 12), kOurMac, kPeerMac) == 0);
  tx.tcp_abort(f);
  // Appending past the announced length is refused, nothing copied; short is freed.
  REQUIRE(tx.tcp_begin(f, segment(10), kOurMac, kPeerMac) == 0);
  const Bytes p = pattern(11, 0);
  CHECK(tx.tcp_append(f, p.data(), 11) == -EMSGSIZE);
  const PayloadSpan spans[] = {{p.data(), 6}, {p.data() + 6, 5}};
  CHECK(tx.tcp_append(f, spans, 2) == -EMSGSIZE);
  CHECK(tx.tcp_append(f, p.data(), 9) == 0);
  CHECK(tx.tcp_finish(f) == nullptr);
  CHECK(f.m == nullptr);
  // A builder with nothing to send gives its mbuf back.
  CHECK_FALSE(tx.send_built([](uint8_t*, uint32_t) { return 0u; }));
  CHECK(rte_mempool_avail_count(mp) == 63);
  CHECK(tx.stats().sent.get() == 0);
}

TEST_CASE("a frame held for its neighbour gets its MAC afterwards") {
  LoopPort lp("held", 1024);
  REQUIRE(lp.failed == nullptr);
  FrameTx tx;
  REQUIRE(tx.open(tx_config(lp, "held")) == 0);
  const TxSegment s = segment(0, zcrx::tcp::kSyn);
  rte_mbuf* m = tcp_frame(tx, s, {}, {}, Mac{});
  CHECK(FrameTx::frame_data(m)[0] == 0);
  FrameTx::set_eth_dst(m, kPeerMac);
  REQUIRE(tx.send(m));
  tx.flush();
  const std::vector<Bytes> got = lp.receive();
  REQUIRE(got.size() == 1);
  CHECK(got[0] == expected_tcp(s, {}));
}

TEST_CASE("net_tap's TX checksum offload: the kernel receives complete checksums") {
  if (geteuid() != 0) {
    MESSAGE("SKIP: net_tap needs root");
    return;
  }
  const std::string iface = "zftap" + std::to_string(getpid() % 100000);
  const std::string name = "net_tap_ft" + std::to_string(getpid() % 100000);
  if (rte_dev_probe((name + ",iface=" + iface).c_str()) != 0) {
    MESSAGE("SKIP: net_tap not available here");
    return;
  }
  uint16_t port = 0;
  REQUIRE(rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0);
  rte_eth_dev_info info{};
  REQUIRE(rte_eth_dev_info_get(port, &info) == 0);
  const uint64_t want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  REQUIRE((info.tx_offload_capa & want) == want);
  rte_mempool* rx_pool = rte_pktmbuf_pool_create("fttap_rx", 511, 0, 0,
                                                 RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  REQUIRE(rx_pool);
  rte_eth_conf conf{};
  conf.txmode.offloads = want;
  REQUIRE(rte_eth_dev_configure(port, 1, 1, &conf) == 0);
  REQUIRE(rte_eth_rx_queue_setup(port, 0, 256, 0, nullptr, rx_pool) == 0);
  REQUIRE(rte_eth_tx_queue_setup(port, 0, 256, 0, nullptr) == 0);
  REQUIRE(rte_eth_dev_start(port) == 0);

  // The kernel's side of the tap: frames the PMD transmits arrive there.
  const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  REQUIRE(fd >= 0);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
  REQUIRE(sll.sll_ifindex > 0);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) == 0);

  FrameTx tx;
  FrameTxConfig cfg;
  cfg.port = port;
  cfg.pool_size = 511;
  cfg.offloads = conf.txmode.offloads;
  cfg.pool_name = "fttap_tx";
  REQUIRE(tx.open(cfg) == 0);
  REQUIRE(tx.tcp_csum_offload());
  std::vector<Bytes> want_frames;
  for (uint32_t len : {0u, 1u, 333u, 1448u}) {
    TxSegment s = segment(len);
    s.seq = 5000 + len;
    const Bytes payload = pattern(len, len);
    REQUIRE(tx.send(tcp_frame(tx, s, payload, {7})));
    want_frames.push_back(expected_tcp(s, payload));
  }
  CHECK(tx.flush() == 4);

  std::vector<Bytes> seen;
  for (int waits = 0; seen.size() < want_frames.size() && waits < 50; waits++) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    uint8_t buf[2048];
    sockaddr_ll from{};
    socklen_t fl = sizeof(from);
    const ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 54 || from.sll_pkttype == PACKET_OUTGOING) continue;
    if (buf[12] != 0x08 || buf[13] != 0x00 || buf[23] != 6) continue;  // not our TCP
    seen.emplace_back(buf, buf + n);
  }
  close(fd);
  REQUIRE(seen.size() == want_frames.size());
  for (size_t i = 0; i < seen.size(); i++) {
    check_checksums(seen[i]);
    CHECK(seen[i] == want_frames[i]);
  }
  rte_eth_dev_stop(port);
  rte_eth_dev_close(port);
  rte_eal_hotplug_remove("vdev", name.c_str());
  rte_mempool_free(rx_pool);
}

int main(int argc, char** argv) {
  return zcrxd::testing::run_doctest_under_eal(argc, argv, "zcrxd_ft_", "256", {});
}
