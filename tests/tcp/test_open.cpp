// SPDX-License-Identifier: MIT
// Opening connections: passive (RFC 9293 3.10.7.2, 3.5), active (3.10.7.3),
// simultaneous open (3.5 figure 8), segments of no connection (3.10.7.1),
// backlog limits, handshake retransmission, lookup and port choice.
#include <cerrno>

#include "harness.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

TEST_CASE("RFC 9293 3.10.7.2: LISTEN + SYN -> SYN-RECEIVED (SYN-ACK), + ACK -> ESTABLISHED, accept") {
  Harness h;
  h.listen(4);
  PeerSeg s = h.seg(kSyn, 7000);
  s.opt_mss(1200);
  h.in(s);
  const TxSegment sa = h.one_tx();
  CHECK(sa.flags == (kSyn | kAck));
  CHECK(sa.ack == 7001);
  CHECK(sa.opts.mss == 1000);
  CHECK(sa.opts.wscale == -1);  // the SYN offered no scaling: none in the SYN-ACK
  CHECK_FALSE(sa.opts.sack_permitted);
  CHECK_FALSE(sa.opts.has_timestamps);
  CHECK(sa.tuple.local.port == 80);
  CHECK(sa.tuple.remote.port == 40000);
  CHECK(h.eng->accept(h.listener) == nullptr);
  CHECK(h.host.count(Event::accept_ready) == 0);

  PeerSeg a = h.seg(kAck, 7001, sa.seq + 1);
  h.in(a);
  h.no_tx();
  CHECK(h.host.count(Event::accept_ready) == 1);
  CHECK(h.listener->queued() == 1);
  Conn* c = h.eng->accept(h.listener);
  REQUIRE(c);
  CHECK(c->state() == State::established);
  CHECK(h.listener->queued() == 0);
  CHECK(h.eng->accept(h.listener) == nullptr);
  CHECK(h.eng->stats().conns_live == 1);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.8.1: SYN-ACK retransmitted with backoff, then the child is dropped silently") {
  Config cfg = Harness::quiet_config();
  cfg.synack_retries = 2;
  Harness h(cfg);
  h.listen();
  h.in(h.seg(kSyn, 100));
  const TxSegment first = h.one_tx();
  h.advance(cfg.rto_initial_us - 1);
  h.no_tx();
  h.advance(1);
  TxSegment again = h.one_tx();
  CHECK(again.flags == (kSyn | kAck));
  CHECK(again.seq == first.seq);
  CHECK(again.retransmit);
  h.advance(2 * cfg.rto_initial_us - 1);  // backed off: 2 s
  h.no_tx();
  h.advance(1);
  CHECK(h.one_tx().flags == (kSyn | kAck));
  h.advance(4 * cfg.rto_initial_us);  // retries exhausted
  h.no_tx();
  CHECK(h.eng->stats().conns_live == 0);
  CHECK(h.host.events.empty());  // never visible: no ended()
  // The late ACK now finds only the listener: a RST.
  h.in(h.seg(kAck, 101, first.seq + 1));
  const TxSegment r = h.one_tx();
  CHECK(r.flags == kRst);
  CHECK(r.seq == first.seq + 1);
  h.check_clean();
}

TEST_CASE("SYN-RECEIVED: the peer's SYN again (our SYN-ACK lost) gets the SYN-ACK again (Linux tcp_check_req)") {
  Harness h;
  h.listen();
  h.in(h.seg(kSyn, 100));
  const TxSegment first = h.one_tx();
  h.now += 1000;
  h.in(h.seg(kSyn, 100));
  const TxSegment again = h.one_tx();
  CHECK(again.flags == (kSyn | kAck));
  CHECK(again.seq == first.seq);
  CHECK(again.ack == 101);
  CHECK(h.eng->stats().conns_live == 1);
}

