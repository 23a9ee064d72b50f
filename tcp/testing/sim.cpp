// SPDX-License-Identifier: MIT
// The two-engine simulation (see sim.h).
#include "sim.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "zcrx/tcp/options.h"

namespace zcrx::tcp::sim {
namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t s) : s_(s) {}
  uint64_t next() { return s_ = splitmix(s_); }
  uint32_t below(uint32_t n) { return n ? static_cast<uint32_t>(next() % n) : 0; }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  bool chance(double p) { return p > 0 && unit() < p; }

 private:
  uint64_t s_;
};

constexpr uint32_t kAddr[2] = {0x0a000001, 0x0a000002};

struct Packet {
  uint64_t at;
  uint64_t order;
  int to;  // side that receives it
  RxSegment seg;
  std::vector<uint8_t> bytes;  // payload
  bool operator>(const Packet& o) const { return at != o.at ? at > o.at : order > o.order; }
};

class Sim;

// One connection as one side's host sees it (Conn::user points here).
struct Flow {
  uint32_t index = 0;
  Conn* conn = nullptr;
  uint16_t port = 0;           // the connector's port: how the listener matches
  bool done = false;
  int end_result = 1;
  bool got_eof = false;
  bool shut = false;
  bool closed = false;
  uint64_t out_stream = 0, out_size = 0;  // what we send
  uint64_t in_stream = 0, in_size = 0;    // what the peer sends
  // Send side: bytes appended, bytes the host freed (send_acked).
  uint64_t appended = 0;
  uint64_t freed = 0;
  // Receive side: the consumer.
  uint64_t received = 0;
  uint32_t held_bytes = 0;
  uint32_t held_slots = 0;
  uint64_t next_reap = 0;
};

// One side: the host of one engine.
class Side : public Host {
 public:
  Side(Sim& sim, int id) : sim_(sim), id_(id) {}

  uint32_t deliver(Conn& c, const Piece* p, uint32_t n) override;
  void release(const Piece* p, uint32_t n) override;
  uint32_t rx_capacity(const Conn& c) override;
  bool transmit(Conn* c, const TxSegment& s) override;
  void send_acked(Conn& c, uint64_t off) override;
  void accept_ready(Listener& l) override;
  void connected(Conn& c, int result) override;
  void peer_closed(Conn& c) override;
  void ended(Conn& c, int result) override;

  static Flow* flow_of(const Conn& c) { return static_cast<Flow*>(c.user()); }
  bool all_done() const {
    for (const Flow& f : flows)
      if (!f.done) return false;
    return true;
  }

  std::unique_ptr<Engine> eng;
  Listener* listener = nullptr;
  bool accept_pending = false;
  std::vector<Flow> flows;

 private:
  Sim& sim_;
  int id_;
};

class Sim {
 public:
  explicit Sim(const Params& p) : p_(p), rng_(p.seed), sides_{Side(*this, 0), Side(*this, 1)} {}
  Result run();

  void fail(const std::string& why) {
    if (res_.error.empty()) res_.error = why;
  }
  void send_segment(int from, const Flow* f, const TxSegment& s);
  uint32_t new_buffer(std::vector<uint8_t> bytes) {
    const uint32_t id = next_buf_++;
    if (p_.verify_bytes) buffers_.emplace(id, std::move(bytes));
    return id;
  }
  // A piece comes back: its bytes (when delivered) and the buffer goes.
  bool take_back(const Piece& p, const char* how, std::vector<uint8_t>* out);

  const Params& p_;
  Rng rng_;
  Side sides_[2];
  Result res_;
  uint64_t now = 0;

 private:
  void accept_all(Side& s);
  void step_flow(Side& s, Flow& f);
  void reap(Side& s, Flow& f, int side);
  void step_apps();
  void arrive(Packet& pk);
  uint64_t next_event() const;
  std::priority_queue<Packet, std::vector<Packet>, std::greater<Packet>> wire_;
  uint64_t order_ = 0;
  uint32_t next_buf_ = 1;
  // Buffers the engines hold: the piece as given, and its bytes (from
  // the piece's offset on; only when verifying).
  std::unordered_map<uint32_t, std::vector<uint8_t>> buffers_;
  std::unordered_map<uint32_t, Piece> given_;

  friend class Side;
};

// ---- the host ----------------------------------------------------------------------------------

