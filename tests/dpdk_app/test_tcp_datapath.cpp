// SPDX-License-Identifier: MIT
// zcrxd's datapath as a TCP endpoint, over the fixture's net_ring port
// (one ring for RX and TX: a loopback) with a zcrx::tcp::Engine on the
// other end as the peer (it answers zcrxd's ARP and speaks TCP through
// tcp_wire). The test drives both loops on one thread: the datapath with
// poll_once, then the peer, which takes what zcrxd transmitted off the
// ring (by source MAC: its own frames zcrxd has not read yet go back in
// order) and queues its answers; it plays the consumer too (SQEs, CQEs,
// refills).
// Checked: handshake and multishot ACCEPT (peer in zcqe.off), the stream
// byte-exact through RECV_ZC CQEs (the peer's frames are foreign mbufs:
// the copy path into area niovs), refills reopening the window, FIN ->
// res 0 without F_MORE, RST -> -ECONNRESET, the peer's view of zcrxd's
// checksums, and every niov back at the end; CONNECT steered by a given
// RSS key and table; ASYNC_CANCEL of socket requests; an ACCEPT held for
// room resuming by itself.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "arp.h"
#include "datapath_fixture.h"
#include "eal_doctest_main.h"
#include "tcp_pattern.h"
#include "tcp_stack.h"
#include "tcp_wire.h"
#include "zcrx/socket.h"

using namespace zcrxd;
namespace tcp = zcrx::tcp;
namespace uapi = zcrx::uapi;

namespace {

constexpr uint32_t kZcrxdIp = 0x0a000002;  // 10.0.0.2
constexpr uint32_t kPeerIp = 0x0a000001;
constexpr uint16_t kPort = 8000;
const Mac kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};

uint64_t now_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// The peer: an engine that sends stream 0 of tcp_pattern.h.
struct Peer final : tcp::Host {
  rte_mempool* mp = nullptr;
  rte_ring* wire = nullptr;
  std::vector<rte_mbuf*> outq;  // frames for zcrxd, queued at the end of pump()
  Mac zcrxd_mac;
  std::unique_ptr<tcp::Engine> eng;
  tcp::Conn* conn = nullptr;
  int connect_result = 1;
  int end_result = 1;
  uint64_t appended = 0, acked = 0;
  uint64_t bad_csum = 0, arp_answered = 0, frames_in = 0;
  TcpWireStats wire_st;
  // Payload zcrxd sent: each segment's bytes kept (a piece's buf indexes
  // them), and what the engine delivered, in stream order, over every
  // connection.
  std::vector<std::vector<uint8_t>> held;
  std::vector<uint8_t> received;

  Peer() {
    tcp::Config c;
    c.rcvbuf = 1 << 20;
    eng = std::make_unique<tcp::Engine>(c, *this);
  }
  ~Peer() override { eng.reset(); }

  uint32_t deliver(tcp::Conn&, const tcp::Piece* p, uint32_t n) override {
    for (uint32_t i = 0; i < n; i++) {
      const std::vector<uint8_t>& b = held[p[i].buf];
      received.insert(received.end(), b.begin() + p[i].off, b.begin() + p[i].off + p[i].len);
    }
    return n;
  }
  void release(const tcp::Piece*, uint32_t) override {}
  uint32_t rx_capacity(const tcp::Conn&) override { return 1 << 20; }
  bool transmit(tcp::Conn*, const tcp::TxSegment& s) override {
    rte_mbuf* m = rte_pktmbuf_alloc(mp);
    if (!m) return false;
    const uint32_t hl = tcp_headers_len(s);
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    tcp_pattern_fill(p + hl, s.len, 0, s.stream_off);
    InetSum sum;
    sum.add(p + hl, s.len);
    if (write_tcp_headers(s, kPeerMac, zcrxd_mac, s.len ? sum.fold() : 0, p, 4000) != hl) {
      rte_pktmbuf_free(m);
      return false;
    }
    m->data_len = static_cast<uint16_t>(hl + s.len);
    m->pkt_len = m->data_len;
    outq.push_back(m);
    return true;
  }
  void send_acked(tcp::Conn&, uint64_t off) override { acked = off; }
  void accept_ready(tcp::Listener&) override {}
  void connected(tcp::Conn&, int result) override { connect_result = result; }
  void peer_closed(tcp::Conn&) override {}
  void ended(tcp::Conn& c, int result) override {
    if (&c == conn) {
      end_result = result;
      conn = nullptr;
    }
  }