TEST_CASE("backlog: a SYN to a full accept queue is dropped and counted (Linux tcp_conn_request)") {
  Harness h;
  h.listen(1);
  h.remote.port = 1;
  h.in(h.seg(kSyn, 100));
  const TxSegment sa = h.one_tx();
  h.in(h.seg(kAck, 101, sa.seq + 1));
  CHECK(h.listener->queued() == 1);
  h.remote.port = 2;
  h.in(h.seg(kSyn, 500));
  h.no_tx();
  CHECK(h.eng->stats().syn_dropped_backlog == 1);
  CHECK(h.eng->stats().conns_live == 1);
  // accept() makes room: the retransmitted SYN gets through.
  REQUIRE(h.eng->accept(h.listener));
  h.in(h.seg(kSyn, 500));
  CHECK(h.one_tx().flags == (kSyn | kAck));
}

TEST_CASE("backlog: SYN queue full drops the SYN; third ACK to a full accept queue is dropped and counted") {
  Harness h;
  h.listen(2);
  uint32_t iss[4];
  for (uint16_t p = 1; p <= 2; p++) {
    h.remote.port = p;
    h.in(h.seg(kSyn, 100 * p));
    iss[p] = h.one_tx().seq;
  }
  h.remote.port = 3;
  h.in(h.seg(kSyn, 300));
  h.no_tx();
  CHECK(h.eng->stats().syn_dropped_backlog == 1);  // SYN queue at the backlog
  h.remote.port = 1;
  h.in(h.seg(kAck, 101, iss[1] + 1));
  h.remote.port = 3;
  h.in(h.seg(kSyn, 300));
  iss[3] = h.one_tx().seq;
  h.remote.port = 2;
  h.in(h.seg(kAck, 201, iss[2] + 1));
  CHECK(h.listener->queued() == 2);
  h.remote.port = 3;
  h.in(h.seg(kAck, 301, iss[3] + 1));  // accept queue full
  CHECK(h.eng->stats().accept_overflows == 1);
  CHECK(h.listener->queued() == 2);
  h.no_tx();
  REQUIRE(h.eng->accept(h.listener));
  h.in(h.seg(kAck, 301, iss[3] + 1));  // the peer's next try goes in
  CHECK(h.listener->queued() == 2);
  CHECK(h.host.count(Event::accept_ready) == 3);
}

TEST_CASE("RFC 9293 3.10.7.2: LISTEN ignores a RST, answers an ACK with <SEQ=SEG.ACK><CTL=RST>") {
  Harness h;
  h.listen();
  h.in(h.seg(kRst, 100));
  h.no_tx();
  h.in(h.seg(kAck, 100, 777));
  const TxSegment r = h.one_tx();
  CHECK(r.flags == kRst);
  CHECK(r.seq == 777);
  CHECK(h.eng->stats().conns_live == 0);
}

