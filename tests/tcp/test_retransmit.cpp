// SPDX-License-Identifier: MIT
// Loss recovery: the retransmission timer (RFC 6298: estimator, floor,
// backoff, Karn, restart), giving up (-ETIMEDOUT), fast retransmit and
// NewReno (RFC 5681 3.2, RFC 6582), limited transmit (RFC 3042), SACK
// recovery (RFC 6675), CUBIC's reduction (RFC 9438).
#include <algorithm>
#include <cerrno>
#include <vector>

#include "harness.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

namespace {

// A connection with `segs` full segments (1000 bytes) sent and none acked.
Conn* sent(Harness& h, uint32_t segs, Options syn = Options{}) {
  Conn* c = h.open_passive(syn);
  REQUIRE(h.eng->send(c, segs * 1000, h.now) == 0);
  REQUIRE(h.take_tx().size() == segs);
  return c;
}

void dupack(Harness& h, uint64_t off, uint32_t sack_l = 0, uint32_t sack_r = 0) {
  PeerSeg a = h.seg(kAck, h.peer_seq, h.our_seq(off));
  if (sack_r) a.sack(h.our_seq(sack_l), h.our_seq(sack_r));
  h.in(a);
}

}  // namespace

TEST_CASE("RFC 6298 5.4-5.6: RTO resends the first segment, doubles, and RFC 5681 sets the loss window") {
  Harness h;
  Conn* c = sent(h, 8);
  const uint32_t rto = c->rto_us();
  CHECK(rto == h.cfg.rto_min_us);  // the handshake's sample (~0) and the floor
  h.advance(rto - 1);
  h.no_tx();
  h.advance(1);
  TxSegment r = h.one_tx();
  CHECK(r.stream_off == 0);
  CHECK(r.len == 1000);
  CHECK(r.retransmit);
  CHECK(c->cwnd() == 1000);
  CHECK(c->ssthresh() == 4000);  // max(FlightSize / 2, 2 SMSS)
  CHECK(c->stats().rto_expiries == 1);
  h.advance(2 * rto - 1);
  h.no_tx();
  h.advance(1);
  CHECK(h.one_tx().stream_off == 0);
  CHECK(c->ssthresh() == 4000);  // held on the second timeout
  // The ACK of the first: slow start from SND.UNA, resending (go-back-N).
  h.ack_to(1000);
  const auto segs = h.take_tx();
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].stream_off == 1000);
  CHECK(segs[0].retransmit);
  CHECK(c->stats().retransmits == 4);
}

TEST_CASE("RFC 6298 2.2-2.4, 5.7: the first sample sets RTO = SRTT + 4 * RTTVAR, floored at rto_min; later ones smooth") {
  Harness h;
  Conn* c = h.open_passive_unsampled();
  CHECK(c->srtt_us() == 0);
  CHECK(c->rto_us() == 3000000);  // 5.7: the SYN-ACK timed out, no sample
  REQUIRE(h.eng->send(c, 1000, h.now) == 0);
  h.take_tx();
  h.now += 100000;
  h.ack_to(1000);
  CHECK(c->srtt_us() == 100000);
  CHECK(c->rto_us() == 300000);
  REQUIRE(h.eng->send(c, 1000, h.now) == 0);
  h.take_tx();
  h.now += 100000;
  h.ack_to(2000);
  CHECK(c->srtt_us() == 100000);
  CHECK(c->rto_us() == 100000 + 4 * 37500);
  // A fast path: 10 ms samples bring RTO down to the 200 ms floor.
  for (int i = 0; i < 20; i++) {
    REQUIRE(h.eng->send(c, 1000, h.now) == 0);
    h.take_tx();
    h.now += 10000;
    h.ack_to(3000 + 1000u * i);
  }
  CHECK(c->rto_us() == h.cfg.rto_min_us);
}

