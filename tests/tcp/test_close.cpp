// SPDX-License-Identifier: MIT
// Closing: both close sequences (RFC 9293 3.6 figures 12-13), TIME-WAIT
// (3.10.7.4, RFC 6191 reuse), FIN-WAIT-2 timeout, half close, abort and
// close with unread data (3.10.4-5, Linux), peer_closed after the pending
// payload.
#include <cerrno>

#include "harness.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

TEST_CASE("RFC 9293 3.6: active close ESTABLISHED -> FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT -> CLOSED") {
  Harness h;
  Conn* c = h.open_passive();
  h.eng->close(c, h.now);
  CHECK(c->state() == State::fin_wait_1);
  const TxSegment fin = h.one_tx();
  CHECK(fin.flags == (kFin | kAck));
  CHECK(fin.seq == h.our_seq(0));
  CHECK(fin.len == 0);
  h.ack_to(1);  // the FIN takes one sequence number
  CHECK(c->state() == State::fin_wait_2);
  h.no_tx();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(1)));
  CHECK(c->state() == State::time_wait);
  const TxSegment a = h.one_tx();
  CHECK(a.flags == kAck);
  CHECK(a.ack == h.peer_seq + 1);
  CHECK(h.host.count(Event::peer_closed) == 1);
  CHECK(h.host.count(Event::ended) == 0);
  h.advance(h.cfg.time_wait_us - 1);
  CHECK(h.host.count(Event::ended) == 0);
  h.advance(1);
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == 0);
  CHECK(h.eng->stats().conns_live == 0);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.10.7.4: FIN-WAIT-1 + FIN with the ACK of ours -> TIME-WAIT at once") {
  Harness h;
  Conn* c = h.open_passive();
  h.eng->close(c, h.now);
  h.take_tx();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(1)));
  CHECK(c->state() == State::time_wait);
  CHECK(h.one_tx().ack == h.peer_seq + 1);
}

TEST_CASE("RFC 9293 3.6 figure 13: simultaneous close FIN-WAIT-1 + FIN -> CLOSING, + ACK -> TIME-WAIT") {
  Harness h;
  Conn* c = h.open_passive();
  h.eng->close(c, h.now);
  h.take_tx();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(0)));  // its FIN crossed ours
  CHECK(c->state() == State::closing);
  const TxSegment a = h.one_tx();
  CHECK(a.ack == h.peer_seq + 1);
  h.in(h.seg(kAck, h.peer_seq + 1, h.our_seq(1)));
  CHECK(c->state() == State::time_wait);
  h.advance(h.cfg.time_wait_us);
  CHECK(h.host.count(Event::ended) == 1);
}

TEST_CASE("RFC 9293 3.6: passive close ESTABLISHED -> CLOSE-WAIT (peer_closed) -> LAST-ACK -> CLOSED, no TIME-WAIT") {
  Harness h;
  Conn* c = h.open_passive();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(0)));
  CHECK(c->state() == State::close_wait);
  CHECK(h.one_tx().ack == h.peer_seq + 1);  // the FIN is acknowledged at once
  CHECK(h.host.count(Event::peer_closed) == 1);
  // We may still send in CLOSE-WAIT.
  REQUIRE(h.eng->send(c, 10, h.now) == 0);
  CHECK(h.one_tx().len == 10);
  h.eng->close(c, h.now);
  CHECK(c->state() == State::last_ack);
  const TxSegment fin = h.one_tx();
  CHECK(fin.flags == (kFin | kAck));
  CHECK(fin.seq == h.our_seq(10));
  h.in(h.seg(kAck, h.peer_seq + 1, h.our_seq(11)));
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == 0);
  CHECK(h.eng->stats().conns_live == 0);
}