TEST_CASE("RFC 9293 3.10.7.1: a segment of no connection gets a RST; a RST gets nothing; payload released") {
  Harness h;
  // No ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and FIN count.
  PeerSeg d = h.seg(kFin, 1000);
  h.payload(d, 300, 100);
  h.in(d);
  TxSegment r = h.one_tx();
  CHECK(r.flags == (kRst | kAck));
  CHECK(r.seq == 0);
  CHECK(r.ack == 1301);
  CHECK(h.host.released.size() == 3);
  h.in(h.seg(kSyn, 50));
  r = h.one_tx();
  CHECK(r.ack == 51);
  // ACK bit: <SEQ=SEG.ACK><CTL=RST>.
  h.in(h.seg(kAck, 1000, 4242));
  r = h.one_tx();
  CHECK(r.flags == kRst);
  CHECK(r.seq == 4242);
  h.in(h.seg(kRst | kAck, 1000, 1));
  h.no_tx();
  CHECK(h.eng->stats().rst_out_no_conn == 3);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.10.7.3: connect: SYN with our options, SYN-ACK -> ESTABLISHED, ACK, connected(0)") {
  Config cfg = Harness::quiet_config();
  cfg.timestamps = true;
  cfg.sack = true;
  Harness h(cfg);
  Conn* c = nullptr;
  REQUIRE(h.eng->connect(h.tuple(), &h, &c, h.now) == 0);
  CHECK(c->user() == &h);
  CHECK(c->state() == State::syn_sent);
  const TxSegment syn = h.one_tx();
  CHECK(syn.flags == kSyn);
  CHECK(syn.opts.mss == 1000);
  CHECK(syn.opts.wscale == 7);
  CHECK(syn.opts.sack_permitted);
  CHECK(syn.opts.has_timestamps);
  CHECK(syn.opts.tsecr == 0);
  CHECK(h.eng->send(c, 10, h.now) == -EAGAIN);
  PeerSeg sa = h.seg(kSyn | kAck, 9000, syn.seq + 1);
  sa.opt_mss(1460).opt_ws(2).opt_sack_ok().opt_ts(555, syn.opts.tsval);
  h.now += 300;
  h.in(sa);
  const TxSegment a = h.one_tx();
  CHECK(a.flags == kAck);
  CHECK(a.seq == syn.seq + 1);
  CHECK(a.ack == 9001);
  CHECK(a.opts.has_timestamps);
  CHECK(a.opts.tsecr == 555);
  CHECK(c->state() == State::established);
  REQUIRE(h.host.count(Event::connected) == 1);
  CHECK(h.host.last(Event::connected)->result == 0);
  CHECK(c->srtt_us() == 300);  // the SYN was timed (RFC 6298 2)
}

TEST_CASE("RFC 9293 3.8.1: SYN retransmitted with backoff, then -ETIMEDOUT (connected, then ended)") {
  Config cfg = Harness::quiet_config();
  cfg.syn_retries = 2;
  Harness h(cfg);
  Conn* c = nullptr;
  REQUIRE(h.eng->connect(h.tuple(), nullptr, &c, h.now) == 0);
  const TxSegment syn = h.one_tx();
  h.advance(1000000);
  TxSegment r = h.one_tx();
  CHECK(r.flags == kSyn);
  CHECK(r.seq == syn.seq);
  CHECK(r.retransmit);
  h.advance(1999999);
  h.no_tx();
  h.advance(1);
  CHECK(h.one_tx().flags == kSyn);
  CHECK(h.host.events.empty());
  h.advance(4000000);
  h.no_tx();
  REQUIRE(h.host.events.size() == 2);
  CHECK(h.host.events[0].kind == Event::connected);
  CHECK(h.host.events[0].result == -ETIMEDOUT);
  CHECK(h.host.events[1].kind == Event::ended);
  CHECK(h.host.events[1].result == -ETIMEDOUT);
  CHECK(h.eng->stats().conns_live == 0);
}

TEST_CASE("RFC 9293 3.10.7.3 / RFC 5961 3.2: SYN-SENT: RST with the right ACK refuses; without ACK ignored; bad ACK gets RST") {
  Harness h;
  Conn* c = nullptr;
  REQUIRE(h.eng->connect(h.tuple(), nullptr, &c, h.now) == 0);
  const uint32_t iss = h.one_tx().seq;
  h.in(h.seg(kRst, 0));  // no ACK: ignored
  h.in(h.seg(kRst | kAck, 0, iss + 5));  // unacceptable ACK: dropped
  h.no_tx();
  CHECK(c->state() == State::syn_sent);
  h.in(h.seg(kAck, 77, iss + 9));  // an ACK of something else: a RST answers it
  TxSegment r = h.one_tx();
  CHECK(r.flags == kRst);
  CHECK(r.seq == iss + 9);
  CHECK(c->state() == State::syn_sent);
  h.in(h.seg(kRst | kAck, 0, iss + 1));
  h.no_tx();
  REQUIRE(h.host.events.size() == 2);
  CHECK(h.host.events[0].kind == Event::connected);
  CHECK(h.host.events[0].result == -ECONNREFUSED);
  CHECK(h.host.events[1].kind == Event::ended);
  CHECK(h.host.events[1].result == -ECONNREFUSED);
}

