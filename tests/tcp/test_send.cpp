// SPDX-License-Identifier: MIT
// Sending: segmentation by the effective MSS, stream offsets and
// send_acked, the send buffer bound, sender SWS avoidance and Nagle (RFC
// 9293 3.8.6.2.1, 3.7.4), slow start (RFC 5681 3.1), the persist timer and
// zero-window probes (3.8.6.1), a FIN that needs window, lost transmits.
#include <cerrno>

#include "harness.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

TEST_CASE("send: segments of the MSS with stream offsets, PSH on the last; send_acked follows the ACKs") {
  Harness h;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 3500, h.now) == 0);
  const auto segs = h.take_tx();
  REQUIRE(segs.size() == 4);
  for (int i = 0; i < 4; i++) {
    CHECK(segs[i].stream_off == 1000u * i);
    CHECK(segs[i].seq == h.our_seq(1000u * i));
    CHECK(segs[i].flags == (i == 3 ? (kAck | kPsh) : kAck));
    CHECK_FALSE(segs[i].retransmit);
  }
  CHECK(segs[3].len == 500);
  h.ack_to(2500);
  REQUIRE(h.host.acked.size() == 1);
  CHECK(h.host.acked[0] == 2500);
  h.ack_to(3500);
  CHECK(h.host.acked.back() == 3500);
  CHECK(c->stats().bytes_out == 3500);
  CHECK(c->stats().segs_out == 4 + 1);  // + the SYN-ACK
  // Nothing outstanding: the RTO is off. Its old deadline may still wake
  // poll() once (keys are early, never late), which then finds nothing.
  const uint64_t d = h.eng->next_deadline();
  REQUIRE(d != UINT64_MAX);
  h.advance(d - h.now);
  h.no_tx();
  CHECK(h.eng->next_deadline() == UINT64_MAX);
}

TEST_CASE("send: send_space is sndbuf minus what is unacknowledged; more is -ENOBUFS, nothing taken") {
  Config cfg = Harness::quiet_config();
  cfg.sndbuf = 5000;
  Harness h(cfg);
  Conn* c = h.open_passive();
  CHECK(h.eng->send_space(c) == 5000);
  REQUIRE(h.eng->send(c, 4000, h.now) == 0);
  CHECK(h.eng->send_space(c) == 1000);
  CHECK(h.eng->send(c, 1001, h.now) == -ENOBUFS);
  h.take_tx();
  h.ack_to(2000);
  CHECK(h.eng->send_space(c) == 3000);
  REQUIRE(h.eng->send(c, 3000, h.now) == 0);
  CHECK(h.eng->send_space(c) == 0);
}

TEST_CASE("RFC 5681 3.1 / RFC 6928: initial window of 10 segments, slow start grows it by what is acked") {
  Harness h;
  Conn* c = h.open_passive();
  CHECK(c->cwnd() == 10000);
  REQUIRE(h.eng->send(c, 100000, h.now) == 0);
  CHECK(h.take_tx().size() == 10);
  h.ack_to(1000);
  CHECK(c->cwnd() == 11000);
  CHECK(h.take_tx().size() == 2);  // one acked + one more of window
  h.ack_to(5000);                  // a stretch ACK: at most 2 SMSS of growth
  CHECK(c->cwnd() == 13000);
  CHECK(h.take_tx().size() == 6);
}

TEST_CASE("RFC 5681 3.1: congestion avoidance adds one SMSS per window acknowledged") {
  Harness h;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 200000, h.now) == 0);
  h.take_tx();
  // A timeout sets ssthresh to half the flight (5000) and cwnd to 1 SMSS.
  h.advance(h.cfg.rto_initial_us);
  CHECK(c->ssthresh() == 5000);
  CHECK(c->cwnd() == 1000);
  h.take_tx();
  uint64_t off = 0;
  while (c->cwnd() < c->ssthresh()) {
    off += 1000;
    h.ack_to(off);
    h.take_tx();
  }
  CHECK(c->cwnd() == 5000);
  for (int i = 0; i < 4; i++) {
    off += 1000;
    h.ack_to(off);
  }
  CHECK(c->cwnd() == 5000);
  off += 1000;
  h.ack_to(off);  // 5000 bytes acked in avoidance: + 1 SMSS
  CHECK(c->cwnd() == 6000);
}

TEST_CASE("RFC 9293 3.8.6.2.1: sender SWS avoidance: a small usable window waits unless all the data fits") {
  Harness h;
  Conn* c = h.open_passive(Options{}, 1500);
  REQUIRE(h.eng->send(c, 3000, h.now) == 0);
  auto segs = h.take_tx();
  REQUIRE(segs.size() == 1);  // 1000, then 500 < max window / 2 = 750 with 2000 queued
  CHECK(segs[0].len == 1000);
  h.ack_to(1000, 1500);
  segs = h.take_tx();
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].len == 1000);
  // All that is left fits: it goes, small as it is.
  h.ack_to(2000, 1500);
  segs = h.take_tx();
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].len == 1000);
  Harness g;
  Conn* d = g.open_passive(Options{}, 1500);
  REQUIRE(g.eng->send(d, 300, g.now) == 0);
  CHECK(g.one_tx().len == 300);
  REQUIRE(g.eng->send(d, 300, g.now) == 0);
  CHECK(g.one_tx().len == 300);  // Nagle off: no wait for the ACK
}