  // Frames zcrxd sent: ARP answered, TCP into the engine.
  void pump() {
    static rte_mbuf* ms[4096];
    std::vector<rte_mbuf*> keep;  // ours, not yet read by zcrxd
    const unsigned n = rte_ring_dequeue_burst(wire, reinterpret_cast<void**>(ms), 4096, nullptr);
    const uint64_t now = now_us();
    for (unsigned i = 0; i < n; i++) {
      rte_mbuf* m = ms[i];
      const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
      const uint32_t len = m->data_len;
      if (eth_src(f) == kPeerMac) {
        keep.push_back(m);
        continue;
      }
      frames_in++;
      if (eth_type(f) == kEtherTypeArp) {
        ArpMessage a;
        if (parse_arp(f, len, &a) == 0 && a.op == kArpOpRequest && a.tpa == kPeerIp) {
          zcrxd_mac = a.sha;
          ArpMessage r{kArpOpReply, kPeerMac, kPeerIp, a.sha, a.spa};
          rte_mbuf* out = rte_pktmbuf_alloc(mp);
          REQUIRE(out);
          const uint32_t l = write_arp_frame(rte_pktmbuf_mtod(out, uint8_t*), 128, a.sha,
                                             kPeerMac, r);
          out->data_len = static_cast<uint16_t>(l);
          out->pkt_len = l;
          outq.push_back(out);
          arp_answered++;
        }
      } else if (eth_type(f) == kEtherTypeIpv4 && f[kEthHeaderLen + 9] == kIpProtoTcp) {
        const uint8_t* ip = f + kEthHeaderLen;
        const uint32_t ihl = (ip[0] & 0xfu) * 4u, total = load_be16(ip + 2);
        const uint32_t src = load_be32(ip + 12), dst = load_be32(ip + 16);
        if (!tcp_checksum_ok(ip + ihl, total - ihl, src, dst) ||
            !ipv4_header_checksum_ok(ip, ihl)) {
          bad_csum++;
        } else {
          tcp::RxSegment seg;
          TcpParsed info;
          if (parse_tcp(f, len, kEthHeaderLen + ihl, total - ihl, src, dst, &seg, &info,
                        wire_st) == 0) {
            if (info.payload_len) {
              held.emplace_back(f + info.payload_off, f + info.payload_off + info.payload_len);
              seg.n_pieces = 1;
              seg.pieces[0] = {uint32_t(held.size() - 1), 0, info.payload_len};
            }
            eng->input(seg, now);
          }
        }
      }
      rte_pktmbuf_free(m);
    }
    if (now >= eng->next_deadline()) eng->poll(now);
    flush(keep);
  }
  // Our frames in order: those zcrxd had not read, then the new ones.
  void flush(std::vector<rte_mbuf*>& keep) {
    keep.insert(keep.end(), outq.begin(), outq.end());
    outq.clear();
    for (rte_mbuf* m : keep)
      if (rte_ring_enqueue(wire, m) != 0) rte_pktmbuf_free(m);  // a lost frame: TCP resends
    keep.clear();
  }

  // Appends pattern bytes up to `total` as the send space allows.
  void send_up_to(uint64_t total) {
    if (!conn || connect_result != 0) return;
    const uint32_t space = eng->send_space(conn);
    const uint64_t n = total - appended < space ? total - appended : space;
    if (n && eng->send(conn, static_cast<uint32_t>(n), now_us()) == 0) appended += n;
    std::vector<rte_mbuf*> none;
    flush(none);
  }
};

struct World {
  int port = -1;
  std::unique_ptr<testing::DatapathFixture> f;
  SocketTable table;
  TcpStack* stack = nullptr;
  zcrx::SqProducer sq;
  Peer peer;

  // `rss`: the port's RSS as Device::rss() gives it (outlives the World).
  explicit World(const RssSteering* rss = nullptr) {
    static int n = 0;
    testing::FixtureConfig c;
    c.name = "tcpdp" + std::to_string(n);
    c.niovs = 512;
    c.pool_id = 911 + n;
    f = std::make_unique<testing::DatapathFixture>(c);
    REQUIRE_MESSAGE(f->ok(), f->failed);
    port = f->port;
    TcpStackConfig tc;
    tc.port = static_cast<uint16_t>(port);
    tc.tcp.max_conns = 16;
    tc.tcp.sndbuf = 64 << 10;
    tc.tcp.rcvbuf = 256 << 10;
    tc.name = "tcpdp" + std::to_string(n);
    tc.dp_stats = &f->st;
    tc.rss = rss;
    REQUIRE(parse_ip_option("10.0.0.2/24", &tc.net, stderr) == 0);
    int err = 0;
    auto st = TcpStack::create(tc, &err);
    REQUIRE(st);
    stack = st.get();
    f->dp->set_tcp(std::move(st));
    f->ring->set_sockets(&table, stack);
    sq = zcrx::sq_producer(f->ring_mem, f->ring_l);
    peer.mp = rte_pktmbuf_pool_create(("tcpdp_peer" + std::to_string(n)).c_str(), 8191, 0, 0,
                                      4096 + RTE_PKTMBUF_HEADROOM, 0);
    REQUIRE(peer.mp);
    peer.wire = f->wire;
    n++;
    rte_ether_addr ea{};
    rte_eth_macaddr_get(static_cast<uint16_t>(port), &ea);
    peer.zcrxd_mac = Mac::from(ea.addr_bytes);
  }
  ~World() {
    f->dp->tcp_shutdown();
    peer.eng.reset();
    f.reset();
    rte_mempool_free(peer.mp);
  }