TEST_CASE("RFC 9293 3.5 figure 8: simultaneous open (SYN-SENT + SYN -> SYN-RECEIVED, + SYN-ACK -> ESTABLISHED)") {
  Harness h;
  Conn* c = nullptr;
  REQUIRE(h.eng->connect(h.tuple(), nullptr, &c, h.now) == 0);
  const uint32_t iss = h.one_tx().seq;
  PeerSeg syn = h.seg(kSyn, 3000);
  syn.opt_mss(1000);
  h.in(syn);
  CHECK(c->state() == State::syn_received);
  const TxSegment sa = h.one_tx();
  CHECK(sa.flags == (kSyn | kAck));
  CHECK(sa.seq == iss);
  CHECK(sa.ack == 3001);
  CHECK(h.host.events.empty());
  // The peer's SYN-ACK: ACK of our SYN with its SYN repeated.
  h.in(h.seg(kSyn | kAck, 3000, iss + 1));
  CHECK(c->state() == State::established);
  REQUIRE(h.host.count(Event::connected) == 1);
  CHECK(h.host.last(Event::connected)->result == 0);
  // Data flows both ways from here.
  REQUIRE(h.eng->send(c, 100, h.now) == 0);
  const TxSegment d = h.one_tx();
  CHECK(d.seq == iss + 1);
  CHECK(d.len == 100);
}

TEST_CASE("listeners: exact local address first, then any-address; listen errors") {
  Harness h;
  Listener* any = nullptr;
  Listener* exact = nullptr;
  int tag_any = 0, tag_exact = 0;
  REQUIRE(h.eng->listen(Endpoint{0, 80}, 4, &tag_any, &any) == 0);
  REQUIRE(h.eng->listen(Endpoint{0x0a000001, 80}, 4, &tag_exact, &exact) == 0);
  Listener* dup = nullptr;
  CHECK(h.eng->listen(Endpoint{0, 80}, 4, nullptr, &dup) == -EADDRINUSE);
  CHECK(h.eng->listen(Endpoint{0, 0}, 4, nullptr, &dup) == -EINVAL);
  CHECK(h.eng->listen(Endpoint{0, 81}, 0, nullptr, &dup) == -EINVAL);
  h.in(h.seg(kSyn, 1));
  const uint32_t iss1 = h.one_tx().seq;
  h.in(h.seg(kAck, 2, iss1 + 1));
  h.local.addr = 0x0a000009;  // another of our addresses
  h.in(h.seg(kSyn, 1));
  const uint32_t iss2 = h.one_tx().seq;
  h.in(h.seg(kAck, 2, iss2 + 1));
  CHECK(exact->queued() == 1);
  CHECK(any->queued() == 1);
  CHECK(h.host.events[0].listener == exact);
  CHECK(h.host.events[1].listener == any);
  CHECK(any->user() == &tag_any);
  CHECK(exact->backlog() == 4);

  Config small = Harness::quiet_config();
  small.max_listeners = 1;
  Harness h2(small);
  Listener* l = nullptr;
  REQUIRE(h2.eng->listen(Endpoint{0, 1}, 1, nullptr, &l) == 0);
  CHECK(h2.eng->listen(Endpoint{0, 2}, 1, nullptr, &l) == -ENOBUFS);
}