TEST_CASE("RFC 9293 3.7.4: with Nagle a small segment waits while data is unacknowledged") {
  Config cfg = Harness::quiet_config();
  cfg.nagle = true;
  Harness h(cfg);
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 100, h.now) == 0);
  CHECK(h.one_tx().len == 100);
  REQUIRE(h.eng->send(c, 100, h.now) == 0);
  REQUIRE(h.eng->send(c, 100, h.now) == 0);
  h.no_tx();
  REQUIRE(h.eng->send(c, 1000, h.now) == 0);
  CHECK(h.one_tx().len == 1000);  // a full segment is never held
  h.ack_to(1100);
  const TxSegment t = h.one_tx();
  CHECK(t.len == 200);
  CHECK(t.stream_off == 1100);
}

TEST_CASE("RFC 9293 3.8.6.1: persist timer: zero-window probes with backoff; the window opening resumes data") {
  Harness h;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 1000, h.now) == 0);
  h.take_tx();
  h.ack_to(1000, 0);  // acknowledged, and the window closed
  CHECK(c->snd_wnd() == 0);
  REQUIRE(h.eng->send(c, 5000, h.now) == 0);
  h.no_tx();
  const uint32_t rto = c->rto_us();
  h.advance(rto - 1);
  h.no_tx();
  h.advance(1);
  TxSegment p = h.one_tx();
  CHECK(p.flags == kAck);
  CHECK(p.len == 0);
  CHECK(p.seq == h.our_seq(1000) - 1);  // out of the window: it must be ACKed
  CHECK(c->stats().zero_window_probes == 1);
  h.advance(2 * rto - 1);
  h.no_tx();
  h.advance(1);
  CHECK(h.one_tx().seq == h.our_seq(1000) - 1);
  h.ack_to(1000, 0);  // the probe's answer: still closed
  h.advance(4 * rto);
  CHECK(c->stats().zero_window_probes == 3);
  h.take_tx();
  h.ack_to(1000, 3000);  // a window update
  const auto segs = h.take_tx();
  REQUIRE(segs.size() == 3);
  CHECK(segs[0].stream_off == 1000);
  CHECK(c->state() == State::established);
  CHECK(c->stats().rto_expiries == 0);
}

TEST_CASE("RFC 9293 3.8.6.2.1 (4): the persist timer overrides SWS avoidance and sends what a small window takes") {
  Harness h;
  Conn* c = h.open_passive(Options{}, 4000);
  REQUIRE(h.eng->send(c, 4000, h.now) == 0);
  h.take_tx();
  h.ack_to(4000, 1000);
  REQUIRE(h.eng->send(c, 5000, h.now) == 0);
  auto segs = h.take_tx();
  REQUIRE(segs.size() == 1);  // a full segment fits the 1000 of window
  h.ack_to(5000, 500);        // 500 < 4000 / 2 and 4000 queued: SWS waits
  h.no_tx();
  h.advance(c->rto_us());
  segs = h.take_tx();
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].len == 500);
  CHECK(segs[0].stream_off == 5000);
}

TEST_CASE("FIN: takes one byte of window; a closed window holds it until a probe's answer opens it") {
  Harness h;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 1000, h.now) == 0);
  h.take_tx();
  h.ack_to(1000, 0);
  REQUIRE(h.eng->shutdown_write(c, h.now) == 0);
  h.no_tx();
  CHECK(c->state() == State::fin_wait_1);
  h.advance(c->rto_us());
  CHECK(h.one_tx().len == 0);  // probe
  h.ack_to(1000, 10);
  const TxSegment f = h.one_tx();
  CHECK(f.flags == (kFin | kAck));
  CHECK(f.seq == h.our_seq(1000));
}

TEST_CASE("Host::transmit false: the segment counts as lost, the retransmission timer sends it again") {
  Harness h;
  Conn* c = h.open_passive();
  h.host.tx_ok = false;
  REQUIRE(h.eng->send(c, 500, h.now) == 0);
  CHECK(h.take_tx().size() == 1);
  h.host.tx_ok = true;
  h.advance(c->rto_us());
  const TxSegment t = h.one_tx();
  CHECK(t.stream_off == 0);
  CHECK(t.len == 500);
  CHECK(t.retransmit);
}

TEST_CASE("RFC 9293 3.7.1: segments are the smaller MSS; 536 when the peer sent no MSS option") {
  Config cfg = Harness::quiet_config();
  cfg.mss = 1460;
  Harness h(cfg);
  Options syn;
  syn.mss = 900;
  Conn* c = h.open_passive(syn);
  REQUIRE(h.eng->send(c, 2000, h.now) == 0);
  CHECK(h.take_tx()[0].len == 900);

  Harness g(cfg);
  g.listen();
  g.in(g.seg(kSyn, 1));  // no options at all
  const TxSegment sa = g.one_tx();
  g.in(g.seg(kAck, 2, sa.seq + 1));
  Conn* d = g.eng->accept(g.listener);
  REQUIRE(d);
  REQUIRE(g.eng->send(d, 2000, g.now) == 0);
  CHECK(g.take_tx()[0].len == 536);
}

TEST_CASE("Host::transmit false for an ACK: it is owed still and goes after the delayed-ACK interval") {
  Harness h;
  h.open_passive();
  h.host.tx_ok = false;
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(p, 100);
  h.in(p);
  CHECK(h.take_tx().size() == 1);  // quick ACK, lost by the host
  h.host.tx_ok = true;
  h.advance(h.cfg.delayed_ack_us - 1);
  h.no_tx();
  h.advance(1);
  CHECK(h.one_tx().ack == h.peer_seq + 100);
  h.check_clean();
}