TEST_CASE("RFC 6298 3 (Karn): no RTT sample from a retransmitted segment") {
  Harness h;
  Conn* c = h.open_passive_unsampled();
  REQUIRE(h.eng->send(c, 1000, h.now) == 0);
  h.take_tx();
  h.advance(c->rto_us());
  CHECK(h.one_tx().retransmit);
  h.now += 5000;
  h.ack_to(1000);
  CHECK(c->srtt_us() == 0);
  CHECK(c->rto_us() == 3000000);  // unchanged, its backoff gone with the progress
  REQUIRE(h.eng->send(c, 1000, h.now) == 0);
  h.take_tx();
  h.now += 7000;
  h.ack_to(2000);
  CHECK(c->srtt_us() == 7000);
}

TEST_CASE("RFC 6298 5.3: a new ACK restarts the timer") {
  Harness h;
  Conn* c = sent(h, 4);
  const uint32_t rto = c->rto_us();
  h.advance(rto / 2);
  h.ack_to(1000);
  h.advance(rto - 1);
  h.no_tx();
  h.advance(1);
  CHECK(h.one_tx().stream_off == 1000);
}

TEST_CASE("RFC 9293 3.8.3: retransmissions exhausted: -ETIMEDOUT, no RST") {
  Config cfg = Harness::quiet_config();
  cfg.data_retries = 3;
  Harness h(cfg);
  sent(h, 1);
  uint64_t iv = cfg.rto_min_us;
  for (int i = 0; i < 3; i++) {
    h.advance(iv);
    CHECK(h.one_tx().retransmit);
    iv *= 2;
  }
  h.advance(iv);
  h.no_tx();
  REQUIRE(h.host.count(Event::ended) == 1);
  CHECK(h.host.last(Event::ended)->result == -ETIMEDOUT);
}

TEST_CASE("Linux: retransmissions into a closed window are probes and never exhaust the retries") {
  Config cfg = Harness::quiet_config();
  cfg.data_retries = 2;
  cfg.rto_max_us = 4000000;
  Harness h(cfg);
  Conn* c = sent(h, 2);
  h.ack_to(1000, 0);  // half acked, window closed
  for (int i = 0; i < 10; i++) h.advance(cfg.rto_max_us);
  CHECK(h.take_tx().size() == 10);
  CHECK(h.host.count(Event::ended) == 0);
  CHECK(c->stats().rto_expiries == 10);
  h.take_tx();
  h.ack_to(2000, 5000);
  CHECK(c->state() == State::established);
}

TEST_CASE("RFC 5681 3.2 / RFC 6582: three duplicate ACKs: fast retransmit, cwnd = ssthresh + 3 SMSS, inflation") {
  Harness h;
  Conn* c = sent(h, 10);
  REQUIRE(h.eng->send(c, 20000, h.now) == 0);  // more queued behind
  dupack(h, 0);
  dupack(h, 0);
  // RFC 3042: the first two duplicates each send one new segment.
  auto lt = h.take_tx();
  REQUIRE(lt.size() == 2);
  CHECK(lt[0].stream_off == 10000);
  CHECK(lt[1].stream_off == 11000);
  CHECK_FALSE(lt[0].retransmit);
  dupack(h, 0);
  const TxSegment fr = h.one_tx();
  CHECK(fr.stream_off == 0);
  CHECK(fr.retransmit);
  CHECK(c->stats().fast_retransmits == 1);
  CHECK(c->ssthresh() == 6000);  // FlightSize 12000 / 2
  CHECK(c->cwnd() == 9000);
  dupack(h, 0);  // inflate: 10000, still below the 12000 in flight
  h.no_tx();
  CHECK(c->cwnd() == 10000);
  dupack(h, 0);
  dupack(h, 0);
  dupack(h, 0);  // 13000 > 12000: new data
  CHECK(h.take_tx().size() == 1);
}

TEST_CASE("RFC 6582 3.2 step 5: a partial ACK resends the next hole at once; the full ACK ends recovery") {
  Harness h;
  Conn* c = sent(h, 10);
  for (int i = 0; i < 3; i++) dupack(h, 0);
  h.take_tx();  // the fast retransmit of [0, 1000)
  CHECK(c->cwnd() == 8000);
  // Segments 0 and 4 were lost: the ACK after the retransmission stops at 4000.
  h.ack_to(4000);
  const TxSegment r = h.one_tx();
  CHECK(r.stream_off == 4000);
  CHECK(r.retransmit);
  CHECK(c->cwnd() == 8000 - 4000 + 1000);
  // Full ACK (all of what was outstanding when recovery started).
  h.ack_to(10000);
  CHECK(c->cwnd() == 2000);  // min(ssthresh, max(FlightSize, SMSS) + SMSS), nothing in flight
  CHECK(c->stats().fast_retransmits == 1);
}