  void step() {
    f->dp->poll_once();
    peer.pump();
  }
  void submit(const uapi::io_uring_sqe& s) { REQUIRE(sq.push(s)); }
  // A listener on kPort with a multishot ACCEPT (user_data `ud`) armed on
  // it, as SOCKET, BIND, LISTEN and ACCEPT SQEs would make it.
  int listen_and_accept(uint64_t ud) {
    const int ls = stack->op_socket(*f->ring, table);
    REQUIRE(stack->op_bind(table, uint32_t(ls), 0, kPort) == 0);
    REQUIRE(stack->op_listen(table, uint32_t(ls), 8) == 0);
    uapi::io_uring_sqe a{};
    zcrx::prep_accept(&a, ls, true, ud);
    submit(a);
    return ls;
  }
  uint32_t ring_cq_entries() const { return f->ring_l.cq_entries; }
  // Steps until `pred` holds (bounded).
  template <class P>
  bool run_until(P pred, int max_ms = 10000) {
    const uint64_t until = now_us() + uint64_t(max_ms) * 1000;
    while (!pred()) {
      if (now_us() > until) return false;
      step();
    }
    return true;
  }
};

}  // namespace

TEST_CASE("a TCP stream through the datapath: accept, byte-exact RECV_ZC, refills, FIN, RST") {
  World w;
  // A listener, as SOCKET/BIND/LISTEN would make it.
  const int ls = w.stack->op_socket(*w.f->ring, w.table);
  REQUIRE(ls >= int(zcrx::proto::kSocketHandleBase));
  REQUIRE(w.stack->op_bind(w.table, uint32_t(ls), 0, kPort) == 0);
  CHECK(w.stack->op_bind(w.table, uint32_t(ls), 0, kPort) == -EINVAL);  // bound already
  REQUIRE(w.stack->op_listen(w.table, uint32_t(ls), 8) == 0);
  uapi::io_uring_sqe a{};
  zcrx::prep_accept(&a, ls, true, 1);
  w.submit(a);

  std::vector<uapi::io_uring_cqe32> other;  // CQEs not of the stream
  uint64_t got = 0, bad = 0, cqes = 0;
  bool eof = false;
  int32_t final_res = 1;
  auto reap = [&](uint64_t recv_ud) {
    uapi::io_uring_cqe32 c;
    while (w.f->cq.pop(c)) {
      if (c.cqe.user_data != recv_ud) {
        other.push_back(c);
        continue;
      }
      if (c.cqe.res > 0) {
        CHECK((c.cqe.flags & uapi::kCqeFMore) != 0);
        CHECK((c.cqe.flags & zcrx::proto::kCqeFDatagramEnd) == 0);
        bad += tcp_pattern_count_mismatches(w.f->at(c.zcqe.off), uint32_t(c.cqe.res), 0, got);
        got += uint32_t(c.cqe.res);
        cqes++;
        uapi::io_uring_zcrx_rqe rqe{c.zcqe.off, uint32_t(c.cqe.res), 0};
        REQUIRE(w.f->rq.push(rqe));
      } else {
        final_res = c.cqe.res;
        eof = !(c.cqe.flags & uapi::kCqeFMore);
      }
    }
  };
  auto accepted = [&](int* h) {
    for (size_t i = 0; i < other.size(); i++)
      if (other[i].cqe.user_data == 1) {
        const auto c = other[i];
        other.erase(other.begin() + long(i));
        REQUIRE(c.cqe.res >= int(zcrx::proto::kSocketHandleBase));
        CHECK((c.cqe.flags & uapi::kCqeFMore) != 0);  // multishot stays armed
        uint32_t ip = 0;
        uint16_t port = 0;
        REQUIRE(zcrx::accept_peer(c, &ip, &port));
        CHECK(ip == kPeerIp);
        CHECK(port == w.peer.conn->tuple().local.port);
        *h = c.cqe.res;
        return true;
      }
    return false;
  };

  SUBCASE("1 MiB, then FIN") {
    tcp::FourTuple t{{kPeerIp, 0}, {kZcrxdIp, kPort}};
    REQUIRE(w.peer.eng->connect(t, nullptr, &w.peer.conn, now_us()) == 0);
    int h = -1;
    REQUIRE(w.run_until([&] {
      reap(2);
      return accepted(&h);
    }));
    CHECK(w.peer.arp_answered >= 1);  // zcrxd resolved the peer before its SYN-ACK
    REQUIRE(w.peer.connect_result == 0);
    uapi::io_uring_sqe r{};
    zcrx::prep_recv_zc(&r, h, w.f->zcrx_id, 0, true, 2);
    w.submit(r);
    constexpr uint64_t kBytes = 1 << 20;
    // 512 niovs of 4 KiB (2 MiB) carry the stream only because the
    // consumer refills: the window follows the free niovs.
    REQUIRE(w.run_until([&] {
      w.peer.send_up_to(kBytes);
      reap(2);
      return got == kBytes;
    }));
    CHECK(bad == 0);
    CHECK(cqes >= kBytes / 1460);
    CHECK_FALSE(eof);
    REQUIRE(w.peer.eng->shutdown_write(w.peer.conn, now_us()) == 0);
    REQUIRE(w.run_until([&] {
      reap(2);
      return eof;
    }));
    CHECK(final_res == 0);  // EOF: res 0 without F_MORE
    CHECK(got == kBytes);
    CHECK(w.peer.acked == kBytes);
    CHECK(w.peer.bad_csum == 0);
    // CLOSE: the handle goes, zcrxd's FIN follows, the peer ends cleanly.
    uapi::io_uring_sqe cl{};
    zcrx::prep_close(&cl, h, 3);
    w.submit(cl);
    REQUIRE(w.run_until([&] { return w.peer.conn == nullptr; }));
    CHECK(w.peer.end_result == 0);
    reap(2);
    bool closed = false;
    for (const auto& c : other) closed |= c.cqe.user_data == 3 && c.cqe.res == 0;
    CHECK(closed);
  }

  SUBCASE("RST ends the RECV_ZC with -ECONNRESET") {
    tcp::FourTuple t{{kPeerIp, 0}, {kZcrxdIp, kPort}};
    REQUIRE(w.peer.eng->connect(t, nullptr, &w.peer.conn, now_us()) == 0);
    int h = -1;
    REQUIRE(w.run_until([&] {
      reap(2);
      return accepted(&h);
    }));
    uapi::io_uring_sqe r{};
    zcrx::prep_recv_zc(&r, h, w.f->zcrx_id, 0, true, 2);
    w.submit(r);
    REQUIRE(w.run_until([&] {
      w.peer.send_up_to(100000);
      reap(2);
      return got == 100000;
    }));
    CHECK(bad == 0);
    w.peer.eng->abort(w.peer.conn, now_us());
    REQUIRE(w.run_until([&] {
      reap(2);
      return eof;
    }));
    CHECK(final_res == -ECONNRESET);
    // The handle stays until CLOSE; a new RECV_ZC sees EOF now.
    uapi::io_uring_sqe r2{};
    zcrx::prep_recv_zc(&r2, h, w.f->zcrx_id, 0, true, 4);
    w.submit(r2);
    REQUIRE(w.run_until([&] {
      reap(2);
      for (const auto& c : other)
        if (c.cqe.user_data == 4) return true;
      return false;
    }));
    for (const auto& c : other)
      if (c.cqe.user_data == 4) CHECK(c.cqe.res == 0);
  }

  // Every niov delivered came back through the refill queue.
  REQUIRE(w.run_until([&] {
    reap(2);
    return w.f->st.delivered.get() == w.f->st.returned.get();
  }));
  CHECK(w.f->st.delivered.get() > 0);
  CHECK(w.stack->stats().drop_bad_tcp_csum.get() == 0);
  CHECK(w.stack->stats().copied_segs.get() > 0);  // net_ring: foreign mbufs, copied
}

