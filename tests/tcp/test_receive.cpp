// SPDX-License-Identifier: MIT
// Receiving: zero-copy in-order delivery, trimming of overlaps and
// duplicates (RFC 9293 3.10.7.4), the out-of-order queue and its bounds,
// pending pieces the host did not take, and when ACKs go out (RFC 9293
// 3.8.6.3, RFC 5681 4.2: delayed, every second full-sized segment, at
// once for out-of-order and hole-filling segments, quick ACKs at start).
#include <cerrno>

#include "harness.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

namespace {

Config no_quickack() {
  Config cfg = Harness::quiet_config();
  cfg.quickack_segments = 0;
  return cfg;
}

// The peer sends `len` bytes at its next sequence number.
PeerSeg data(Harness& h, uint32_t len, uint32_t piece = 0xffffffff) {
  PeerSeg p = h.seg(kAck, h.peer_seq, h.our_seq(0));
  h.payload(p, len, piece);
  h.peer_seq += len;
  return p;
}

}  // namespace

TEST_CASE("receive: in-order payload is delivered zero-copy, the same pieces in stream order") {
  Harness h;
  Conn* c = h.open_passive();
  PeerSeg p = data(h, 2500, 1000);
  const RxSegment rx = p.rx;
  h.in(p);
  REQUIRE(h.host.delivered.size() == 3);
  for (int i = 0; i < 3; i++) {
    CHECK(h.host.delivered[i].buf == rx.pieces[i].buf);
    CHECK(h.host.delivered[i].off == rx.pieces[i].off);
    CHECK(h.host.delivered[i].len == rx.pieces[i].len);
  }
  CHECK(c->stats().bytes_in == 2500);
  CHECK(h.one_tx().ack == h.peer_seq);  // quick ACK at the start
  h.check_clean();
}

TEST_CASE("RFC 9293 3.10.7.4: a partly duplicate segment is trimmed (piece off/len moved), never copied") {
  Harness h;
  h.open_passive();
  h.in(data(h, 300));
  h.take_tx();
  // Bytes [200, 700) in two pieces of 250: the first 100 are old.
  PeerSeg p = h.seg(kAck, h.peer_seq - 100, h.our_seq(0));
  h.payload(p, 500, 250);
  const RxSegment rx = p.rx;
  h.in(p);
  REQUIRE(h.host.delivered.size() == 3);
  CHECK(h.host.delivered[1].buf == rx.pieces[0].buf);
  CHECK(h.host.delivered[1].off == rx.pieces[0].off + 100);
  CHECK(h.host.delivered[1].len == 150);
  CHECK(h.host.delivered[2].len == 250);
  CHECK(h.host.delivered_bytes == 700);
  // A piece entirely old is released, not trimmed to nothing.
  h.peer_seq += 400;
  PeerSeg q = h.seg(kAck, h.peer_seq - 150, h.our_seq(0));
  h.payload(q, 250, 100);
  const RxSegment rq = q.rx;
  h.in(q);
  REQUIRE(h.host.released.size() == 1);
  CHECK(h.host.released[0].buf == rq.pieces[0].buf);
  CHECK(h.host.delivered.back().buf == rq.pieces[2].buf);
  CHECK(h.host.delivered_bytes == 800);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.10.7.4: an entirely duplicate segment is released and ACKed at once") {
  Harness h(no_quickack());
  Conn* c = h.open_passive();
  PeerSeg p = data(h, 100);
  PeerSeg again = p;
  again.rx.pieces[0].buf = 9999;
  h.in(p);
  h.no_tx();  // delayed
  h.in(again);
  CHECK(h.one_tx().ack == h.peer_seq);
  CHECK(h.host.released.size() == 1);
  CHECK(c->stats().dup_segments == 1);
  h.check_clean();
}

