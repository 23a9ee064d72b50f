// SPDX-License-Identifier: MIT
// Private state of the TCP engine, shared by its source files. Nothing here
// is part of the public contract.
//
// Sequence spaces. The receive side works in the peer's 32-bit sequence
// numbers (modular comparisons below). The send side works in a 64-bit
// "virtual sequence" (vseq) that never wraps: vseq 0 is our SYN, vseq 1 + k
// is byte k of the send stream (TxSegment::stream_off = k), and the FIN,
// once queued, takes vseq fin_v = snd_end. On the wire seq = iss + vseq
// (mod 2^32).
//
// Ownership of received pieces: an RxSegment's pieces are copied into a
// Seg on input; every piece then goes exactly once to Host::deliver, to
// Host::release, or into a SegNode (pending or out of order) that later
// does one of the two.
#pragma once

#include <cstdint>
#include <memory>

#include "tables.h"
#include "timer_heap.h"
#include "zcrx/tcp/engine.h"

namespace zcrx::tcp {

inline constexpr uint64_t kNever = UINT64_MAX;

// ---- 32-bit sequence arithmetic (RFC 9293 3.4) ---------------------------------
inline bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }
inline bool seq_gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
inline bool seq_ge(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }

/// A received segment being processed: the RxSegment's fields this engine
/// uses, with pieces it may trim.
struct Seg {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint32_t len = 0;  // payload bytes
  uint16_t window = 0;
  uint8_t flags = 0;
  uint8_t n_pieces = 0;
  Piece pieces[kMaxPieces];
  const Options* opts = nullptr;
  /// Sequence space the segment occupies (payload, SYN, FIN).
  uint32_t seg_len() const {
    return len + ((flags & kSyn) ? 1 : 0) + ((flags & kFin) ? 1 : 0);
  }
};

/// A held received segment: out of order, or in order but not yet taken
/// by the host (pending). Nodes of one connection form a doubly linked list
/// in sequence order.
struct SegNode {
  uint32_t seq = 0;  // first payload byte (or the FIN's, when len is 0)
  uint32_t len = 0;
  uint32_t next = kNone;
  uint32_t prev = kNone;
  uint8_t n_pieces = 0;
  bool fin = false;  // a FIN follows the payload
  Piece pieces[kMaxPieces];
  uint32_t end() const { return seq + len; }
};

struct SegQueue {
  uint32_t head = kNone;
  uint32_t tail = kNone;
  uint32_t count = 0;   // nodes
  uint32_t pieces = 0;
  uint32_t bytes = 0;
};

/// Sender's SACK scoreboard (RFC 6675 2): what the peer reported holding
/// above snd_una, as disjoint sorted vseq ranges.
struct Scoreboard {
  static constexpr uint32_t kRanges = 16;
  struct Range {
    uint64_t l, r;  // [l, r)
  };
  Range r[kRanges];
  uint32_t n = 0;
  uint64_t high = 0;  // highest vseq SACKed (0: none)
};

/// Which job the retransmission timer does.
enum class RtxMode : uint8_t { none, syn, rto, persist };

struct Listener::Impl {
  Listener handle{this};
  uint32_t index = 0;
  bool live = false;
  Endpoint local;
  void* user = nullptr;
  uint32_t backlog = 0;
  uint32_t synq_len = 0;     // children in SYN-RECEIVED
  uint32_t acceptq_len = 0;  // children established, not accepted
  uint32_t synq_head = kNone;     // child links through Conn::Impl::lnext/lprev
  uint32_t acceptq_head = kNone;
  uint32_t acceptq_tail = kNone;
  uint32_t free_next = kNone;
};

struct Conn::Impl {
  Conn handle{this};
  uint32_t index = 0;
  bool live = false;
  bool visible = false;        // the host knows it (Host::ended is due)
  bool passive = false;        // created by a listener
  bool user_closed = false;    // close() called: the host takes no payload
  bool wr_shut = false;        // shutdown_write() or close(): FIN queued
  bool fin_rcvd = false;       // the peer's FIN is in order (rcv_nxt past it)
  bool peer_closed_told = false;
  bool ack_now = false;        // an ACK is owed at the end of this call
  bool draining = false;       // ended on the wire; Host::ended once pending is taken
  State state = State::closed;
  EndReason end_reason = EndReason::none;
  FourTuple tuple;
  void* user = nullptr;
  ConnStats stats;

  // Listener relations: the listener of a child not yet accepted.
  uint32_t listener = kNone;
  uint32_t lnext = kNone, lprev = kNone;
  uint32_t free_next = kNone;