TEST_CASE("RFC 6582 4: no fast retransmit for duplicates of data sent before a timeout's recover point") {
  Harness h;
  Conn* c = sent(h, 10);
  h.advance(h.cfg.rto_initial_us);
  h.take_tx();
  for (int i = 0; i < 5; i++) dupack(h, 0);
  CHECK(c->stats().fast_retransmits == 0);
}

TEST_CASE("RFC 6675: SACK recovery resends the holes the scoreboard shows, paced by the pipe") {
  Config cfg = Harness::quiet_config();
  cfg.sack = true;
  Harness h(cfg);
  Options syn;
  syn.sack_permitted = true;
  Conn* c = sent(h, 10, syn);
  // Segments 0 and 2 lost; 1 and 3..9 arrive and are SACKed as they do.
  dupack(h, 0, 1000, 2000);
  dupack(h, 0, 3000, 4000);
  // Two blocks (2000 bytes SACKed): not yet lost by RFC 6675's rule... but
  // limited transmit has nothing new to send.
  h.no_tx();
  dupack(h, 0, 3000, 5000);  // the third duplicate: recovery
  auto t = h.take_tx();
  REQUIRE(t.size() == 1);
  CHECK(t[0].stream_off == 0);
  CHECK(t[0].len == 1000);
  CHECK(t[0].retransmit);
  CHECK(c->cwnd() == 5000);
  CHECK(c->ssthresh() == 5000);
  // pipe: [2000, 3000) and [5000, 10000) not lost, [0, 1000) resent = 7000
  // > cwnd: nothing more. More SACKs make [2000, 3000) lost (4000 bytes
  // SACKed above it) and take [3000, 7000) out of the pipe: it goes next.
  dupack(h, 0, 3000, 7000);
  t = h.take_tx();
  REQUIRE(t.size() == 1);
  CHECK(t[0].stream_off == 2000);
  CHECK(t[0].retransmit);
  // pipe: [7000, 10000) + the two resent = 5000 = cwnd: new data waits.
  REQUIRE(h.eng->send(c, 5000, h.now) == 0);
  h.no_tx();
  // [7000, 8000) leaves the pipe: no lost hole above HighRxt, so NextSeg's
  // rule 2 sends new data.
  dupack(h, 0, 3000, 8000);
  t = h.take_tx();
  REQUIRE(t.size() == 1);
  CHECK(t[0].stream_off == 10000);
  CHECK_FALSE(t[0].retransmit);
  // All that was outstanding at the start acknowledged: recovery ends at
  // cwnd = ssthresh.
  h.ack_to(10000);
  CHECK(c->cwnd() == 5000);
  CHECK(c->stats().fast_retransmits == 1);
}

TEST_CASE("RFC 6675 4: SACKed bytes above SND.UNA beyond (DupThresh - 1) * SMSS start recovery before three duplicates") {
  Config cfg = Harness::quiet_config();
  cfg.sack = true;
  Harness h(cfg);
  Options syn;
  syn.sack_permitted = true;
  Conn* c = sent(h, 10, syn);
  dupack(h, 0, 1000, 4000);  // one duplicate, 3000 bytes SACKed
  CHECK(c->stats().fast_retransmits == 1);
  const auto t = h.take_tx();
  REQUIRE(t.size() == 1);
  CHECK(t[0].stream_off == 0);
}

