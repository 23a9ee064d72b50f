// SPDX-License-Identifier: MIT
// RFC 5961 (blind RST, SYN and data injection) and RFC 7323 5 (PAWS) in the
// synchronized states, and RST processing (RFC 9293 3.10.7.4 second check).
#include <cerrno>

#include "harness.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

TEST_CASE("RFC 5961 3.2: RST at exactly RCV.NXT resets: -ECONNRESET, held pieces released") {
  Harness h;
  Conn* c = h.open_passive();
  PeerSeg p = h.seg(kAck, h.peer_seq + 500, h.our_seq(0));
  h.payload(p, 100);
  h.in(p);
  h.take_tx();
  h.in(h.seg(kRst, h.peer_seq));
  h.no_tx();
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == -ECONNRESET);
  CHECK(c->end_reason() == EndReason::reset);  // still readable during ended(); slot not reused yet
  CHECK(h.eng->stats().rst_in == 1);
  h.check_clean();
}

TEST_CASE("RFC 5961 3.2: RST in the window but not exact gets a challenge ACK; the connection lives") {
  Harness h;
  Conn* c = h.open_passive();
  h.in(h.seg(kRst, h.peer_seq + 10));
  const TxSegment a = h.one_tx();
  CHECK(a.flags == kAck);
  CHECK(a.seq == h.our_seq(0));
  CHECK(a.ack == h.peer_seq);
  CHECK(c->state() == State::established);
  CHECK(c->stats().challenge_acks == 1);
  CHECK(h.eng->stats().challenge_acks == 1);
}

TEST_CASE("RFC 5961 3.2: RST outside the window is dropped silently") {
  Harness h;
  Conn* c = h.open_passive();
  h.in(h.seg(kRst, h.peer_seq + 0x40000000));
  h.in(h.seg(kRst, h.peer_seq - 1));
  h.no_tx();
  CHECK(c->state() == State::established);
  CHECK(c->stats().challenge_acks == 0);
}

TEST_CASE("RFC 5961 4.2: SYN in a synchronized state gets a challenge ACK and is dropped") {
  Harness h;
  Conn* c = h.open_passive();
  PeerSeg s = h.seg(kSyn, h.peer_seq + 5);
  h.payload(s, 10);
  h.in(s);
  const TxSegment a = h.one_tx();
  CHECK(a.flags == kAck);
  CHECK(a.ack == h.peer_seq);
  CHECK(c->state() == State::established);
  CHECK(c->stats().challenge_acks == 1);
  CHECK(h.host.delivered_bytes == 0);
  h.check_clean();
}

TEST_CASE("RFC 5961 5.2: an ACK of unsent data or older than SND.UNA - MAX.SND.WND: challenge ACK, segment dropped") {
  Harness h;
  Conn* c = h.open_passive(Options{}, 1000);
  REQUIRE(h.eng->send(c, 500, h.now) == 0);
  h.take_tx();
  PeerSeg bad = h.seg(kAck, h.peer_seq, h.our_seq(600));  // beyond SND.NXT
  h.payload(bad, 100);
  h.in(bad);
  TxSegment a = h.one_tx();
  CHECK(a.flags == kAck);
  CHECK(a.ack == h.peer_seq);  // its payload was not taken
  CHECK(h.host.delivered_bytes == 0);
  CHECK(h.host.acked.empty());
  CHECK(c->stats().challenge_acks == 1);
  // Far behind SND.UNA (more than the largest window the peer offered).
  h.in(h.seg(kAck, h.peer_seq, h.our_seq(0) - 5000));
  a = h.one_tx();
  CHECK(a.flags == kAck);
  CHECK(c->stats().challenge_acks == 2);
  // Just behind SND.UNA but within MAX.SND.WND: an old ACK, ignored.
  h.ack_to(200);
  h.in(h.seg(kAck, h.peer_seq, h.our_seq(100)));
  h.no_tx();
  CHECK(h.host.acked.back() == 200);
  h.check_clean();
}

TEST_CASE("RFC 5961 7: challenge ACKs are limited per second engine-wide, the rest counted") {
  Config cfg = Harness::quiet_config();
  cfg.challenge_ack_limit = 2;
  Harness h(cfg);
  h.open_passive();
  for (int i = 0; i < 5; i++) h.in(h.seg(kRst, h.peer_seq + 10 + i));
  CHECK(h.take_tx().size() == 2);
  CHECK(h.eng->stats().challenge_acks == 2);
  CHECK(h.eng->stats().challenge_acks_suppressed == 3);
  h.now += 1000000;
  h.in(h.seg(kRst, h.peer_seq + 10));
  CHECK(h.take_tx().size() == 1);
}

TEST_CASE("RFC 9293 3.10.7.4: RST in SYN-RECEIVED (passive) returns to LISTEN silently") {
  Harness h;
  h.listen();
  h.in(h.seg(kSyn, 100));
  h.take_tx();
  CHECK(h.eng->stats().conns_live == 1);
  h.in(h.seg(kRst, 101));
  CHECK(h.eng->stats().conns_live == 0);
  CHECK(h.host.events.empty());
  CHECK(h.listener->queued() == 0);
}

TEST_CASE("RFC 9293 3.10.7.4: RST in CLOSE-WAIT resets (-ECONNRESET); in LAST-ACK ends with 0") {
  Harness h;
  Conn* c = h.open_passive();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(0)));
  CHECK(c->state() == State::close_wait);
  h.in(h.seg(kRst, h.peer_seq + 1));
  CHECK(h.host.last(Event::ended)->result == -ECONNRESET);

  Harness l;
  Conn* d = l.open_passive();
  l.in(l.seg(kFin | kAck, l.peer_seq, l.our_seq(0)));
  l.eng->close(d, l.now);
  CHECK(d->state() == State::last_ack);
  l.in(l.seg(kRst, l.peer_seq + 1));
  CHECK(l.host.last(Event::ended)->result == 0);
}