TEST_CASE("close_listener: children not accepted are reset and end; SYN-RECEIVED ones go silently") {
  Harness h;
  h.listen();
  h.remote.port = 1;
  h.in(h.seg(kSyn, 100));
  const uint32_t iss = h.one_tx().seq;
  h.in(h.seg(kAck, 101, iss + 1));
  h.remote.port = 2;
  h.in(h.seg(kSyn, 200));
  h.take_tx();
  h.eng->close_listener(h.listener);
  const auto rsts = h.take_tx();
  REQUIRE(rsts.size() == 2);
  CHECK(rsts[0].flags == kRst);
  CHECK(rsts[1].flags == kRst);
  CHECK(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == -ECONNABORTED);
  CHECK(h.eng->stats().conns_live == 0);
  CHECK(h.eng->stats().listeners_live == 0);
  // The port is free again and a SYN now gets a RST.
  h.in(h.seg(kSyn, 300));
  CHECK(h.one_tx().flags == (kRst | kAck));
}

TEST_CASE("pools: no connection slot refuses SYN (counted) and connect (-ENOBUFS)") {
  Config cfg = Harness::quiet_config();
  cfg.max_conns = 1;
  Harness h(cfg);
  h.open_passive();
  h.remote.port = 2;
  h.in(h.seg(kSyn, 1));
  h.no_tx();
  CHECK(h.eng->stats().conns_refused_pool == 1);
  Conn* c = nullptr;
  CHECK(h.eng->connect(FourTuple{h.local, {0x0a000003, 9}}, nullptr, &c, h.now) == -ENOBUFS);
}

TEST_CASE("connect: ephemeral ports from the range, tuples in use refused, range exhausted") {
  Config cfg = Harness::quiet_config();
  cfg.ephemeral_port_lo = 5000;
  cfg.ephemeral_port_hi = 5002;
  Harness h(cfg);
  FourTuple t{{0x0a000001, 0}, {0x0a000002, 443}};
  Conn* c[4] = {};
  uint16_t ports[3];
  for (int i = 0; i < 3; i++) {
    REQUIRE(h.eng->connect(t, nullptr, &c[i], h.now) == 0);
    ports[i] = c[i]->tuple().local.port;
    CHECK(ports[i] >= 5000);
    CHECK(ports[i] <= 5002);
  }
  CHECK(ports[0] != ports[1]);
  CHECK(ports[1] != ports[2]);
  CHECK(ports[0] != ports[2]);
  CHECK(h.eng->connect(t, nullptr, &c[3], h.now) == -EADDRNOTAVAIL);
  // Another remote port has all three free again.
  FourTuple other = t;
  other.remote.port = 444;
  CHECK(h.eng->connect(other, nullptr, &c[3], h.now) == 0);
  // An explicit tuple in use.
  FourTuple taken = c[0]->tuple();
  Conn* x = nullptr;
  CHECK(h.eng->connect(taken, nullptr, &x, h.now) == -EADDRINUSE);
  FourTuple bad = t;
  bad.remote.port = 0;
  CHECK(h.eng->connect(bad, nullptr, &x, h.now) == -EINVAL);
}

TEST_CASE("RFC 6528: the ISN depends on the tuple and the key, and advances with the clock") {
  Harness h;
  Conn* c = nullptr;
  REQUIRE(h.eng->connect(h.tuple(), nullptr, &c, h.now) == 0);
  const uint32_t a = h.one_tx().seq;
  FourTuple t2 = h.tuple();
  t2.local.port = 81;
  REQUIRE(h.eng->connect(t2, nullptr, &c, h.now) == 0);
  const uint32_t b = h.one_tx().seq;
  CHECK(a != b);
  // Same tuple later (after the first went away): + 1 per 4 us.
  h.eng->abort(c, h.now);
  h.take_tx();
  REQUIRE(h.eng->connect(t2, nullptr, &c, h.now + 4000) == 0);
  CHECK(h.one_tx().seq == b + 1000);
  // Another key, same tuple and time: another ISN.
  Config k = Harness::quiet_config();
  k.isn_key[0] ^= 1;
  Harness h2(k);
  REQUIRE(h2.eng->connect(h2.tuple(), nullptr, &c, h2.now) == 0);
  CHECK(h2.one_tx().seq != a);
}