  // Negotiated at the handshake (RFC 9293 3.7.1, RFC 7323, RFC 2018).
  uint16_t peer_mss = 536;
  uint16_t mss = 536;          // our payload per segment: min(peer, ours) - TS
  uint16_t rcv_mss = 536;      // the peer's largest segment seen (ACK pacing)
  uint8_t snd_wscale = 0;      // applied to the peer's window field
  uint8_t rcv_wscale = 0;      // applied to ours
  bool ws_ok = false;          // both offered window scaling
  bool sack_ok = false;
  bool ts_ok = false;
  uint16_t syn_window = 0;     // the window field of our SYN (SYN-SENT)

  // Send side (vseq, see the top of this file).
  uint32_t iss = 0;
  uint64_t snd_una = 0;
  uint64_t snd_nxt = 0;
  uint64_t snd_max = 0;        // one past the highest vseq ever sent
  uint64_t snd_end = 1;        // one past the last byte the host appended
  uint32_t snd_wnd = 0;        // the peer's window, bytes
  uint32_t max_snd_wnd = 0;
  uint32_t snd_wl1 = 0;        // seq of the segment that last set snd_wnd
  uint64_t snd_wl2 = 0;        // vseq acknowledged by it

  // Congestion control and loss recovery.
  uint32_t cwnd = 0;
  uint32_t ssthresh = UINT32_MAX;
  uint32_t ca_acked = 0;       // bytes acked toward the next cwnd step
  // RFC 7661 / Linux's tcp_is_cwnd_limited: cwnd grows only while it is
  // what limits the flight, latched for one window of data.
  bool cwnd_limited = false;
  uint64_t cwnd_limited_until = 0;
  uint32_t dupacks = 0;
  bool in_recovery = false;
  bool partial_seen = false;   // RFC 6582 "impatient" timer reset done
  bool lost_by_rto = false;    // since the last RTO, until snd_una passes recover
  uint64_t recover = 0;        // RFC 6582 recover / RFC 6675 RecoveryPoint
  uint64_t high_rxt = 0;       // RFC 6675 HighRxt (one past)
  Scoreboard sb;
  // CUBIC (RFC 9438 4).
  double cubic_wmax = 0;       // segments
  double cubic_k = 0;          // seconds
  double cubic_west = 0;       // segments
  uint64_t cubic_epoch = 0;    // us, 0: no epoch
  uint32_t cubic_origin = 0;   // cwnd (segments) at the epoch's start

  // RTT (RFC 6298) and retransmission.
  uint32_t srtt_us = 0;        // 0: no sample yet
  uint32_t rttvar_us = 0;
  uint32_t rto_us = 0;
  uint32_t backoff = 0;        // doublings applied to the timer
  uint32_t retries = 0;        // expiries without progress
  bool rtt_timing = false;     // a segment is timed (Karn: never a resent one)
  uint64_t rtt_seq = 0;        // timed until snd_una passes this vseq
  uint64_t rtt_start = 0;
  bool handshake_rtx = false;  // SYN or SYN-ACK sent again

  // Timestamps (RFC 7323).
  uint32_t ts_offset = 0;
  uint32_t ts_recent = 0;
  uint64_t ts_recent_stamp = 0;  // us when ts_recent was set
  uint32_t last_ack_sent = 0;
  uint64_t last_oow_ack = 0;     // us of the last ACK answering an out-of-window ACK

  // Receive side.
  uint32_t irs = 0;
  uint32_t rcv_nxt = 0;
  uint32_t rcv_adv = 0;        // right edge of the window last advertised
  uint32_t rcv_unacked = 0;    // bytes taken in order since our last ACK
  uint32_t rcv_buf = 0;        // RCV.BUFF: the most rx_capacity offered (<= rcvbuf)
  uint32_t quickack_left = 0;
  SegQueue pending;            // in order, not taken by the host
  SegQueue ooo;                // out of order, sorted, disjoint
  uint32_t sack_recent[4] = {};  // left edges of recent OOO arrivals, newest first
  uint8_t n_sack_recent = 0;

  // Timers (absolute us, kNever: disarmed) and their place in the heap.
  RtxMode rtx_mode = RtxMode::none;
  uint64_t t_rtx = kNever;
  uint64_t t_delack = kNever;
  uint64_t t_wait = kNever;    // TIME-WAIT or FIN-WAIT-2
};

struct Engine::Impl {
  Impl(const Config& cfg, Host& host);
  ~Impl();

  Config cfg;
  Host& host;
  uint64_t now = 0;  // the time of the current call

