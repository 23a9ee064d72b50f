// SPDX-License-Identifier: MIT
// The receive window we advertise (RFC 9293 3.8.6): min(rcvbuf,
// rx_capacity) minus pending bytes, zero window and the special allowance
// for its ACKs, never moving the right edge back, receiver SWS avoidance
// (3.8.6.2.2), window updates, scaling (RFC 7323 2.3).
#include "harness.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

namespace {

PeerSeg data(Harness& h, uint32_t len) {
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(p, len);
  h.peer_seq += len;
  return p;
}

}  // namespace

TEST_CASE("RFC 9293 3.8.6: the window is min(rcvbuf, rx_capacity), sent in the SYN-ACK unscaled") {
  Config cfg = Harness::quiet_config();
  cfg.rcvbuf = 30000;
  Harness h(cfg);
  h.host.capacity = 50000;
  h.listen();
  PeerSeg s = h.seg(kSyn, 1);
  s.opt_mss(1000);
  h.in(s);
  CHECK(h.one_tx().window == 30000);
  Harness g;
  g.host.capacity = 12345;
  g.listen();
  g.in(s);
  CHECK(g.one_tx().window == 12345);
}

TEST_CASE("RFC 9293 3.8.6: zero window: text at RCV.NXT is dropped with an ACK, its ACK field still taken") {
  Harness h;
  h.host.capacity = 2000;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 100, h.now) == 0);
  h.take_tx();
  h.host.capacity = 0;
  h.in(data(h, 2000));
  TxSegment a = h.one_tx();
  CHECK(a.window == 0);
  CHECK(c->rcv_wnd() == 0);
  // Window closed: a segment at RCV.NXT that also acknowledges our data.
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(100));
  h.payload(p, 500);
  h.in(p);
  a = h.one_tx();
  CHECK(a.ack == h.peer_seq);
  CHECK(a.window == 0);
  CHECK(h.host.acked.back() == 100);  // "special allowance ... to accept valid ACKs"
  CHECK(h.host.delivered_bytes == 2000);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.8.6: the right edge never moves back when capacity drops") {
  Config cfg = Harness::quiet_config();
  cfg.quickack_segments = 100;
  Harness h(cfg);
  h.host.capacity = 10000;
  Conn* c = h.open_passive();
  h.in(data(h, 1000));
  TxSegment a = h.one_tx();
  CHECK(a.window == 10000);
  const uint32_t edge = a.ack + a.window;
  h.host.capacity = 2000;  // the consumer stopped refilling
  h.in(data(h, 1000));
  a = h.one_tx();
  CHECK(a.ack + a.window == edge);
  CHECK(c->rcv_wnd() == 9000);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.8.6.2.2: receiver SWS avoidance: the edge moves only by min(buffer/2, MSS)") {
  Config cfg = Harness::quiet_config();
  cfg.quickack_segments = 100;
  Harness h(cfg);
  h.host.capacity = 4000;
  Conn* c = h.open_passive();
  h.host.capacity = 0;
  h.in(data(h, 4000));
  CHECK(h.one_tx().window == 0);
  // Capacity comes back a little at a time: no update until the edge can
  // move by a full MSS (1000 < 4000 / 2).
  h.host.capacity = 999;
  h.eng->rx_capacity_changed(c, h.now);
  h.no_tx();
  h.host.capacity = 1000;
  h.eng->rx_capacity_changed(c, h.now);
  TxSegment u = h.one_tx();
  CHECK(u.window == 1000);
  CHECK(c->stats().window_updates == 1);
  // An ACK for other reasons carries the window as SWS allows it.
  h.host.capacity = 1500;
  h.in(data(h, 100));
  u = h.one_tx();
  CHECK(u.window == 900);  // edge kept: 500 more is less than an MSS
}

TEST_CASE("window update: sent when the window opens by min(rcvbuf/2, 2*MSS); not for less") {
  Harness h;
  h.host.capacity = 10000;
  Conn* c = h.open_passive();
  h.host.take_budget = 0;
  h.in(data(h, 1000));
  h.in(data(h, 900));
  h.take_tx();
  CHECK(c->rcv_wnd() == 10000 - 1900);
  h.host.take_budget = 1;
  h.eng->rx_capacity_changed(c, h.now);  // 1000 bytes taken: opens 1000 < 2000
  h.no_tx();
  h.host.take_budget = 1;
  h.eng->rx_capacity_changed(c, h.now);  // 1900 in all: still < 2000
  h.no_tx();
  h.host.capacity = 10100;
  h.eng->rx_capacity_changed(c, h.now);  // 2000: an update
  const TxSegment u = h.one_tx();
  CHECK(u.window == 10100);
  CHECK(c->stats().window_updates == 1);
  h.check_clean();
}

TEST_CASE("RFC 7323 2.3: our window is scaled by our shift once both offered it; never in a SYN") {
  Config cfg = Harness::quiet_config();
  cfg.wscale = 4;
  cfg.rcvbuf = 1u << 20;
  Harness h(cfg);
  h.host.capacity = 1u << 20;
  h.listen();
  PeerSeg s = h.seg(kSyn, h.peer_seq);
  s.opt_mss(1000).opt_ws(3);
  h.in(s);
  const TxSegment sa = h.one_tx();
  CHECK(sa.opts.wscale == 4);
  CHECK(sa.window == 65535);  // unscaled in the SYN-ACK
  h.peer_seq++;
  h.our_iss = sa.seq;
  h.in(h.seg(kAck, h.peer_seq, sa.seq + 1));
  Conn* c = h.eng->accept(h.listener);
  REQUIRE(c);
  h.in(data(h, 100));
  const TxSegment a = h.one_tx();
  CHECK(a.window == 65535);  // 1 MiB >> 4 is 65536: the field's largest value
  // The peer's window field is scaled by its shift (3).
  REQUIRE(h.eng->send(c, 100, h.now) == 0);
  h.take_tx();
  h.ack_to(100, 100);
  CHECK(c->snd_wnd() == 800);
  h.check_clean();
}

TEST_CASE("RFC 7323 2.2: no window scaling unless both offer it") {
  Config cfg = Harness::quiet_config();
  cfg.rcvbuf = 1u << 20;
  Harness h(cfg);
  h.host.capacity = 1u << 20;
  Conn* c = h.open_passive();  // the SYN had no window scale option
  h.in(data(h, 100));
  CHECK(h.one_tx().window == 65535);
  REQUIRE(h.eng->send(c, 10, h.now) == 0);
  h.take_tx();
  h.ack_to(10, 300);
  CHECK(c->snd_wnd() == 300);
}

TEST_CASE("RFC 9293 3.8.6.2.2: a consumer smaller than one segment still sees its window open (RCV.BUFF is what it offered)") {
  // Found by the randomized test: with RCV.BUFF taken as rcvbuf, a
  // consumer of less than one MSS kept the window at zero for good.
  Harness h;
  h.host.capacity = 600;
  Conn* c = h.open_passive();
  CHECK(c->rcv_wnd() == 600);
  h.host.capacity = 0;
  h.in(data(h, 600));
  CHECK(h.one_tx().window == 0);
  h.host.capacity = 299;
  h.eng->rx_capacity_changed(c, h.now);
  h.no_tx();  // less than half of what it offered: SWS avoidance holds
  h.host.capacity = 600;
  h.eng->rx_capacity_changed(c, h.now);
  CHECK(h.one_tx().window == 600);
  h.check_clean();
}