uint32_t Side::deliver(Conn& c, const Piece* p, uint32_t n) {
  // Payload of a connection not accepted yet waits in the engine (the
  // contract): the sim calls rx_capacity_changed after accept().
  Flow* f = flow_of(c);
  if (!f) return 0;
  const uint32_t free_slots = sim_.p_.cq_slots - f->held_slots;
  const uint32_t k = n < free_slots ? n : free_slots;
  if (k < n) sim_.res_.refused_deliveries++;
  for (uint32_t i = 0; i < k; i++) {
    std::vector<uint8_t> bytes;
    if (!sim_.take_back(p[i], "deliver", &bytes)) continue;
    if (sim_.p_.verify_bytes) {
      for (uint32_t j = 0; j < p[i].len; j++) {
        if (bytes[j] != stream_byte(f->in_stream, f->received + j)) {
          sim_.fail("side " + std::to_string(id_) + " conn " + std::to_string(f->index) +
                    ": wrong byte at stream offset " + std::to_string(f->received + j));
          break;
        }
      }
    }
    f->received += p[i].len;
    f->held_bytes += p[i].len;
    f->held_slots++;
  }
  if (f->received > f->in_size) sim_.fail("more bytes than were sent");
  return k;
}

void Side::release(const Piece* p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) sim_.take_back(p[i], "release", nullptr);
}

uint32_t Side::rx_capacity(const Conn& c) {
  const Flow* f = flow_of(c);
  if (!f) return sim_.p_.consumer_bytes;  // not accepted yet: all of it
  if (f->held_slots >= sim_.p_.cq_slots) return 0;
  return f->held_bytes >= sim_.p_.consumer_bytes ? 0 : sim_.p_.consumer_bytes - f->held_bytes;
}

bool Side::transmit(Conn* c, const TxSegment& s) {
  const Flow* f = c ? flow_of(*c) : nullptr;
  if (s.len) {
    if (!f) {
      sim_.fail("payload from a connection the host does not know");
      return false;
    }
    if (s.stream_off < f->freed || s.stream_off + s.len > f->appended) {
      sim_.fail("transmit asks for bytes the host does not hold: [" + std::to_string(s.stream_off) +
                ", +" + std::to_string(s.len) + ") held [" + std::to_string(f->freed) + ", " +
                std::to_string(f->appended) + ")");
      return false;
    }
  }
  sim_.send_segment(id_, f, s);
  return true;
}

void Side::send_acked(Conn& c, uint64_t off) {
  Flow* f = flow_of(c);
  if (!f) {
    sim_.fail("send_acked for a connection the host does not know");
    return;
  }
  if (off <= f->freed || off > f->appended) sim_.fail("send_acked out of order or past the data");
  f->freed = off;
}

void Side::accept_ready(Listener&) { accept_pending = true; }

void Side::connected(Conn&, int result) {
  if (result != 0) sim_.fail("connect failed: " + std::to_string(result));
}

void Side::peer_closed(Conn& c) {
  Flow* f = flow_of(c);
  if (!f) {
    sim_.fail("peer_closed before accept");
    return;
  }
  if (f->got_eof) sim_.fail("peer_closed twice");
  f->got_eof = true;
  if (sim_.now > sim_.res_.eof_us) sim_.res_.eof_us = sim_.now;
  if (f->received != f->in_size)
    sim_.fail("EOF after " + std::to_string(f->received) + " of " + std::to_string(f->in_size));
}

void Side::ended(Conn& c, int result) {
  Flow* f = flow_of(c);
  if (!f || f->conn != &c) {
    sim_.fail("ended for a connection the host does not know");
    return;
  }
  const ConnStats& st = c.stats();
  sim_.res_.retransmits += st.retransmits;
  sim_.res_.rto += st.rto_expiries;
  sim_.res_.fast_rtx += st.fast_retransmits;
  sim_.res_.probes += st.zero_window_probes;
  sim_.res_.ooo += st.ooo_segments;
  f->end_result = result;
  f->done = true;
  f->conn = nullptr;
}

// ---- the wire ----------------------------------------------------------------------------------

bool Sim::take_back(const Piece& p, const char* how, std::vector<uint8_t>* out) {
  auto g = given_.find(p.buf);
  if (g == given_.end()) {
    fail(std::string(how) + ": buffer not held " + std::to_string(p.buf));
    return false;
  }
  const Piece orig = g->second;
  if (p.len == 0 || p.off < orig.off || p.off + p.len > orig.off + orig.len) {
    fail(std::string(how) + ": piece outside its buffer");
    return false;
  }
  given_.erase(g);
  if (!p_.verify_bytes) return true;
  auto b = buffers_.find(p.buf);
  if (out) out->assign(b->second.begin() + (p.off - orig.off), b->second.begin() + (p.off - orig.off + p.len));
  buffers_.erase(b);
  return true;
}