TEST_CASE("SACK blocks outside what is outstanding (D-SACK below SND.UNA, beyond SND.NXT) are ignored") {
  Config cfg = Harness::quiet_config();
  cfg.sack = true;
  Harness h(cfg);
  Options syn;
  syn.sack_permitted = true;
  Conn* c = sent(h, 4, syn);
  h.ack_to(1000);
  // Two duplicates whose blocks, were they believed, would mark SND.UNA
  // lost (more than 2 SMSS above it).
  dupack(h, 1000, 0, 1000);      // D-SACK of what was acked
  dupack(h, 1000, 2000, 9000);   // beyond what was sent
  CHECK(c->stats().fast_retransmits == 0);
  h.no_tx();
}

TEST_CASE("RFC 9438 4.6: CUBIC reduces cwnd by beta 0.7 on a fast retransmit") {
  Config cfg = Harness::quiet_config();
  cfg.congestion = Congestion::cubic;
  Harness h(cfg);
  Conn* c = sent(h, 10);
  for (int i = 0; i < 3; i++) dupack(h, 0);
  CHECK(c->ssthresh() == 7000);
  h.ack_to(10000);
  CHECK(c->cwnd() == 7000);
}

namespace {

// One round trip of `rtt_us`: everything sent so far is acknowledged,
// one ACK per segment. Returns the segments that were in flight.
size_t round_trip(Harness& h, uint64_t rtt_us) {
  const auto segs = h.take_tx();
  h.now += rtt_us;
  for (const TxSegment& s : segs) h.ack_to(s.stream_off + s.len);
  return segs.size();
}

}  // namespace

TEST_CASE("RFC 9438 4.2-4.4: CUBIC after a reduction: concave up to W_max, a plateau, then convex, at most 1.5x a round") {
  Config cfg = Harness::quiet_config();
  cfg.congestion = Congestion::cubic;
  cfg.sndbuf = 1u << 30;
  Harness h(cfg);
  Conn* c = h.open_passive();
  REQUIRE(h.eng->send(c, 100000000, h.now) == 0);
  round_trip(h, 1000000);  // slow start: 10 -> 20 segments
  REQUIRE(c->cwnd() == 20000);
  // Loss of the next segment: three duplicates, then everything acked.
  const auto out = h.take_tx();
  const uint64_t una = out.front().stream_off;
  for (int i = 0; i < 3; i++) h.in(h.seg(kAck, h.peer_seq, h.our_seq(una)));
  uint64_t top = 0;  // what was sent by the end of it (limited transmit too)
  for (const auto& v : {out, h.take_tx()})
    for (const TxSegment& s : v) top = std::max<uint64_t>(top, s.stream_off + s.len);
  h.now += 1000000;
  h.ack_to(top);
  REQUIRE(c->cwnd() == 14000);  // W_max 20, beta 0.7
  std::vector<uint32_t> w;
  for (int r = 0; r < 9; r++) {
    round_trip(h, 1000000);
    w.push_back(c->cwnd() / 1000);
  }
  // K = cbrt(20 * 0.3 / 0.4) ~ 2.47 s: the first rounds close in on W_max
  // and slow down near it (the epoch starts with the first ACK) ...
  CHECK(w[0] >= 14);
  CHECK(w[1] > w[0]);
  CHECK(w[2] <= 20);
  CHECK(w[3] <= 20);
  CHECK(w[3] - w[2] <= 1);
  // ... then the window probes beyond it ever faster, never more than
  // 1.5x per round.
  for (size_t i = 4; i < w.size(); i++) {
    CHECK(w[i] > w[i - 1]);
    CHECK(w[i] * 2 <= w[i - 1] * 3 + 2);
  }
  CHECK(w[8] - w[7] > w[5] - w[4]);
}

TEST_CASE("RFC 7661 (Linux tcp_is_cwnd_limited): cwnd does not grow while the application, not cwnd, limits the flight") {
  Harness h;
  Conn* c = h.open_passive();
  for (int i = 0; i < 30; i++) {
    REQUIRE(h.eng->send(c, 1000, h.now) == 0);
    round_trip(h, 1000);
  }
  CHECK(c->cwnd() == 10000);
  // Filling the window makes it grow again.
  REQUIRE(h.eng->send(c, 20000, h.now) == 0);
  CHECK(round_trip(h, 1000) == 10);
  CHECK(c->cwnd() == 20000);
}
