// SPDX-License-Identifier: MIT
// The scripted segment harness (see harness.h).
#include "harness.h"

#include <cstdio>

namespace zcrx::tcp::test {

// ---- FakeHost ------------------------------------------------------------------------------

void FakeHost::give_back(const Piece& p, const char* how) {
  auto it = outstanding.find(p.buf);
  if (it == outstanding.end()) {
    errors.push_back(std::string(how) + ": buffer " + std::to_string(p.buf) + " not held");
    return;
  }
  const Piece& orig = it->second;
  if (p.off < orig.off || p.off + p.len > orig.off + orig.len)
    errors.push_back(std::string(how) + ": buffer " + std::to_string(p.buf) + " bytes outside the original");
  outstanding.erase(it);
}

uint32_t FakeHost::deliver(Conn&, const Piece* p, uint32_t n) {
  deliver_calls++;
  uint32_t k = n < take_budget ? n : take_budget;
  if (take_budget != UINT32_MAX) take_budget -= k;
  for (uint32_t i = 0; i < k; i++) {
    if (p[i].len == 0) errors.push_back("deliver: empty piece");
    give_back(p[i], "deliver");
    delivered.push_back(p[i]);
    delivered_bytes += p[i].len;
  }
  return k;
}

void FakeHost::release(const Piece* p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    give_back(p[i], "release");
    released.push_back(p[i]);
  }
}

uint32_t FakeHost::rx_capacity(const Conn&) { return capacity; }

bool FakeHost::transmit(Conn*, const TxSegment& s) {
  tx.push_back(s);
  return tx_ok;
}

void FakeHost::send_acked(Conn&, uint64_t off) {
  if (!acked.empty() && off <= acked.back()) errors.push_back("send_acked went back or repeated");
  acked.push_back(off);
}

void FakeHost::accept_ready(Listener& l) { events.push_back({Event::accept_ready, nullptr, &l, 0}); }
void FakeHost::connected(Conn& c, int r) { events.push_back({Event::connected, &c, nullptr, r}); }
void FakeHost::peer_closed(Conn& c) { events.push_back({Event::peer_closed, &c, nullptr, 0}); }
void FakeHost::ended(Conn& c, int r) {
  for (const Event& e : events)
    if (e.kind == Event::ended && e.conn == &c) errors.push_back("ended twice");
  events.push_back({Event::ended, &c, nullptr, r});
}

uint32_t FakeHost::count(Event::Kind k) const {
  uint32_t n = 0;
  for (const Event& e : events) n += e.kind == k;
  return n;
}

const Event* FakeHost::last(Event::Kind k) const {
  for (auto it = events.rbegin(); it != events.rend(); ++it)
    if (it->kind == k) return &*it;
  return nullptr;
}

// ---- Harness -------------------------------------------------------------------------------

Config Harness::quiet_config() {
  Config c;
  c.max_conns = 64;
  c.max_listeners = 8;
  c.max_ooo_segments = 256;
  c.ooo_per_conn = 64;
  c.max_pending_segments = 256;
  c.mss = 1000;
  c.timestamps = false;
  c.sack = false;
  c.isn_key[0] = 0x0123456789abcdefull;
  c.isn_key[1] = 0xfedcba9876543210ull;
  return c;
}

Harness::Harness(Config c) : cfg(c), eng(std::make_unique<Engine>(c, host)) {}

PeerSeg Harness::seg(uint8_t flags, uint32_t seq, uint32_t ack) const {
  PeerSeg s;
  s.rx.tuple = FourTuple{local, remote};
  s.rx.flags = flags;
  s.rx.seq = seq;
  s.rx.ack = ack;
  s.rx.window = 65535;
  return s;
}

PeerSeg& Harness::payload(PeerSeg& s, uint32_t len, uint32_t piece_len) {
  uint32_t left = len;
  while (left) {
    REQUIRE(s.rx.n_pieces < kMaxPieces);
    const uint32_t n = left < piece_len ? left : piece_len;
    s.rx.pieces[s.rx.n_pieces++] = Piece{next_buf++, 64, n};
    left -= n;
  }
  s.rx.payload_len = len;
  return s;
}

void Harness::in(const PeerSeg& s) {
  for (uint8_t i = 0; i < s.rx.n_pieces && i < kMaxPieces; i++) host.outstanding[s.rx.pieces[i].buf] = s.rx.pieces[i];
  eng->input(s.rx, now);
}

void Harness::advance(uint64_t us) {
  now += us;
  eng->poll(now);
}

std::vector<TxSegment> Harness::take_tx() {
  std::vector<TxSegment> v;
  v.swap(host.tx);
  return v;
}

TxSegment Harness::one_tx() {
  std::vector<TxSegment> v = take_tx();
  REQUIRE(v.size() == 1);
  return v[0];
}

void Harness::no_tx() { CHECK(take_tx().empty()); }

void Harness::listen(uint32_t backlog) {
  REQUIRE(eng->listen(local, backlog, nullptr, &listener) == 0);
}

Conn* Harness::open_passive(Options syn, uint16_t wnd) {
  if (!listener) listen();
  PeerSeg s = seg(kSyn, peer_seq);
  s.rx.opts = syn;
  if (!syn.mss) s.rx.opts.mss = 1000;
  s.rx.window = wnd;
  in(s);
  const TxSegment sa = one_tx();
  REQUIRE(sa.flags == (kSyn | kAck));
  REQUIRE(sa.ack == peer_seq + 1);
  our_iss = sa.seq;
  peer_seq++;
  PeerSeg a = seg(kAck, peer_seq, our_iss + 1);
  a.rx.window = wnd;
  if (syn.has_timestamps) a.opt_ts(syn.tsval + 1, sa.opts.tsval);
  in(a);
  no_tx();
  Conn* c = eng->accept(listener);
  REQUIRE(c != nullptr);
  REQUIRE(c->state() == State::established);
  return c;
}

Conn* Harness::open_passive_unsampled() {
  if (!listener) listen();
  PeerSeg s = seg(kSyn, peer_seq);
  s.opt_mss(1000);
  in(s);
  our_iss = one_tx().seq;
  advance(cfg.rto_initial_us);
  REQUIRE(one_tx().retransmit);
  peer_seq++;
  in(seg(kAck, peer_seq, our_iss + 1));
  Conn* c = eng->accept(listener);
  REQUIRE(c != nullptr);
  return c;
}

Conn* Harness::open_active(Options synack, uint16_t wnd) {
  Conn* c = nullptr;
  REQUIRE(eng->connect(FourTuple{local, remote}, nullptr, &c, now) == 0);
  const TxSegment syn = one_tx();
  REQUIRE(syn.flags == kSyn);
  our_iss = syn.seq;
  PeerSeg s = seg(kSyn | kAck, peer_seq, our_iss + 1);
  s.rx.opts = synack;
  if (!synack.mss) s.rx.opts.mss = 1000;
  s.rx.window = wnd;
  if (synack.has_timestamps) s.rx.opts.tsecr = syn.opts.tsval;
  in(s);
  peer_seq++;
  const TxSegment a = one_tx();
  REQUIRE(a.flags == kAck);
  REQUIRE(a.ack == peer_seq);
  REQUIRE(c->state() == State::established);
  return c;
}

void Harness::ack_to(uint64_t off, uint16_t wnd) {
  PeerSeg a = seg(kAck, peer_seq, our_seq(off));
  a.rx.window = wnd;
  in(a);
}

void Harness::check_clean() const {
  for (const std::string& e : host.errors) FAIL_CHECK(e);
  CHECK(host.outstanding.empty());
}

}  // namespace zcrx::tcp::test
