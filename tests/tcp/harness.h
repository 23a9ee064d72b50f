// SPDX-License-Identifier: MIT
// Scripted segment harness for the TCP engine: one Engine, a fake Host
// that records every callback, and helpers to play the peer (inject a
// segment with flags, seq, ack, window, options and payload pieces with
// fake buffer ids at a given time) and to take what the engine sent.
//
// Buffer accounting: every piece injected gets a fresh buffer id; the
// fake host checks that each id comes back exactly once (deliver or
// release) and never with a length it was not given.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "zcrx/tcp/engine.h"

namespace zcrx::tcp::test {

struct Event {
  enum Kind { accept_ready, connected, peer_closed, ended } kind;
  Conn* conn = nullptr;
  Listener* listener = nullptr;
  int result = 0;
};

class FakeHost : public Host {
 public:
  // What the host answers.
  uint32_t capacity = 1u << 20;        // rx_capacity for every connection
  uint32_t take_budget = UINT32_MAX;   // pieces deliver() still takes
  bool tx_ok = true;

  // What it saw.
  std::vector<TxSegment> tx;
  std::vector<Piece> delivered;
  std::vector<Piece> released;
  std::vector<Event> events;
  std::vector<uint64_t> acked;         // send_acked offsets, in order
  uint64_t delivered_bytes = 0;
  uint32_t deliver_calls = 0;

  // Buffers given to the engine and not yet back: id -> [off, off + len)
  // of the original piece.
  std::map<uint32_t, Piece> outstanding;
  std::vector<std::string> errors;

  uint32_t deliver(Conn& c, const Piece* p, uint32_t n) override;
  void release(const Piece* p, uint32_t n) override;
  uint32_t rx_capacity(const Conn& c) override;
  bool transmit(Conn* c, const TxSegment& s) override;
  void send_acked(Conn& c, uint64_t off) override;
  void accept_ready(Listener& l) override;
  void connected(Conn& c, int result) override;
  void peer_closed(Conn& c) override;
  void ended(Conn& c, int result) override;

  uint32_t count(Event::Kind k) const;
  const Event* last(Event::Kind k) const;

 private:
  void give_back(const Piece& p, const char* how);
};

/// A peer's segment under construction.
struct PeerSeg {
  RxSegment rx;
  PeerSeg& opt_mss(uint16_t m) { rx.opts.mss = m; return *this; }
  PeerSeg& opt_ws(int8_t w) { rx.opts.wscale = w; return *this; }
  PeerSeg& opt_sack_ok() { rx.opts.sack_permitted = true; return *this; }
  PeerSeg& opt_ts(uint32_t val, uint32_t ecr) {
    rx.opts.has_timestamps = true;
    rx.opts.tsval = val;
    rx.opts.tsecr = ecr;
    return *this;
  }
  PeerSeg& sack(uint32_t l, uint32_t r) {
    rx.opts.sack[rx.opts.n_sack].left = l;
    rx.opts.sack[rx.opts.n_sack].right = r;
    rx.opts.n_sack++;
    return *this;
  }
  PeerSeg& win(uint16_t w) { rx.window = w; return *this; }
};

class Harness {
 public:
  explicit Harness(Config cfg = quiet_config());
  /// Defaults that keep segments round: no timestamps, MSS 1000.
  static Config quiet_config();

  Config cfg;
  FakeHost host;
  std::unique_ptr<Engine> eng;
  uint64_t now = 1000000;
  Endpoint local{0x0a000001, 80};
  Endpoint remote{0x0a000002, 40000};
  uint32_t next_buf = 1;
  Listener* listener = nullptr;

  // The peer's view of the connection, kept by the helpers below.
  uint32_t peer_seq = 5000;  // the peer's next sequence number
  uint32_t our_iss = 0;      // learnt from our SYN / SYN-ACK

  FourTuple tuple() const { return FourTuple{local, remote}; }
  /// A segment from the peer (flags, seq, ack, window 65535).
  PeerSeg seg(uint8_t flags, uint32_t seq, uint32_t ack = 0) const;
  /// Attaches `len` payload bytes as pieces of at most `piece_len` bytes
  /// in fresh buffers (offset 64 in each, as after a header).
  PeerSeg& payload(PeerSeg& s, uint32_t len, uint32_t piece_len = 0xffffffff);
  void in(const PeerSeg& s);
  void advance(uint64_t us);
  /// Every segment sent since the last call.
  std::vector<TxSegment> take_tx();
  /// Exactly one segment sent since the last call.
  TxSegment one_tx();
  void no_tx();

  /// listen() on `local` with `backlog`.
  void listen(uint32_t backlog = 16);
  /// A passively opened, accepted ESTABLISHED connection; the peer's SYN
  /// carries `syn` options and window `wnd` (unscaled).
  Conn* open_passive(Options syn = Options{}, uint16_t wnd = 65535);
  /// As open_passive, but the first SYN-ACK is "lost" and sent again
  /// before the ACK: no RTT sample (Karn), RTO 3 s (RFC 6298 5.7).
  Conn* open_passive_unsampled();
  /// An actively opened ESTABLISHED connection (SYN-ACK with `synack`).
  Conn* open_active(Options synack = Options{}, uint16_t wnd = 65535);
  /// Our sequence number of stream byte `off` (after the SYN).
  uint32_t our_seq(uint64_t off) const { return our_iss + 1 + static_cast<uint32_t>(off); }
  /// The peer acknowledges our stream up to `off` with window `wnd`.
  void ack_to(uint64_t off, uint16_t wnd = 65535);
  /// Every buffer came back and no rule was broken.
  void check_clean() const;
};

}  // namespace zcrx::tcp::test