  std::unique_ptr<Conn::Impl[]> conns;
  uint32_t conn_free = kNone;
  std::unique_ptr<Listener::Impl[]> listeners;
  uint32_t listener_free = kNone;
  std::unique_ptr<SegNode[]> nodes;
  uint32_t node_free = kNone;
  uint32_t nodes_ooo = 0;  // nodes holding out-of-order segments
  uint32_t nodes_pending = 0;

  ConnTable conn_table;
  ListenerTable listener_table;
  TimerHeap timers;
  EngineStats stats;
  uint64_t key[2] = {0, 0};

  uint64_t challenge_window = 0;  // start (us) of the current second
  uint32_t challenge_count = 0;
  uint32_t port_cursor = 0;

  Conn::Impl& conn(uint32_t i) { return conns[i]; }
  SegNode& node(uint32_t i) { return nodes[i]; }
  static Impl& of(Engine& e);
};

// ---- lifecycle.cpp: pools, lookup, ending --------------------------------------------
Conn::Impl* alloc_conn(Engine::Impl& e, const FourTuple& t);
/// Ends `c`: releases what it holds, takes it out of every table and list,
/// calls Host::ended if it was visible, frees it. `c` is dead afterwards.
void end_conn(Engine::Impl& e, Conn::Impl& c, EndReason why, int result);
/// The last step of end_conn (also when a draining connection's pending
/// payload is all taken): Host::ended, back to the pool.
void free_conn(Engine::Impl& e, Conn::Impl& c, int result);
/// Ends a connection that failed to connect: Host::connected then ended.
void fail_connect(Engine::Impl& e, Conn::Impl& c, EndReason why, int result);
void enter_time_wait(Engine::Impl& e, Conn::Impl& c);
/// Passive child reached ESTABLISHED: into its listener's accept queue.
/// False when the queue is full (the ACK is dropped, as Linux does).
bool child_established(Engine::Impl& e, Conn::Impl& c);
void listener_unlink_child(Engine::Impl& e, Conn::Impl& c);
Listener::Impl* find_listener(Engine::Impl& e, const Endpoint& local);

// ---- isn.cpp: keyed hashes (RFC 6528) ----------------------------------------------
uint64_t siphash24(const uint64_t key[2], const void* data, uint32_t len);
uint32_t isn_for(const Engine::Impl& e, const FourTuple& t);
uint32_t ts_offset_for(const Engine::Impl& e, const FourTuple& t);
/// 0 when every port of the range is taken for that remote.
uint16_t pick_ephemeral_port(Engine::Impl& e, const FourTuple& t);

// ---- input.cpp: RFC 9293 3.10.7.1-3 (no connection, LISTEN, SYN-SENT) ---------------
void input_segment(Engine::Impl& e, const RxSegment& rs);
/// RFC 9293 3.10.7.1: the RST answering a segment of no connection.
void send_rst_for(Engine::Impl& e, const FourTuple& t, const Seg& s);
void release_pieces(Engine::Impl& e, Seg& s);
/// Negotiates the options of the peer's SYN (RFC 9293 3.7.1, 7323, 2018).
void take_syn_options(Engine::Impl& e, Conn::Impl& c, const Options& o);

// ---- input_sync.cpp: RFC 9293 3.10.7.4 (synchronized states) --------------------------
void input_synchronized(Engine::Impl& e, Conn::Impl& c, Seg& s);
/// The peer's FIN is next in sequence (RFC 9293 3.10.7.4 eighth check).
void on_fin(Engine::Impl& e, Conn::Impl& c);
/// RFC 5961 challenge ACK, rate-limited engine-wide.
void challenge_ack(Engine::Impl& e, Conn::Impl& c);

// ---- ack.cpp: an acceptable ACK (RFC 9293 3.10.7.4 fifth check) -------------------------
/// Returns false when the connection ended (LAST-ACK done).
bool process_ack(Engine::Impl& e, Conn::Impl& c, const Seg& s);
uint64_t ack_to_vseq(const Conn::Impl& c, uint32_t ack);

// ---- congestion.cpp: RFC 5681, 6582, 9438 ------------------------------------------
void cc_init(Engine::Impl& e, Conn::Impl& c);
/// A new (acked > 0) or duplicate ACK. Returns whether the RTO restarts
/// (RFC 6582's impatient variant: only on the first partial ACK).
bool cc_on_ack(Engine::Impl& e, Conn::Impl& c, uint32_t acked, bool dupack);
void cc_on_rto(Engine::Impl& e, Conn::Impl& c);
/// After sending: note whether cwnd is what holds the flight back.
void cc_note_flight(Conn::Impl& c);
uint32_t flight_size(const Conn::Impl& c);