TEST_CASE("RFC 9293 3.10.7.4: TIME-WAIT answers the FIN again and restarts its timer; a RST ends it (Linux)") {
  Harness h;
  Conn* c = h.open_passive();
  h.eng->close(c, h.now);
  h.take_tx();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(1)));
  h.take_tx();
  h.advance(h.cfg.time_wait_us / 2);
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(1)));  // our ACK was lost
  CHECK(h.one_tx().ack == h.peer_seq + 1);
  h.advance(h.cfg.time_wait_us / 2 + 1);
  CHECK(h.host.count(Event::ended) == 0);  // restarted
  h.advance(h.cfg.time_wait_us / 2);
  CHECK(h.host.count(Event::ended) == 1);

  Harness r;
  Conn* d = r.open_passive();
  r.eng->close(d, r.now);
  r.take_tx();
  r.in(r.seg(kFin | kAck, r.peer_seq, r.our_seq(1)));
  r.take_tx();
  r.in(r.seg(kRst, r.peer_seq + 1));
  CHECK(r.host.count(Event::ended) == 1);
  CHECK(r.host.last(Event::ended)->result == 0);
}

TEST_CASE("RFC 6191: a SYN with a higher sequence number reopens a tuple in TIME-WAIT") {
  Harness h;
  Conn* c = h.open_passive();
  h.eng->close(c, h.now);
  h.take_tx();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(1)));
  h.take_tx();
  // An old duplicate SYN (lower sequence): the TIME-WAIT connection stays.
  h.in(h.seg(kSyn, h.peer_seq - 100));
  CHECK(h.host.count(Event::ended) == 0);
  const TxSegment dup = h.one_tx();
  CHECK((dup.flags & kSyn) == 0);
  // A new one: TIME-WAIT ends, the listener answers.
  h.in(h.seg(kSyn, h.peer_seq + 100000));
  REQUIRE(h.host.count(Event::ended) == 1);
  const TxSegment sa = h.one_tx();
  CHECK(sa.flags == (kSyn | kAck));
  CHECK(sa.ack == h.peer_seq + 100001);
}

TEST_CASE("FIN-WAIT-2 after close() times out (Linux tcp_fin_timeout); after shutdown_write it does not") {
  Config cfg = Harness::quiet_config();
  cfg.fin_wait_2_us = 5000000;
  Harness h(cfg);
  Conn* c = h.open_passive();
  h.eng->close(c, h.now);
  h.take_tx();
  h.ack_to(1);
  CHECK(c->state() == State::fin_wait_2);
  h.advance(cfg.fin_wait_2_us);
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == 0);

  Harness s(cfg);
  Conn* d = s.open_passive();
  REQUIRE(s.eng->shutdown_write(d, s.now) == 0);
  CHECK(s.eng->shutdown_write(d, s.now) == 0);  // again: nothing more
  s.take_tx();
  s.ack_to(1);
  CHECK(d->state() == State::fin_wait_2);
  s.advance(10 * cfg.fin_wait_2_us);
  CHECK(s.host.count(Event::ended) == 0);
  // Half close: the peer's data still arrives.
  PeerSeg p = s.seg(kAck, s.peer_seq, s.our_seq(1));
  s.payload(p, 100);
  s.in(p);
  CHECK(s.host.delivered_bytes == 100);
  CHECK(s.eng->send(d, 1, s.now) == -EPIPE);
  s.check_clean();
}

TEST_CASE("shutdown_write: the FIN follows the queued data, on its last segment") {
  Harness h;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 2500, h.now) == 0);
  REQUIRE(h.eng->shutdown_write(c, h.now) == 0);
  const auto segs = h.take_tx();
  REQUIRE(segs.size() == 4);
  CHECK(segs[0].len == 1000);
  CHECK((segs[0].flags & kFin) == 0);
  CHECK(segs[2].len == 500);
  CHECK(segs[2].stream_off == 2000);
  CHECK((segs[2].flags & kFin) == 0);  // sent before shutdown_write
  // ... so the FIN goes alone, after the last byte.
  CHECK(segs[3].flags == (kFin | kAck));
  CHECK(segs[3].len == 0);
  CHECK(segs[3].seq == h.our_seq(2500));
  Harness g;
  Conn* d = g.open_passive();
  REQUIRE(g.eng->shutdown_write(d, g.now) == 0);
  CHECK(g.eng->send(d, 1, g.now) == -EPIPE);
  CHECK(g.one_tx().flags == (kFin | kAck));
  // Queued data that the window holds back: the FIN rides on its last segment.
  Harness w;
  Conn* e = w.open_passive(Options{}, 1500);
  REQUIRE(w.eng->send(e, 2500, w.now) == 0);
  REQUIRE(w.take_tx().size() == 1);  // 1000 fit, 500 held by SWS avoidance
  REQUIRE(w.eng->shutdown_write(e, w.now) == 0);
  w.ack_to(1000, 2000);
  const auto rest = w.take_tx();
  REQUIRE(rest.size() == 2);
  CHECK(rest[1].len == 500);
  CHECK(rest[1].flags == (kFin | kAck | kPsh));
  CHECK(rest[1].seq == w.our_seq(2000));
}