void Sim::send_segment(int from, const Flow* f, const TxSegment& s) {
  res_.segments++;
  const bool lost = rng_.chance(p_.loss);
  if (p_.trace) {
    std::printf("%10.6f %d:%u> %s%s%s%s%s seq %u ack %u win %u len %u off %llu%s%s sack %u\n", now / 1e6,
                from, s.tuple.local.port, s.flags & kSyn ? "S" : "", s.flags & kFin ? "F" : "",
                s.flags & kRst ? "R" : "", s.flags & kAck ? "." : "", s.flags & kPsh ? "P" : "", s.seq, s.ack,
                s.window, s.len, static_cast<unsigned long long>(s.stream_off), s.retransmit ? " rtx" : "",
                lost ? " LOST" : "", s.opts.n_sack);
  }
  if (lost) {
    res_.lost++;
    return;
  }
  Packet pk;
  pk.to = 1 - from;
  RxSegment& r = pk.seg;
  r.tuple.local = s.tuple.remote;
  r.tuple.remote = s.tuple.local;
  r.seq = s.seq;
  r.ack = s.ack;
  r.window = s.window;
  r.flags = s.flags;
  uint8_t wire[kMaxOptionBytes];
  const uint32_t n = write_options(s.opts, wire, sizeof wire);
  if (options_wire_len(s.opts) != n) fail("options do not fit a header");
  if (parse_options(wire, n, s.flags & kSyn, r.opts) != 0) fail("our own options do not parse");
  r.payload_len = s.len;
  if (s.len && p_.verify_bytes) {
    pk.bytes.resize(s.len);
    for (uint32_t i = 0; i < s.len; i++) pk.bytes[i] = stream_byte(f->out_stream, s.stream_off + i);
  }
  const uint32_t jitter = p_.jitter_us ? rng_.below(p_.jitter_us) : 0;
  pk.at = now + p_.delay_us + jitter;
  if (rng_.chance(p_.reorder)) {
    res_.reordered++;
    pk.at += p_.delay_us * (1 + rng_.below(4));
  }
  pk.order = order_++;
  if (rng_.chance(p_.dup)) {
    res_.duplicated++;
    Packet copy = pk;
    copy.order = order_++;
    copy.at += rng_.below(p_.delay_us + 1);
    wire_.push(std::move(copy));
  }
  wire_.push(std::move(pk));
}

void Sim::arrive(Packet& pk) {
  RxSegment& r = pk.seg;
  // Fresh buffers for the payload, split in 1..4 pieces, each at a random
  // header offset (header split already done by the owner).
  if (r.payload_len) {
    const uint32_t np = 1 + rng_.below(std::min<uint32_t>(kMaxPieces, r.payload_len));
    uint32_t at = 0;
    for (uint32_t k = 0; k < np; k++) {
      const uint32_t left = r.payload_len - at;
      const uint32_t len = k + 1 == np ? left : 1 + rng_.below(left - (np - k - 1));
      const uint32_t off = rng_.below(128);
      std::vector<uint8_t> b;
      if (p_.verify_bytes) b.assign(pk.bytes.begin() + at, pk.bytes.begin() + at + len);
      const uint32_t id = new_buffer(std::move(b));
      r.pieces[k] = Piece{id, off, len};
      given_[id] = r.pieces[k];
      at += len;
    }
    r.n_pieces = static_cast<uint8_t>(np);
  }
  sides_[pk.to].eng->input(r, now);
}

// ---- the applications ----------------------------------------------------------------------------

void Sim::accept_all(Side& s) {
  // The listener's side matches a child to its flow by the connector's port.
  while (s.accept_pending) {
    Conn* c = s.eng->accept(s.listener);
    if (!c) {
      s.accept_pending = false;
      break;
    }
    Flow* match = nullptr;
    for (Flow& f : s.flows)
      if (sides_[1].flows[f.index].port == c->tuple().remote.port) match = &f;
    if (!match || match->conn) {
      fail("accepted a connection no flow expects");
      return;
    }
    match->conn = c;
    c->set_user(match);
    s.eng->rx_capacity_changed(c, now);  // armed: take what waits
  }
}