namespace {

// Collects the ring's CQEs; RECV_ZC data (res > 0 on `recv_uds`) is
// checked against the pattern, counted and refilled at once.
struct Cqes {
  World& w;
  std::vector<uapi::io_uring_cqe32> got;
  std::vector<uint64_t> recv_uds;
  uint64_t bytes = 0, bad = 0;

  explicit Cqes(World& world) : w(world) {}
  void reap() {
    uapi::io_uring_cqe32 c;
    while (w.f->cq.pop(c)) {
      bool data = false;
      for (uint64_t ud : recv_uds) data |= c.cqe.user_data == ud && c.cqe.res > 0;
      if (!data) {
        got.push_back(c);
        continue;
      }
      CHECK((c.cqe.flags & uapi::kCqeFMore) != 0);
      bad += tcp_pattern_count_mismatches(w.f->at(c.zcqe.off), uint32_t(c.cqe.res), 0, bytes);
      bytes += uint32_t(c.cqe.res);
      uapi::io_uring_zcrx_rqe rqe{c.zcqe.off, uint32_t(c.cqe.res), 0};
      REQUIRE(w.f->rq.push(rqe));
    }
  }
  // Steps until the CQE of `ud` arrived; takes it out.
  uapi::io_uring_cqe32 wait(uint64_t ud) {
    uapi::io_uring_cqe32 out{};
    const bool ok = w.run_until([&] {
      reap();
      for (size_t i = 0; i < got.size(); i++)
        if (got[i].cqe.user_data == ud) {
          out = got[i];
          got.erase(got.begin() + long(i));
          return true;
        }
      return false;
    });
    REQUIRE_MESSAGE(ok, "no CQE for user_data " << ud);
    return out;
  }
  bool has(uint64_t ud) {
    reap();
    for (const auto& c : got)
      if (c.cqe.user_data == ud) return true;
    return false;
  }
};

// Microsoft's RSS verification key (a 40-byte key as NICs take).
constexpr uint8_t kRssKey[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

std::unique_ptr<RssSteering> steering(uint16_t queues, uint16_t only = UINT16_MAX) {
  auto r = std::make_unique<RssSteering>();
  r->steers = true;
  r->key_len = sizeof(kRssKey);
  std::memcpy(r->key, kRssKey, sizeof(kRssKey));
  r->reta_size = 128;
  // Scattered, not round-robin: with this key a round-robin table sends
  // the four ports of an aligned group of four to one queue (local port
  // bits 0 and 1 do not reach the hash's low two bits), which would make
  // consecutive ephemeral ports look steered.
  for (uint32_t i = 0; i < 128; i++)
    r->reta[i] = only != UINT16_MAX ? only
                                    : static_cast<uint16_t>(((i * 2654435761u) >> 24) % queues);
  return r;
}

}  // namespace

TEST_CASE("RSS: CONNECT picks source ports whose segments land on the ring's queue") {
  // Four queues; this World's stack serves queue 0.
  const auto rss = steering(4);
  World w(rss.get());
  Cqes q(w);
  tcp::Listener* pl = nullptr;
  REQUIRE(w.peer.eng->listen({kPeerIp, 9000}, 8, nullptr, &pl) == 0);
  std::vector<uint16_t> ports;
  for (uint64_t i = 0; i < 8; i++) {
    const int s = w.stack->op_socket(*w.f->ring, w.table);
    uapi::io_uring_sqe c{};
    zcrx::prep_connect(&c, s, kPeerIp, 9000, 40 + i);
    w.submit(c);
    REQUIRE(q.wait(40 + i).cqe.res == 0);  // the peer answered: established
    zcrx::proto::SockNameReply sn{};
    REQUIRE(w.stack->op_sockname(w.table, uint32_t(s), &sn) == 0);
    CAPTURE(sn.local_port);
    CHECK(rss->queue_of(kPeerIp, kZcrxdIp, 9000, sn.local_port) == 0);
    CHECK(sn.local_port >= 32768);
    CHECK(sn.local_port <= 60999);
    for (uint16_t p : ports) CHECK(p != sn.local_port);
    ports.push_back(sn.local_port);
  }
}

TEST_CASE("RSS: CONNECT is -EADDRNOTAVAIL when no port lands on the ring's queue") {
  const auto rss = steering(4, 3);  // every entry: queue 3; the stack serves 0
  World w(rss.get());
  Cqes q(w);
  const int s = w.stack->op_socket(*w.f->ring, w.table);
  uapi::io_uring_sqe c{};
  zcrx::prep_connect(&c, s, kPeerIp, 9000, 50);
  w.submit(c);
  CHECK(q.wait(50).cqe.res == -EADDRNOTAVAIL);
  // The socket is still fresh: a CONNECT after BIND to a port of its own
  // is not steered (the port is the caller's choice) and goes ahead.
  tcp::Listener* pl = nullptr;
  REQUIRE(w.peer.eng->listen({kPeerIp, 9000}, 8, nullptr, &pl) == 0);
  REQUIRE(w.stack->op_bind(w.table, uint32_t(s), 0, 40000) == 0);
  zcrx::prep_connect(&c, s, kPeerIp, 9000, 51);
  w.submit(c);
  CHECK(q.wait(51).cqe.res == 0);
}

namespace {

uapi::io_uring_sqe cancel_sqe(uint64_t target, uint64_t ud, uint32_t flags = 0) {
  uapi::io_uring_sqe c{};
  zcrx::prep_cancel(&c, target, ud, flags);
  return c;
}

// The request ended by a cancel: -ECANCELED and nothing more to come.
void check_cancelled(const uapi::io_uring_cqe32& c) {
  CHECK(c.cqe.res == -ECANCELED);
  CHECK((c.cqe.flags & uapi::kCqeFMore) == 0);
}

}  // namespace

TEST_CASE("ASYNC_CANCEL ends a socket's ACCEPT and RECV_ZC; the socket goes on") {
  World w;
  Cqes q(w);
  const int ls = w.listen_and_accept(1);
  w.submit(cancel_sqe(1, 90));
  w.submit(cancel_sqe(1, 91));  // gone already
  check_cancelled(q.wait(1));
  CHECK(q.wait(90).cqe.res == 0);
  CHECK(q.wait(91).cqe.res == -ENOENT);

  // A connection completing meanwhile waits for the next ACCEPT.
  tcp::FourTuple t{{kPeerIp, 0}, {kZcrxdIp, kPort}};
  REQUIRE(w.peer.eng->connect(t, nullptr, &w.peer.conn, now_us()) == 0);
  REQUIRE(w.run_until([&] { return w.peer.connect_result == 0; }));
  for (int i = 0; i < 20; i++) w.step();
  q.reap();
  CHECK(q.got.empty());
  uapi::io_uring_sqe a{};
  zcrx::prep_accept(&a, ls, false, 5);
  w.submit(a);
  const auto acc = q.wait(5);
  REQUIRE(acc.cqe.res >= int(zcrx::proto::kSocketHandleBase));
  CHECK((acc.cqe.flags & uapi::kCqeFMore) == 0);  // single shot
  const int h = acc.cqe.res;

  // RECV_ZC, cancelled by fd after 100000 bytes.
  q.recv_uds = {2, 6};
  uapi::io_uring_sqe r{};
  zcrx::prep_recv_zc(&r, h, w.f->zcrx_id, 0, true, 2);
  w.submit(r);
  REQUIRE(w.run_until([&] {
    w.peer.send_up_to(100000);
    q.reap();
    return q.bytes == 100000;
  }));
  uapi::io_uring_sqe cf{};
  zcrx::prep_cancel_fd(&cf, h, 92);
  w.submit(cf);
  check_cancelled(q.wait(2));
  CHECK(q.wait(92).cqe.res == 0);
  // Without a request nothing is delivered; the peer's bytes wait.
  for (int i = 0; i < 200; i++) {
    w.peer.send_up_to(300000);
    w.step();
  }
  q.reap();
  CHECK(q.bytes == 100000);
  CHECK_FALSE(q.has(2));
  // A new RECV_ZC takes the stream up where it stopped, byte-exact.
  zcrx::prep_recv_zc(&r, h, w.f->zcrx_id, 0, true, 6);
  w.submit(r);
  REQUIRE(w.run_until([&] {
    w.peer.send_up_to(300000);
    q.reap();
    return q.bytes == 300000;
  }));
  CHECK(q.bad == 0);

  // The kernel's prep rules and ALL/ANY counts.
  uapi::io_uring_sqe bad = cancel_sqe(0, 93, uapi::kAsyncCancelFd | uapi::kAsyncCancelAny);
  w.submit(bad);
  CHECK(q.wait(93).cqe.res == -EINVAL);
  w.submit(cancel_sqe(12345, 94, uapi::kAsyncCancelAll));
  CHECK(q.wait(94).cqe.res == 0);  // ALL: how many, none here
  // ANY: the socket's RECV_ZC and the fixture's on its UDP flow (42).
  w.submit(cancel_sqe(0, 95, uapi::kAsyncCancelAny));
  check_cancelled(q.wait(6));
  check_cancelled(q.wait(42));
  CHECK(q.wait(95).cqe.res == 2);
  w.submit(cancel_sqe(6, 96));
  CHECK(q.wait(96).cqe.res == -ENOENT);
}

TEST_CASE("ASYNC_CANCEL of CONNECT and SEND: by user_data, by fd with ALL; partial SEND") {
  World w;
  Cqes q(w);
  std::vector<uint8_t> txbuf(256 << 10);
  tcp_pattern_fill(txbuf.data(), uint32_t(txbuf.size()), 0, 0);
  w.table.tx = txbuf.data();
  w.table.tx_base = reinterpret_cast<uintptr_t>(txbuf.data());
  w.table.tx_len = txbuf.size();
  tcp::Listener* pl = nullptr;
  REQUIRE(w.peer.eng->listen({kPeerIp, 9000}, 8, nullptr, &pl) == 0);

  SUBCASE("a CONNECT waiting for ARP and SENDs queued behind it") {
    const int s = w.stack->op_socket(*w.f->ring, w.table);
    uapi::io_uring_sqe c{};
    zcrx::prep_connect(&c, s, 0x0a000009, 9000, 10);  // 10.0.0.9: nobody answers ARP
    w.submit(c);
    uapi::io_uring_sqe sd{};
    zcrx::prep_send(&sd, s, txbuf.data(), 100, 11);
    w.submit(sd);
    zcrx::prep_send(&sd, s, txbuf.data() + 100, 200, 12);
    w.submit(sd);
    for (int i = 0; i < 10; i++) w.step();
    q.reap();
    CHECK(q.got.empty());  // all three wait
    w.submit(cancel_sqe(12, 93));
    check_cancelled(q.wait(12));
    CHECK(q.wait(93).cqe.res == 0);
    // The handshake goes on, as in Linux: a second CONNECT is -EALREADY.
    zcrx::prep_connect(&c, s, 0x0a000009, 9000, 14);
    w.submit(c);
    CHECK(q.wait(14).cqe.res == -EALREADY);
    uapi::io_uring_sqe cf{};
    zcrx::prep_cancel_fd(&cf, s, 94, uapi::kAsyncCancelAll);
    w.submit(cf);
    check_cancelled(q.wait(10));
    check_cancelled(q.wait(11));
    CHECK(q.wait(94).cqe.res == 2);
    w.submit(cancel_sqe(10, 95));
    CHECK(q.wait(95).cqe.res == -ENOENT);
    uapi::io_uring_sqe cl{};
    zcrx::prep_close(&cl, s, 16);
    w.submit(cl);
    CHECK(q.wait(16).cqe.res == 0);
  }

  SUBCASE("a SEND cancelled after part of it was copied completes with that count") {
    const int s = w.stack->op_socket(*w.f->ring, w.table);
    uapi::io_uring_sqe c{};
    zcrx::prep_connect(&c, s, kPeerIp, 9000, 30);
    w.submit(c);
    REQUIRE(q.wait(30).cqe.res == 0);
    // 200000 bytes against a 64 KiB send buffer: the first part is copied
    // at once, the cancel in the same batch finds the rest waiting.
    uapi::io_uring_sqe sd{};
    zcrx::prep_send(&sd, s, txbuf.data(), 200000, 31);
    w.submit(sd);
    w.submit(cancel_sqe(31, 96));
    const auto sent = q.wait(31);
    CHECK(q.wait(96).cqe.res == 0);
    CHECK((sent.cqe.flags & uapi::kCqeFMore) == 0);
    REQUIRE(sent.cqe.res > 0);
    REQUIRE(sent.cqe.res < 200000);
    const uint32_t part = uint32_t(sent.cqe.res);
    // The stream goes on after those bytes.
    zcrx::prep_send(&sd, s, txbuf.data() + part, 1000, 32);
    w.submit(sd);
    CHECK(q.wait(32).cqe.res == 1000);
    REQUIRE(w.run_until([&] { return w.peer.received.size() >= part + 1000u; }));
    for (int i = 0; i < 50; i++) w.step();
    REQUIRE(w.peer.received.size() == part + 1000u);
    CHECK(tcp_pattern_count_mismatches(w.peer.received.data(), part + 1000, 0, 0) == 0);
  }
}

// A multishot ACCEPT that found no room goes on by itself once there is:
// no SQE and no new connection needed.
TEST_CASE("ACCEPT blocked by a full socket table or CQ resumes when room comes back") {
  World w;
  Cqes q(w);
  w.listen_and_accept(1);
  auto accepted_within = [&](int ms) {
    return w.run_until([&] { return q.has(1); }, ms);
  };

  SUBCASE("the socket table") {
    std::vector<int> fill;
    for (uint32_t i = 1; i < kMaxSocketsPerRing; i++)
      fill.push_back(w.stack->op_socket(*w.f->ring, w.table));
    REQUIRE(w.table.open == kMaxSocketsPerRing);
    CHECK(w.stack->op_socket(*w.f->ring, w.table) == -EMFILE);
    tcp::FourTuple t{{kPeerIp, 0}, {kZcrxdIp, kPort}};
    REQUIRE(w.peer.eng->connect(t, nullptr, &w.peer.conn, now_us()) == 0);
    REQUIRE(w.run_until([&] { return w.peer.connect_result == 0; }));
    CHECK_FALSE(accepted_within(200));  // no handle to give
    uapi::io_uring_sqe cl{};
    zcrx::prep_close(&cl, fill.back(), 3);
    w.submit(cl);
    CHECK(q.wait(3).cqe.res == 0);
    REQUIRE(accepted_within(3000));
    const auto c = q.wait(1);
    CHECK(c.cqe.res == fill.back());  // the freed slot
    CHECK((c.cqe.flags & uapi::kCqeFMore) != 0);
  }

  SUBCASE("the CQ") {
    // NOPs (two CQEs reserved each) leave one free CQE: the first
    // connection's ACCEPT takes it, the second finds the CQ full.
    const uint32_t cq = w.ring_cq_entries();
    for (uint32_t sent = 0; sent < cq - 1;) {
      uapi::io_uring_sqe n{};
      zcrx::prep_nop(&n, 7);
      if (w.sq.push(n)) {
        sent++;
        continue;
      }
      w.step();
    }
    REQUIRE(w.run_until([&] { return w.f->ring->cq_room() == 1; }));
    tcp::Conn* c1 = nullptr;
    tcp::Conn* c2 = nullptr;
    tcp::FourTuple t{{kPeerIp, 0}, {kZcrxdIp, kPort}};
    REQUIRE(w.peer.eng->connect(t, nullptr, &c1, now_us()) == 0);
    REQUIRE(w.peer.eng->connect(t, nullptr, &c2, now_us()) == 0);
    REQUIRE(w.run_until([&] {
      return c1->state() == tcp::State::established && c2->state() == tcp::State::established;
    }));
    for (int i = 0; i < 50; i++) w.step();
    CHECK(w.f->ring->cq_room() == 0);
    // The consumer reaps: one ACCEPT among the NOPs.
    q.reap();
    uint32_t accepts = 0;
    for (const auto& c : q.got) accepts += c.cqe.user_data == 1;
    CHECK(accepts == 1);
    CHECK(q.got.size() == cq);
    q.got.clear();
    // The second comes once the CQ head moved.
    REQUIRE(accepted_within(3000));
    const auto c = q.wait(1);
    CHECK(c.cqe.res >= int(zcrx::proto::kSocketHandleBase));
    CHECK((c.cqe.flags & uapi::kCqeFMore) != 0);
  }
}

// CLOSE_SOCKET (close(2) outside the ring): what IORING_OP_CLOSE does,
// without a CQE of its own, refused with -EBADF for what is not a socket
// of this ring.
TEST_CASE("CLOSE_SOCKET closes a connection (FIN) and a listener (backlog reset), no CQE") {
  World w;
  Cqes q(w);
  const int ls = w.stack->op_socket(*w.f->ring, w.table);
  REQUIRE(w.stack->op_bind(w.table, uint32_t(ls), 0, kPort) == 0);
  REQUIRE(w.stack->op_listen(w.table, uint32_t(ls), 8) == 0);
  uapi::io_uring_sqe a{};
  zcrx::prep_accept(&a, ls, false, 1);
  w.submit(a);
  tcp::FourTuple t{{kPeerIp, 0}, {kZcrxdIp, kPort}};
  tcp::Conn* c1 = nullptr;
  REQUIRE(w.peer.eng->connect(t, nullptr, &c1, now_us()) == 0);
  const auto acc = q.wait(1);
  REQUIRE(acc.cqe.res >= int(zcrx::proto::kSocketHandleBase));
  const int h = acc.cqe.res;
  // A second connection waits in the accept queue, never accepted.
  REQUIRE(w.peer.eng->connect(t, nullptr, &w.peer.conn, now_us()) == 0);
  REQUIRE(w.run_until([&] { return w.peer.connect_result == 0; }));
  uapi::io_uring_sqe r{};
  zcrx::prep_recv_zc(&r, h, w.f->zcrx_id, 0, true, 2);
  w.submit(r);
  for (int i = 0; i < 20; i++) w.step();

  // Not a socket of this ring: a flow's handle, a free slot, a handle
  // past the table, another ring's table.
  CHECK(w.stack->op_close(w.table, 0) == -EBADF);
  CHECK(w.stack->op_close(w.table, zcrx::proto::kSocketHandleBase - 1) == -EBADF);
  CHECK(w.stack->op_close(w.table, uint32_t(h) + 1) == -EBADF);
  CHECK(w.stack->op_close(w.table, UINT32_MAX) == -EBADF);
  SocketTable other;
  CHECK(w.stack->op_close(other, uint32_t(h)) == -EBADF);
  zcrx::proto::SockNameReply sn{};
  REQUIRE(w.stack->op_sockname(w.table, uint32_t(h), &sn) == 0);
  CHECK(sn.state == uint8_t(tcp::State::established));  // untouched by the refusals

  // The connection: its RECV_ZC ends -ECANCELED, the peer gets a FIN.
  REQUIRE(w.stack->op_close(w.table, uint32_t(h)) == 0);
  const auto rc = q.wait(2);
  CHECK(rc.cqe.res == -ECANCELED);
  CHECK((rc.cqe.flags & uapi::kCqeFMore) == 0);
  REQUIRE(w.run_until([&] { return c1->state() == tcp::State::close_wait; }));
  CHECK(w.stack->op_close(w.table, uint32_t(h)) == -EBADF);  // closed already
  CHECK(w.stack->op_sockname(w.table, uint32_t(h), &sn) == -EBADF);

  // The listener: the connection it never handed out is reset, and the
  // port is free for a new listener at once.
  REQUIRE(w.stack->op_close(w.table, uint32_t(ls)) == 0);
  REQUIRE(w.run_until([&] { return w.peer.end_result == -ECONNRESET; }));
  CHECK(w.stack->op_close(w.table, uint32_t(ls)) == -EBADF);
  const int ls2 = w.stack->op_socket(*w.f->ring, w.table);
  REQUIRE(ls2 >= int(zcrx::proto::kSocketHandleBase));
  CHECK(w.stack->op_bind(w.table, uint32_t(ls2), 0, kPort) == 0);
  CHECK(w.stack->op_listen(w.table, uint32_t(ls2), 8) == 0);

  // Neither close posted a CQE.
  for (int i = 0; i < 50; i++) w.step();
  q.reap();
  CHECK(q.got.empty());
}

int main(int argc, char** argv) {
  return zcrxd::testing::run_doctest_under_eal(argc, argv, "zcrxd_tcpdp_", "512", {});
}