TEST_CASE("RFC 5681 4.2: out-of-order segments are held, ACKed at once, delivered when the hole fills") {
  Harness h(no_quickack());
  Conn* c = h.open_passive();
  const uint32_t base = h.peer_seq;
  h.peer_seq = base + 1000;
  PeerSeg b = data(h, 1000);
  PeerSeg cc = data(h, 1000);
  h.in(cc);
  h.in(b);
  auto acks = h.take_tx();
  REQUIRE(acks.size() == 2);
  CHECK(acks[0].ack == base);  // duplicate ACKs
  CHECK(acks[1].ack == base);
  CHECK(h.host.delivered.empty());
  CHECK(c->ooo_pieces() == 2);
  CHECK(c->ooo_bytes() == 2000);
  CHECK(c->stats().ooo_segments == 2);
  CHECK(h.eng->stats().ooo_held == 2);
  h.peer_seq = base;
  h.in(data(h, 1000));
  CHECK(h.one_tx().ack == base + 3000);  // the hole filled: at once
  REQUIRE(h.host.delivered.size() == 3);
  CHECK(h.host.delivered[1].buf == b.rx.pieces[0].buf);
  CHECK(h.host.delivered[2].buf == cc.rx.pieces[0].buf);
  CHECK(c->ooo_pieces() == 0);
  h.check_clean();
}

TEST_CASE("out of order: overlaps with held segments are trimmed; a segment covering held ones replaces them") {
  Harness h;
  Conn* c = h.open_passive();
  const uint32_t base = h.peer_seq;
  auto at = [&](uint32_t off, uint32_t len) {
    PeerSeg p = h.seg(kAck, base + off, h.our_seq(0));
    h.payload(p, len);
    return p;
  };
  h.in(at(100, 100));  // [100, 200)
  h.in(at(300, 100));  // [300, 400)
  PeerSeg mid = at(150, 200);  // [150, 350): trimmed to [200, 300)
  const uint32_t mid_buf = mid.rx.pieces[0].buf;
  h.in(mid);
  CHECK(c->ooo_bytes() == 300);
  CHECK(c->ooo_pieces() == 3);
  h.in(at(120, 30));  // inside what is held: released
  CHECK(c->ooo_pieces() == 3);
  h.in(at(50, 400));  // covers all three: they go, it stays
  CHECK(c->ooo_pieces() == 1);
  CHECK(c->ooo_bytes() == 400);
  CHECK(h.host.released.size() == 4);
  bool mid_released = false;
  for (const Piece& p : h.host.released) mid_released |= p.buf == mid_buf;
  CHECK(mid_released);
  h.in(at(0, 60));  // the hole: [0, 60) overlaps [50, 450) by 10
  CHECK(h.host.delivered_bytes == 450);
  CHECK(h.host.delivered[1].off == 64 + 10);  // the held one, trimmed at its front
  CHECK(c->ooo_pieces() == 0);
  h.check_clean();
}

TEST_CASE("out of order: bounded per connection and in total; what is over the bound is released and counted") {
  Config cfg = Harness::quiet_config();
  cfg.ooo_per_conn = 2;
  cfg.max_ooo_segments = 3;
  Harness h(cfg);
  Conn* c = h.open_passive();
  const uint32_t base = h.peer_seq;
  for (uint32_t i = 1; i <= 3; i++) {
    PeerSeg p = h.seg(kAck, base + 200 * i, h.our_seq(0));
    h.payload(p, 100);
    h.in(p);
  }
  CHECK(c->ooo_pieces() == 2);
  CHECK(h.eng->stats().ooo_dropped == 1);
  // A second connection takes the last slot of the total.
  h.take_tx();
  h.remote.port = 41000;
  h.peer_seq = 9000;
  Conn* d = h.open_passive();
  for (uint32_t i = 1; i <= 2; i++) {
    PeerSeg p = h.seg(kAck, 9001 + 200 * i, h.our_seq(0));
    h.payload(p, 100);
    h.in(p);
  }
  CHECK(d->ooo_pieces() == 1);
  CHECK(h.eng->stats().ooo_dropped == 2);
  h.eng->abort(c, h.now);
  h.eng->abort(d, h.now);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.10.7.4: text beyond the advertised right edge is trimmed") {
  Harness h;
  h.host.capacity = 1500;
  Conn* c = h.open_passive();
  CHECK(c->rcv_wnd() == 1500);
  PeerSeg p = data(h, 2000, 1000);
  const RxSegment rx = p.rx;
  h.in(p);
  REQUIRE(h.host.delivered.size() == 2);
  CHECK(h.host.delivered[1].len == 500);
  CHECK(h.host.delivered_bytes == 1500);
  CHECK(h.one_tx().ack == rx.seq + 1500);
  h.check_clean();
}