// The application of one connection: append as the send buffer allows (in
// random chunks), shut down when all is sent, close after the EOF.
void Sim::step_flow(Side& s, Flow& f) {
  const State st = f.conn->state();
  const bool can_send = st == State::established || st == State::close_wait;
  if (can_send && f.appended < f.out_size) {
    const uint32_t space = s.eng->send_space(f.conn);
    uint64_t chunk = 1 + rng_.below(64 * 1024);
    chunk = std::min<uint64_t>({chunk, space, f.out_size - f.appended});
    if (chunk) {
      f.appended += chunk;  // held before send() may transmit it
      const int r = s.eng->send(f.conn, static_cast<uint32_t>(chunk), now);
      if (r != 0) {
        f.appended -= chunk;
        fail("send: " + std::to_string(r));
      }
    }
  }
  if (!f.conn) return;
  if (can_send && !f.shut && f.appended == f.out_size) {
    f.shut = true;
    if (s.eng->shutdown_write(f.conn, now) != 0) fail("shutdown_write");
  }
  if (!f.conn) return;
  if (f.got_eof && f.shut && !f.closed) {
    f.closed = true;
    s.eng->close(f.conn, now);
  }
}

// A consumer reaps its completions now and then, or stalls.
void Sim::reap(Side& s, Flow& f, int side) {
  if (now < f.next_reap) return;
  const bool had = f.held_bytes || f.held_slots;
  f.held_bytes = 0;
  f.held_slots = 0;
  if (rng_.chance(p_.stall)) {
    res_.stalls++;
    f.next_reap = now + p_.stall_us / 2 + rng_.below(p_.stall_us);
    if (p_.trace) std::printf("%10.6f %d:%u stalls until %.6f\n", now / 1e6, side, f.index, f.next_reap / 1e6);
  } else {
    f.next_reap = now + 1 + rng_.below(2 * p_.reap_every_us);
  }
  if (had && f.conn && !f.done) s.eng->rx_capacity_changed(f.conn, now);
}

void Sim::step_apps() {
  for (int i = 0; i < 2; i++) {
    Side& s = sides_[i];
    accept_all(s);
    for (Flow& f : s.flows)
      if (f.conn && !f.done) step_flow(s, f);
  }
  for (int i = 0; i < 2; i++)
    for (Flow& f : sides_[i].flows)
      if (!f.done) reap(sides_[i], f, i);
}

uint64_t Sim::next_event() const {
  uint64_t next = UINT64_MAX;
  if (!wire_.empty()) next = wire_.top().at;
  for (const Side& s : sides_) {
    next = std::min(next, s.eng->next_deadline());
    for (const Flow& f : s.flows)
      if (!f.done) next = std::min(next, f.next_reap);
  }
  return next;
}

