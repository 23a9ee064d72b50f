// SPDX-License-Identifier: MIT
// The TCP engine's per-segment cost, so later work can see it move:
//
//   input_in_order/ts:T/conns:N   Engine::input of in-order full-sized
//                                 segments (one piece each) over N
//                                 established connections in turn, the
//                                 host taking every piece; the engine ACKs
//                                 every second segment. T: timestamps.
//                                 Reports ns per segment and ACKs sent.
//   poll_idle/conns:N             Engine::poll with N connections, each
//                                 with its retransmission timer armed and
//                                 none due: the cost must not grow with N.
//   loopback/ts:T                 two engines over tcp/testing's simulated
//                                 wire (no loss, 20 us one way, byte checks
//                                 off): handshake, 16 MiB one way, close.
//                                 bytes/s is CPU time of the whole
//                                 simulation, engines and wire together;
//                                 sim_Gbit/s the simulated rate (to EOF).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "sim.h"
#include "zcrx/tcp/engine.h"

namespace {

using namespace zcrx::tcp;

constexpr uint32_t kLocal = 0x0a000001;
constexpr uint32_t kRemote = 0x0a000002;

// A host that takes everything and remembers only what the benchmark
// needs (the last segment sent, for the handshake).
class TakeAllHost : public Host {
 public:
  uint32_t deliver(Conn&, const Piece*, uint32_t n) override { return n; }
  void release(const Piece*, uint32_t) override {}
  uint32_t rx_capacity(const Conn&) override { return 1u << 30; }
  bool transmit(Conn*, const TxSegment& s) override {
    last = s;
    sent++;
    return true;
  }
  void send_acked(Conn&, uint64_t) override {}
  void accept_ready(Listener&) override {}
  void connected(Conn&, int) override {}
  void peer_closed(Conn&) override {}
  void ended(Conn&, int) override {}
  TxSegment last;
  uint64_t sent = 0;
};

struct Peer {
  Conn* conn = nullptr;
  RxSegment seg;  // the next data segment
};

void BM_input_in_order(benchmark::State& st) {
  const bool ts = st.range(0) != 0;
  const uint32_t n_conns = static_cast<uint32_t>(st.range(1));
  Config cfg;
  cfg.max_conns = n_conns + 16;
  cfg.timestamps = ts;
  cfg.quickack_segments = 0;
  cfg.isn_key[0] = 42;
  TakeAllHost host;
  Engine eng(cfg, host);
  Listener* l = nullptr;
  eng.listen(Endpoint{kLocal, 80}, 1024, nullptr, &l);
  uint64_t now = 1000000;
  const uint32_t len = cfg.mss - (ts ? 12 : 0);
  std::vector<Peer> peers(n_conns);
  for (uint32_t i = 0; i < n_conns; i++) {
    RxSegment syn;
    syn.tuple = FourTuple{{kLocal, 80}, {kRemote + i / 60000, static_cast<uint16_t>(1024 + i % 60000)}};
    syn.flags = kSyn;
    syn.seq = 1000;
    syn.window = 65535;
    syn.opts.mss = 1460;
    syn.opts.wscale = 7;
    syn.opts.sack_permitted = true;
    syn.opts.has_timestamps = ts;
    syn.opts.tsval = 1;
    eng.input(syn, now);
    const uint32_t iss = host.last.seq;
    RxSegment ack = syn;
    ack.flags = kAck;
    ack.seq = 1001;
    ack.ack = iss + 1;
    ack.window = 65535 >> 7;
    ack.opts = Options{};
    ack.opts.has_timestamps = ts;
    ack.opts.tsval = 2;
    eng.input(ack, now);
    peers[i].conn = eng.accept(l);
    if (!peers[i].conn) {
      st.SkipWithError("handshake failed");
      return;
    }
    RxSegment& d = peers[i].seg;
    d = ack;
    d.flags = kAck;
    d.payload_len = len;
    d.n_pieces = 1;
    d.pieces[0] = Piece{0, 64, len};
  }
  const uint64_t sent0 = host.sent;
  uint32_t k = 0;
  uint64_t segs = 0;
  for (auto _ : st) {
    Peer& p = peers[k];
    if (++k == n_conns) k = 0;
    p.seg.pieces[0].buf = static_cast<uint32_t>(segs);
    if (ts) p.seg.opts.tsval = static_cast<uint32_t>(now / 1000);
    eng.input(p.seg, now);
    p.seg.seq += len;
    segs++;
    now += 1;
    if ((segs & 63) == 0) eng.poll(now);
  }
  st.SetItemsProcessed(static_cast<int64_t>(segs));
  st.SetBytesProcessed(static_cast<int64_t>(segs) * len);
  st.counters["acks_per_seg"] = static_cast<double>(host.sent - sent0) / static_cast<double>(segs);
}
BENCHMARK(BM_input_in_order)
    ->ArgNames({"ts", "conns"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 1000})
    ->Args({1, 20000});

void BM_poll_idle(benchmark::State& st) {
  const uint32_t n_conns = static_cast<uint32_t>(st.range(0));
  Config cfg;
  cfg.max_conns = n_conns;
  cfg.isn_key[0] = 42;
  TakeAllHost host;
  Engine eng(cfg, host);
  Listener* l = nullptr;
  eng.listen(Endpoint{kLocal, 80}, 1024, nullptr, &l);
  uint64_t now = 1000000;
  for (uint32_t i = 0; i < n_conns; i++) {
    RxSegment syn;
    syn.tuple = FourTuple{{kLocal, 80}, {kRemote + i / 60000, static_cast<uint16_t>(1024 + i % 60000)}};
    syn.flags = kSyn;
    syn.seq = 1000;
    syn.window = 65535;
    syn.opts.mss = 1460;
    eng.input(syn, now);
    RxSegment ack = syn;
    ack.flags = kAck;
    ack.seq = 1001;
    ack.ack = host.last.seq + 1;
    ack.opts = Options{};
    eng.input(ack, now);
    Conn* c = eng.accept(l);
    if (!c || eng.send(c, 100, now) != 0) {
      st.SkipWithError("setup failed");
      return;
    }
  }
  // Every connection's first RTO is ~200 ms ahead; poll far less than that.
  for (auto _ : st) {
    eng.poll(now);
    now += 1;
    if (now > 1000000 + 100000) now = 1000000;
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_poll_idle)->ArgName("conns")->Arg(1)->Arg(20000);

void BM_loopback(benchmark::State& st) {
  using namespace zcrx::tcp::sim;
  Params p;
  p.tcp.max_conns = 8;
  p.tcp.mss = 1460;
  p.tcp.timestamps = st.range(0) != 0;
  p.tcp.quickack_segments = 0;
  p.delay_us = 20;
  p.bytes[0] = 0;
  p.bytes[1] = 16u << 20;
  p.consumer_bytes = 8u << 20;
  p.cq_slots = 4096;
  p.reap_every_us = 50;
  p.verify_bytes = false;
  uint64_t bytes = 0, segs = 0, sim_us = 0;
  for (auto _ : st) {
    const Result r = run(p);
    if (!r.ok) {
      st.SkipWithError(r.error.c_str());
      return;
    }
    bytes += r.received[0];
    segs += r.segments;
    sim_us += r.eof_us - 1000000;
  }
  st.SetBytesProcessed(static_cast<int64_t>(bytes));
  st.counters["segments"] = benchmark::Counter(static_cast<double>(segs), benchmark::Counter::kIsRate);
  st.counters["sim_Gbit/s"] =
      static_cast<double>(bytes) * 8 / (static_cast<double>(sim_us) * 1e3);
}
BENCHMARK(BM_loopback)->ArgName("ts")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