// ---- sack.cpp: sender scoreboard and RFC 6675 recovery --------------------------------
void sb_update(Conn::Impl& c, const Options& o);
void sb_clear(Conn::Impl& c);
/// Drops what snd_una passed.
void sb_advance(Conn::Impl& c);
bool sb_is_lost(const Conn::Impl& c, uint64_t v);
uint32_t sb_pipe(const Conn::Impl& c);
/// RFC 6675 NextSeg(): the next range to send in recovery; false if none.
bool sb_next_seg(const Conn::Impl& c, uint64_t* v, uint32_t* len, bool* rtx);
bool sb_sacked(const Conn::Impl& c, uint64_t v, uint64_t* end);

// ---- reassembly.cpp: receive text (RFC 9293 3.10.7.4 seventh, eighth) --------------------
/// Takes the payload (and FIN) of an acceptable segment. Sets ack_now or
/// arms the delayed ACK. Returns false when the connection ended.
bool receive_text(Engine::Impl& e, Conn::Impl& c, Seg& s);
/// Offers pending pieces again; false when the connection ended.
bool offer_pending(Engine::Impl& e, Conn::Impl& c);
void release_queue(Engine::Impl& e, SegQueue& q, bool ooo);
/// SACK blocks describing the out-of-order data (RFC 2018 4).
uint8_t build_sack_blocks(Engine::Impl& e, Conn::Impl& c, Options& o, uint8_t max);
uint32_t trim_front(Engine::Impl& e, Piece* p, uint8_t& n, uint32_t bytes);
uint32_t trim_back(Engine::Impl& e, Piece* p, uint8_t& n, uint32_t bytes);

// ---- window.cpp: the receive window (RFC 9293 3.8.6, 7323 2.3) --------------------------
/// The window field of a segment we send now; moves rcv_adv.
uint16_t select_window(Engine::Impl& e, Conn::Impl& c);
/// Bytes the window could now extend to from rcv_nxt (before scaling).
uint32_t window_available(Engine::Impl& e, Conn::Impl& c);
/// RFC 9293 3.8.6.2.2: is a window update worth sending now?
bool window_update_due(Engine::Impl& e, Conn::Impl& c);

// ---- output.cpp: segments out ---------------------------------------------------------
/// Sends what the windows allow and the ACK owed. `force`: the persist
/// timer's override of sender SWS avoidance (RFC 9293 3.8.6.2.1).
void output(Engine::Impl& e, Conn::Impl& c, bool force = false);
void send_ack(Engine::Impl& e, Conn::Impl& c);
void send_syn(Engine::Impl& e, Conn::Impl& c, bool rtx);
void send_rst(Engine::Impl& e, Conn::Impl& c);
/// The sequence number of a segment without payload (ACK, RST).
uint64_t acceptable_vseq(const Conn::Impl& c);
/// Sends [v, v + len) (and the FIN if it ends there); returns vseq taken.
uint32_t send_range(Engine::Impl& e, Conn::Impl& c, uint64_t v, uint32_t len, bool rtx);
/// One zero-window probe (seq snd_una - 1, no payload: Linux's probe).
void send_probe(Engine::Impl& e, Conn::Impl& c);
uint32_t seg_mss(const Conn::Impl& c);
inline uint32_t seq_of(const Conn::Impl& c, uint64_t v) {
  return c.iss + static_cast<uint32_t>(v);
}
/// vseq one past everything queued (data and the FIN).
inline uint64_t snd_limit(const Conn::Impl& c) { return c.snd_end + (c.wr_shut ? 1 : 0); }
inline uint32_t ts_now(const Engine::Impl& e, const Conn::Impl& c) {
  return static_cast<uint32_t>(e.now / 1000) + c.ts_offset;
}

// ---- retransmit.cpp: RFC 6298, persist, handshake timers --------------------------------
void rtt_sample(Engine::Impl& e, Conn::Impl& c, uint32_t rtt_us);
/// Arms the RTO when data is outstanding, else the persist timer when data
/// waits with nothing outstanding, else nothing.
void update_rtx_timer(Engine::Impl& e, Conn::Impl& c, bool restart);
void on_rtx_timer(Engine::Impl& e, Conn::Impl& c);

// ---- timers.cpp -----------------------------------------------------------------------
void arm_timer(Engine::Impl& e, Conn::Impl& c, uint64_t& field, uint64_t at);
/// Disarms every timer (the heap key stays: early keys are allowed).
void cancel_timers(Conn::Impl& c);
void run_timers(Engine::Impl& e, uint64_t now);

}  // namespace zcrx::tcp