TEST_CASE("RFC 9293 3.10.7.4: an unacceptable segment gets an ACK and its pieces back") {
  Harness h;
  Conn* c = h.open_passive();
  PeerSeg old = h.seg(kAck, h.peer_seq - 300, h.our_seq(0));
  h.payload(old, 200);
  h.in(old);
  TxSegment a = h.one_tx();
  CHECK(a.ack == h.peer_seq);
  CHECK(c->stats().dup_segments == 1);
  PeerSeg far = h.seg(kAck, h.peer_seq + 2000000, h.our_seq(0));
  h.payload(far, 200);
  h.in(far);
  a = h.one_tx();
  CHECK(a.ack == h.peer_seq);
  CHECK(c->stats().bad_segments == 1);
  h.check_clean();
}

TEST_CASE("RFC 7323 5.3: PAWS drops a segment older than TS.Recent (with an ACK); a RST is exempt") {
  Config cfg = Harness::quiet_config();
  cfg.timestamps = true;
  Harness h(cfg);
  Options syn;
  syn.has_timestamps = true;
  syn.tsval = 1000;
  Conn* c = h.open_passive(syn);
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(p, 100);
  p.opt_ts(2000, 0);
  h.in(p);
  h.take_tx();
  h.peer_seq += 100;
  PeerSeg stale = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(stale, 100);
  stale.opt_ts(1500, 0);  // older than TS.Recent (2000)
  h.in(stale);
  const TxSegment a = h.one_tx();
  CHECK(a.ack == h.peer_seq);
  CHECK(a.opts.tsecr == 2000);
  CHECK(h.host.delivered_bytes == 100);
  CHECK(c->stats().bad_segments == 1);
  PeerSeg rst = h.seg(kRst, h.peer_seq);
  rst.opt_ts(1, 0);
  h.in(rst);
  CHECK(h.host.count(Event::ended) == 1);
  h.check_clean();
}

TEST_CASE("RFC 7323 4.3: TS.Recent follows SEG.TSval only for segments at or before Last.ACK.sent") {
  Config cfg = Harness::quiet_config();
  cfg.timestamps = true;
  cfg.quickack_segments = 0;
  Harness h(cfg);
  Options syn;
  syn.has_timestamps = true;
  syn.tsval = 10;
  Conn* c = h.open_passive(syn);
  (void)c;
  // Out of order (SEG.SEQ > Last.ACK.sent): TS.Recent stays 11.
  PeerSeg o = h.seg(kAck, h.peer_seq + 100, h.our_seq(0));
  h.payload(o, 50);
  o.opt_ts(50, 0);
  h.in(o);
  CHECK(h.one_tx().opts.tsecr == 11);
  // In order: TS.Recent = 60.
  PeerSeg i = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(i, 100);
  i.opt_ts(60, 0);
  h.in(i);
  CHECK(h.one_tx().opts.tsecr == 60);
  h.check_clean();
}

TEST_CASE("ACKs carry the highest sequence number sent, not a SND.NXT a timeout moved back (Linux tcp_acceptable_seq)") {
  // Found by the randomized test: after go-back-N, ACKs at the rewound
  // SND.NXT looked old to the peer, which answered each with an ACK.
  Harness h;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 3000, h.now) == 0);
  h.take_tx();
  h.advance(c->rto_us());
  CHECK(h.one_tx().stream_off == 0);  // SND.NXT is back at 1000 now
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(p, 100);
  h.in(p);
  const TxSegment a = h.one_tx();
  CHECK(a.len == 0);
  CHECK(a.seq == h.our_seq(3000));
  // ... but never beyond the peer's window: a closed one pins it to SND.UNA.
  h.peer_seq += 100;
  h.ack_to(1000, 0);
  h.take_tx();
  PeerSeg q = h.seg(kAck, h.peer_seq, h.our_seq(1000));
  q.win(0);
  h.payload(q, 10);
  h.in(q);
  CHECK(h.one_tx().seq == h.our_seq(1000));
  h.check_clean();
}

TEST_CASE("Linux tcp_oow_rate_limited: out-of-window segments without payload get at most one ACK per interval") {
  Harness h;
  Conn* c = h.open_passive();
  for (int i = 0; i < 3; i++) h.in(h.seg(kAck, h.peer_seq - 50000, h.our_seq(0)));
  CHECK(h.take_tx().size() == 1);
  CHECK(h.eng->stats().invalid_acks_suppressed == 2);
  h.now += h.cfg.invalid_ack_interval_us;
  h.in(h.seg(kAck, h.peer_seq - 50000, h.our_seq(0)));
  CHECK(h.take_tx().size() == 1);
  // Segments with payload are not part of an ACK loop: always answered.
  for (int i = 0; i < 3; i++) {
    PeerSeg p = h.seg(kAck, h.peer_seq - 50000, h.our_seq(0));
    h.payload(p, 10);
    h.in(p);
  }
  CHECK(h.take_tx().size() == 3);
  CHECK(c->state() == State::established);
  h.check_clean();
}

TEST_CASE("Linux tcp_sequence: a segment without payload at the window's right edge is acceptable") {
  Harness h;
  h.host.capacity = 2000;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 100, h.now) == 0);
  h.take_tx();
  CHECK(c->rcv_wnd() == 2000);
  h.in(h.seg(kAck, h.peer_seq + 2000, h.our_seq(100)));  // at the edge
  h.no_tx();
  REQUIRE(h.host.acked.size() == 1);
  CHECK(h.host.acked[0] == 100);
}