TEST_CASE("RFC 9293 3.8.6.3: delayed ACK after delayed_ack_us; a second full-sized segment is ACKed at once") {
  Harness h(no_quickack());
  h.open_passive();
  h.in(data(h, 1000));
  h.no_tx();
  h.advance(h.cfg.delayed_ack_us - 1);
  h.no_tx();
  h.advance(1);
  CHECK(h.one_tx().ack == h.peer_seq);
  h.in(data(h, 1000));
  h.no_tx();
  h.in(data(h, 1000));
  CHECK(h.one_tx().ack == h.peer_seq);
  // The delayed ACK timer went with that ACK.
  h.advance(h.cfg.delayed_ack_us);
  h.no_tx();
  // Small segments: ACKed when more than one full segment accumulated
  // (Linux: more than rcv_mss bytes since the last ACK).
  for (int i = 0; i < 2; i++) h.in(data(h, 400));
  h.no_tx();
  h.in(data(h, 400));
  CHECK(h.one_tx().ack == h.peer_seq);
}

TEST_CASE("quick ACK (Linux): the first quickack_segments data segments are ACKed at once") {
  Config cfg = Harness::quiet_config();
  cfg.quickack_segments = 3;
  Harness h(cfg);
  h.open_passive();
  for (int i = 0; i < 3; i++) {
    h.in(data(h, 100));
    CHECK(h.one_tx().ack == h.peer_seq);
  }
  h.in(data(h, 100));
  h.no_tx();
}

TEST_CASE("deliver takes fewer pieces: the rest waits in order, counts against the window, goes on rx_capacity_changed") {
  Harness h;
  h.host.capacity = 10000;
  Conn* c = h.open_passive();
  h.host.take_budget = 1;
  h.in(data(h, 3000, 1000));
  CHECK(h.host.delivered.size() == 1);
  CHECK(c->pending_pieces() == 2);
  CHECK(c->pending_bytes() == 2000);
  // The peer is told everything arrived, and the window is 10000 - 2000
  // from the new RCV.NXT.
  TxSegment a = h.one_tx();
  CHECK(a.ack == h.peer_seq);
  CHECK(a.window == 8000);
  // More in-order data queues behind the pending pieces (no deliver call).
  const uint32_t calls = h.host.deliver_calls;
  h.in(data(h, 500));
  CHECK(h.host.deliver_calls == calls);
  CHECK(c->pending_pieces() == 3);
  h.take_tx();
  h.host.take_budget = UINT32_MAX;
  h.eng->rx_capacity_changed(c, h.now);
  CHECK(c->pending_pieces() == 0);
  CHECK(h.host.delivered_bytes == 3500);
  CHECK(c->stats().bytes_in == 3500);
  // The window opened by 2500 >= 2 * MSS: an update.
  a = h.one_tx();
  CHECK(a.window == 10000);
  CHECK(c->stats().window_updates == 1);
  h.check_clean();
}

TEST_CASE("no pending slot: an in-order segment is taken only as far as the host took it (rx_no_slot)") {
  Config cfg = Harness::quiet_config();
  cfg.max_pending_segments = 1;
  cfg.max_ooo_segments = 0;
  Harness h(cfg);
  Conn* c = h.open_passive();
  h.host.take_budget = 0;
  h.in(data(h, 100));
  CHECK(c->pending_pieces() == 1);
  h.host.take_budget = 1;
  const uint32_t start = h.peer_seq;
  h.in(data(h, 200, 100));  // pending first: no deliver call, no slot
  CHECK(h.eng->stats().rx_no_slot == 1);
  CHECK(h.take_tx().back().ack == start);  // nothing of it acknowledged
  CHECK(h.host.released.size() == 2);
  h.eng->abort(c, h.now);
  h.check_clean();
}

TEST_CASE("out-of-order FIN after a hole; duplicate FIN in CLOSE-WAIT is ACKed and ignored") {
  Harness h;
  Conn* c = h.open_passive();
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(0)));
  h.take_tx();
  CHECK(c->state() == State::close_wait);
  h.in(h.seg(kFin | kAck, h.peer_seq, h.our_seq(0)));
  CHECK(h.one_tx().ack == h.peer_seq + 1);
  CHECK(h.host.count(Event::peer_closed) == 1);
}