TEST_CASE("close() with payload the host never took: RST and -ECONNABORTED (Linux tcp_close)") {
  Harness h;
  Conn* c = h.open_passive();
  h.host.take_budget = 0;
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(p, 300, 100);
  h.in(p);
  CHECK(c->pending_pieces() == 3);
  h.take_tx();
  h.eng->close(c, h.now);
  const TxSegment r = h.one_tx();
  CHECK(r.flags == kRst);
  CHECK(r.seq == h.our_seq(0));
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == -ECONNABORTED);
  CHECK(h.host.released.size() == 3);
  h.check_clean();
}

TEST_CASE("RFC 1122 4.2.2.13 (Linux): new payload after close() in FIN-WAIT-2 is answered by a RST") {
  Harness h;
  Conn* c = h.open_passive();
  h.eng->close(c, h.now);
  h.take_tx();
  h.ack_to(1);
  CHECK(c->state() == State::fin_wait_2);
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(1));
  h.payload(p, 100);
  h.in(p);
  const TxSegment r = h.one_tx();
  CHECK(r.flags == kRst);
  CHECK(r.seq == h.our_seq(1));
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == -ECONNABORTED);
  CHECK(h.host.delivered_bytes == 0);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.10.5: abort sends <SEQ=SND.NXT><CTL=RST>, releases what is held, ends -ECONNABORTED") {
  Harness h;
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 500, h.now) == 0);
  h.take_tx();
  PeerSeg p = h.seg(kAck, h.peer_seq + 1000, h.our_seq(0));  // out of order: held
  h.payload(p, 100);
  h.in(p);
  h.take_tx();
  CHECK(c->ooo_pieces() == 1);
  h.eng->abort(c, h.now);
  const TxSegment r = h.one_tx();
  CHECK(r.flags == kRst);
  CHECK(r.seq == h.our_seq(500));
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == -ECONNABORTED);
  CHECK(h.eng->stats().conns_live == 0);
  CHECK(h.eng->next_deadline() == UINT64_MAX);  // no timer left behind
  h.check_clean();
}

TEST_CASE("close() in SYN-SENT drops the attempt (RFC 9293 3.10.4), no segment") {
  Harness h;
  Conn* c = nullptr;
  REQUIRE(h.eng->connect(h.tuple(), nullptr, &c, h.now) == 0);
  h.take_tx();
  h.eng->close(c, h.now);
  h.no_tx();
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == 0);
  CHECK(h.host.count(Event::connected) == 0);
}

TEST_CASE("peer_closed waits for the payload before the FIN to be taken; out-of-order FIN waits for the hole") {
  Harness h;
  Conn* c = h.open_passive();
  h.host.take_budget = 1;
  PeerSeg p = h.seg(kAck | kFin, h.peer_seq, h.our_seq(0));
  h.payload(p, 200, 100);
  h.in(p);
  CHECK(c->state() == State::close_wait);
  CHECK(c->pending_pieces() == 1);
  CHECK(h.host.count(Event::peer_closed) == 0);
  h.host.take_budget = UINT32_MAX;
  h.eng->rx_capacity_changed(c, h.now);
  CHECK(c->pending_pieces() == 0);
  CHECK(h.host.count(Event::peer_closed) == 1);
  CHECK(h.host.delivered_bytes == 200);

  Harness o;
  Conn* d = o.open_passive();
  PeerSeg tail = o.seg(kAck | kFin, o.peer_seq + 100, o.our_seq(0));
  o.payload(tail, 50);
  o.in(tail);
  CHECK(d->state() == State::established);
  CHECK(o.one_tx().ack == o.peer_seq);
  PeerSeg head = o.seg(kAck, o.peer_seq, o.our_seq(0));
  o.payload(head, 100);
  o.in(head);
  CHECK(d->state() == State::close_wait);
  CHECK(o.one_tx().ack == o.peer_seq + 151);
  CHECK(o.host.count(Event::peer_closed) == 1);
  CHECK(o.host.delivered_bytes == 150);
  o.check_clean();
}