Result Sim::run() {
  const uint32_t n = p_.conns ? p_.conns : 1;
  for (int i = 0; i < 2; i++) {
    Config c = p_.tcp;
    c.isn_key[0] = splitmix(p_.seed * 4 + i);
    c.isn_key[1] = splitmix(p_.seed * 4 + i + 2);
    if (c.max_conns < n) c.max_conns = n;
    sides_[i].eng = std::make_unique<Engine>(c, sides_[i]);
    sides_[i].flows.resize(n);
    for (uint32_t k = 0; k < n; k++) {
      Flow& f = sides_[i].flows[k];
      f.index = k;
      f.out_stream = p_.seed * 64 + k * 2 + i;
      f.in_stream = p_.seed * 64 + k * 2 + (1 - i);
      f.out_size = stream_size(p_, k, i);
      f.in_size = stream_size(p_, k, 1 - i);
    }
  }
  now = 1000000;
  if (sides_[0].eng->listen(Endpoint{kAddr[0], 80}, 8, nullptr, &sides_[0].listener) != 0) fail("listen");
  for (Flow& f : sides_[1].flows) {
    const FourTuple t{{kAddr[1], 0}, {kAddr[0], 80}};
    if (sides_[1].eng->connect(t, &f, &f.conn, now) != 0) fail("connect");
    else f.port = f.conn->tuple().local.port;
  }

  while (res_.error.empty()) {
    if (sides_[0].all_done() && sides_[1].all_done() && wire_.empty()) break;
    const uint64_t next = next_event();
    if (next == UINT64_MAX) {
      fail("nothing left to happen but the connections did not end");
      break;
    }
    if (next > now) now = next;
    if (now > p_.time_limit_us) {
      fail("time limit");
      break;
    }
    while (!wire_.empty() && wire_.top().at <= now) {
      Packet pk = wire_.top();
      wire_.pop();
      arrive(pk);
      step_apps();
    }
    for (Side& s : sides_) s.eng->poll(now);
    step_apps();
  }
  res_.sim_us = now;
  for (int i = 0; i < 2; i++) {
    res_.ended[i] = 0;
    for (const Flow& f : sides_[i].flows) {
      res_.received[i] += f.received;
      if (f.end_result != 0 && res_.ended[i] == 0) res_.ended[i] = f.end_result;
    }
  }
  // Engines go: anything they still hold comes back through release.
  for (Side& s : sides_) {
    const EngineStats st = s.eng->stats();
    res_.rx_no_slot += st.rx_no_slot;
    res_.ooo_dropped += st.ooo_dropped;
    if (res_.error.empty() && st.conns_live != 0) fail("a connection outlived the run");
    s.eng.reset();
  }
  if (res_.error.empty()) {
    for (int i = 0; i < 2; i++) {
      for (const Flow& f : sides_[i].flows) {
        if (f.received != f.in_size)
          fail("side " + std::to_string(i) + " conn " + std::to_string(f.index) + " short of bytes: " +
               std::to_string(f.received) + " of " + std::to_string(f.in_size) +
               (f.got_eof ? " (EOF seen)" : " (no EOF)"));
        if (f.end_result != 0)
          fail("side " + std::to_string(i) + " conn " + std::to_string(f.index) + " ended with " +
               std::to_string(f.end_result));
      }
    }
    if (!given_.empty()) fail(std::to_string(given_.size()) + " buffers never came back");
  }
  res_.ok = res_.error.empty();
  return res_;
}

}  // namespace

uint8_t stream_byte(uint64_t s, uint64_t off) {
  return static_cast<uint8_t>(splitmix(s * 0x100000001b3ull + (off >> 3)) >> (8 * (off & 7)));
}

Result run(const Params& p) {
  Sim sim(p);
  return sim.run();
}

Params draw_params(uint64_t seed, bool long_mode) {
  Rng r(splitmix(seed ^ 0x5eed));
  Params p;
  p.seed = seed;
  Config& c = p.tcp;
  c.max_conns = 8;
  c.max_listeners = 2;
  c.max_ooo_segments = 64 + r.below(512);
  c.ooo_per_conn = 8 + r.below(256);
  c.max_pending_segments = 16 + r.below(256);
  static const uint16_t mss[] = {536, 1000, 1460, 8960};
  c.mss = mss[r.below(4)];
  c.wscale = static_cast<uint8_t>(r.below(10));
  c.rcvbuf = 8192 + r.below(1u << 20);
  c.sndbuf = 8192 + r.below(1u << 20);
  c.sack = r.below(4) != 0;
  c.timestamps = r.below(3) != 0;
  c.nagle = r.below(4) == 0;
  c.congestion = r.below(2) ? Congestion::cubic : Congestion::newreno;
  c.quickack_segments = r.below(20);
  c.time_wait_us = 200000 + r.below(1000000);
  static const double loss[] = {0, 0, 0.01, 0.03, 0.1};
  p.loss = loss[r.below(5)];
  p.dup = r.below(3) == 0 ? 0.02 : 0;
  static const double reorder[] = {0, 0, 0.02, 0.1, 0.3};
  p.reorder = reorder[r.below(5)];
  p.delay_us = 50 + r.below(20000);
  p.jitter_us = r.below(2) ? r.below(p.delay_us) : 0;
  const uint64_t most = long_mode ? (8u << 20) : (256u << 10);
  p.bytes[0] = r.below(4) == 0 ? r.below(2000) : r.next() % most;
  p.bytes[1] = r.below(4) == 0 ? r.below(2000) : r.next() % most;
  p.consumer_bytes = 2048 + r.below(512 * 1024);
  p.cq_slots = 1 + r.below(128);
  p.reap_every_us = 100 + r.below(20000);
  p.stall = r.below(3) == 0 ? 0.01 + 0.1 * r.unit() : 0;
  p.stall_us = 1000000 + r.below(30000000);
  p.conns = 1 + r.below(4);
  return p;
}

}  // namespace zcrx::tcp::sim