TEST_CASE("a clean end with payload the host has not taken: off the wire at once, Host::ended after the host takes it") {
  // Found by the randomized test: LAST-ACK (or TIME-WAIT) ending dropped
  // in-order payload still pending, with ended(0).
  Harness h;
  Conn* c = h.open_passive();
  h.host.take_budget = 0;
  PeerSeg p = h.seg(kAck | kFin, h.peer_seq, h.our_seq(0));
  h.payload(p, 300, 100);
  h.in(p);
  CHECK(c->state() == State::close_wait);
  CHECK(c->pending_pieces() == 3);
  REQUIRE(h.eng->shutdown_write(c, h.now) == 0);
  CHECK(c->state() == State::last_ack);
  h.take_tx();
  h.in(h.seg(kAck, h.peer_seq + 301, h.our_seq(1)));  // our FIN acknowledged
  CHECK(h.host.count(Event::ended) == 0);
  CHECK(c->state() == State::closed);
  CHECK(c->pending_pieces() == 3);
  CHECK(h.host.released.empty());
  // Off the wire: the tuple answers as a connection of the listener again.
  h.in(h.seg(kSyn, h.peer_seq + 100000));
  CHECK(h.one_tx().flags == (kSyn | kAck));
  // The host takes the payload: EOF, then the end.
  h.host.take_budget = UINT32_MAX;
  h.eng->rx_capacity_changed(c, h.now);
  CHECK(h.host.delivered_bytes == 300);
  REQUIRE(h.host.events.size() >= 2);
  CHECK(h.host.events[h.host.events.size() - 2].kind == Event::peer_closed);
  CHECK(h.host.events.back().kind == Event::ended);
  CHECK(h.host.events.back().result == 0);
  h.eng->close_listener(h.listener);
  h.check_clean();
}

TEST_CASE("a draining connection closed or aborted by the host releases its payload and ends at once") {
  Harness h;
  Conn* c = h.open_passive();
  h.host.take_budget = 0;
  PeerSeg p = h.seg(kAck | kFin, h.peer_seq, h.our_seq(0));
  h.payload(p, 100);
  h.in(p);
  REQUIRE(h.eng->shutdown_write(c, h.now) == 0);
  h.take_tx();
  h.in(h.seg(kAck, h.peer_seq + 101, h.our_seq(1)));
  CHECK(h.host.count(Event::ended) == 0);
  h.eng->close(c, h.now);
  h.no_tx();  // nothing on the wire for it any more
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == -ECONNABORTED);
  CHECK(h.eng->stats().conns_live == 0);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.10.4: close() in SYN-RECEIVED (simultaneous open): the FIN follows the handshake") {
  Harness h;
  Conn* c = nullptr;
  REQUIRE(h.eng->connect(h.tuple(), nullptr, &c, h.now) == 0);
  const uint32_t iss = h.one_tx().seq;
  PeerSeg syn = h.seg(kSyn, 3000);
  syn.opt_mss(1000);
  h.in(syn);
  CHECK(c->state() == State::syn_received);
  h.take_tx();
  h.eng->close(c, h.now);
  h.no_tx();
  h.in(h.seg(kSyn | kAck, 3000, iss + 1));
  CHECK(c->state() == State::fin_wait_1);
  const TxSegment f = h.one_tx();
  CHECK(f.flags == (kFin | kAck));
  CHECK(f.seq == iss + 1);
  CHECK(h.host.count(Event::connected) == 1);
}
