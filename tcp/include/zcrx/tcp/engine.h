// SPDX-License-Identifier: MIT
// zcrx TCP engine: the public contract.
//
// A TCP endpoint (RFC 9293) driven explicitly, DPDK-free, in the style of
// smoltcp: the owner (zcrxd's datapath for one RX queue) feeds it parsed
// segments and a clock, and it answers through a Host: payload to deliver
// (zero-copy: the buffers the segments landed in), buffers it gives up,
// segments to transmit, and socket events. Nothing here allocates, locks or
// makes a syscall per segment: connections, listeners and out-of-order
// slots come from pools sized at construction; time is whatever the owner
// passes (microseconds, monotonic).
//
// Threads: one. Every call, and every Host callback it makes, runs on the
// thread that owns the engine (the queue's datapath lcore).
//
// Buffers. A received segment's payload lies in one or more buffers (niovs
// of the consumer's area on zcrxd; Piece). The engine owns a segment's
// pieces from input() on and hands each piece back exactly once: to
// Host::deliver (in order, to the consumer: the host then owns it), or to
// Host::release (duplicate, outside the window, trimmed away entirely,
// held out of order when the connection goes away). A piece partly
// duplicated is trimmed (off/len adjusted), never copied.
//
// Receive window. The engine advertises min(rcvbuf, what the host can
// still absorb: Host::rx_capacity) minus the in-order bytes deliver() did
// not take yet, and never moves the right edge of the window back (RFC
// 9293 3.8.6): a consumer that stops refilling closes the window, the peer
// stalls, and nothing acknowledged is lost; when capacity returns
// (rx_capacity_changed) a window update is sent. The edge moves forward
// only by min(RCV.BUFF / 2, MSS) at a time (receiver SWS avoidance, RCV.BUFF
// being the most rx_capacity ever offered, within rcvbuf).
//
// Send. The host keeps each connection's send buffer (zcrxd: the bytes a
// SEND copied out of the consumer's TX region, in mbufs); the engine keeps
// sequence numbers only. Host::transmit asks for the stream bytes
// [stream_off, stream_off + len) to be sent with a header; Host::send_acked
// says which bytes are acknowledged and may be freed.
//
// All results are 0/positive or a negative errno (Linux values).
//
// Lifetime of a connection, as the host sees it. A connection becomes
// visible either from connect() or, passively, when its handshake completes
// (Host::accept_ready; Engine::accept hands it out later). From then on
// Host::ended is called exactly once for it, whatever ends it (the peer,
// a timer, close(), abort(), close_listener()), and it is the last callback
// naming it. Connections still in SYN-RECEIVED of a listener were never
// visible and go away silently. A clean end with in-order payload the host
// has not taken yet leaves the wire at once but calls Host::ended only
// after the host took it (see Host::ended).
//
// Contract revisions made while implementing it (see each declaration):
//  - Config::isn_secret (u32) became Config::isn_key (128 bits, SipHash key);
//    new Config fields max_pending_segments, ephemeral_port_lo/hi,
//    challenge_ack_limit, invalid_ack_interval_us, congestion,
//    initial_cwnd_segments.
//  - Engine::next_deadline() (when poll() next has work).
//  - Conn::pending_bytes(), Conn::ooo_bytes(), Conn::end_reason().
//  - EngineStats: accept_overflows, challenge_acks_suppressed,
//    rx_no_slot, conns_ended, rst_in, invalid_acks_suppressed.
//  - send() is -EAGAIN during the handshake (as Linux's non-blocking send);
//    connect() is -EADDRNOTAVAIL when no ephemeral port is free.
//  - Host::deliver may be called for a connection not yet accepted;
//    a failed connect() calls Host::connected(-errno) then Host::ended;
//    Host::ended after a clean end waits for the pending payload to be taken.
//  - Host::rx_capacity's definition (what the engine subtracts itself).
//  - ~Engine releases every held piece through Host::release.
//  - zcrx/tcp/options.h: the options' wire format (parse and write).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace zcrx::tcp {

// ---- addresses and segments ---------------------------------------------

/// An IPv4 endpoint; addresses and ports in host byte order.
struct Endpoint {
  uint32_t addr = 0;
  uint16_t port = 0;
};

/// A connection's addresses: `local` is ours.
struct FourTuple {
  Endpoint local;
  Endpoint remote;
};

/// TCP header flags (the wire's bit values).
enum : uint8_t {
  kFin = 0x01,
  kSyn = 0x02,
  kRst = 0x04,
  kPsh = 0x08,
  kAck = 0x10,
  kUrg = 0x20,
  kEce = 0x40,
  kCwr = 0x80,
};

/// Options of a segment, parsed (input) or to write (output).
struct Options {
  uint16_t mss = 0;            // 0: absent
  int8_t wscale = -1;          // -1: absent; 0..14
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint32_t tsval = 0;
  uint32_t tsecr = 0;
  uint8_t n_sack = 0;          // SACK blocks present (at most 4 in, 3 out with timestamps)
  struct {
    uint32_t left, right;      // [left, right) in sequence space
  } sack[4];
};

/// Where part of a received payload lies: a buffer the host knows (zcrxd:
/// niov index of the queue's area) and the bytes in it.
struct Piece {
  uint32_t buf = 0;
  uint32_t off = 0;  // first payload byte in the buffer
  uint32_t len = 0;
};

/// At most this many pieces per segment (a jumbo frame over 4 KiB buffers).
inline constexpr uint32_t kMaxPieces = 4;

/// A received segment: header fields already checked by the owner (IP and
/// TCP checksums, lengths, data offset), options parsed.
struct RxSegment {
  FourTuple tuple;  // local = the destination of the segment
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;  // as on the wire (unscaled)
  uint8_t flags = 0;
  Options opts;
  uint32_t payload_len = 0;  // sum of the pieces' lengths
  uint8_t n_pieces = 0;
  Piece pieces[kMaxPieces];
};

/// A segment to transmit. The payload, when len > 0, is [seq, seq + len)
/// of the connection's send buffer (the host has it); a SYN or FIN takes a
/// sequence number of its own and carries no byte of the buffer for it.
struct TxSegment {
  FourTuple tuple;  // local = our side (the source)
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;  // scaled as it goes on the wire
  uint8_t flags = 0;
  Options opts;
  uint32_t len = 0;  // payload bytes from the send buffer
  /// Offset of the payload in the send buffer's stream: stream byte 0 is
  /// the first byte after the SYN (seq = iss + 1 + stream offset).
  uint64_t stream_off = 0;
  bool retransmit = false;
};

// ---- objects -------------------------------------------------------------

class Conn;
class Listener;

/// Connection states (RFC 9293 3.3.2).
enum class State : uint8_t {
  closed,
  listen,
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};
const char* state_name(State s);

/// Why a connection ended, as the errno a socket call would see.
enum class EndReason : uint8_t {
  none,
  closed,     // both sides closed (0 / EOF)
  reset,      // RST received: -ECONNRESET (-ECONNREFUSED in SYN-SENT)
  timeout,    // retransmissions exhausted: -ETIMEDOUT
  aborted,    // our abort(): RST sent
};

/// Per-connection counters (monotonic).
struct ConnStats {
  uint64_t segs_in = 0, segs_out = 0;
  uint64_t bytes_in = 0;          // payload delivered in order
  uint64_t bytes_out = 0;         // payload acknowledged by the peer
  uint64_t retransmits = 0;       // segments sent again (any cause)
  uint64_t fast_retransmits = 0;  // entries into fast recovery
  uint64_t rto_expiries = 0;
  uint64_t ooo_segments = 0;      // held out of order
  uint64_t dup_segments = 0;      // entirely duplicate, released
  uint64_t zero_window_probes = 0;
  uint64_t window_updates = 0;
  uint64_t challenge_acks = 0;    // RFC 5961
  uint64_t bad_segments = 0;      // unacceptable, dropped (with ACK where due)
};

// ---- the host ------------------------------------------------------------

/// What the engine asks of its owner. Every callback runs inside an engine
/// call on the owner's thread and must not call back into the engine.
class Host {
 public:
  virtual ~Host() = default;

  /// In-order payload of `c`, in stream order. The host takes the pieces it
  /// accepts (from the front) and returns how many: fewer than `n` when the
  /// consumer cannot take more now (no completion slot); the engine keeps
  /// the rest and offers them again after rx_capacity_changed().
  /// A passively opened connection may receive payload before the host
  /// accept()ed it (the peer may send with its third ACK): a host with
  /// nowhere to put it yet returns 0 and calls rx_capacity_changed() once
  /// the connection is armed. Pieces always have len > 0.
  virtual uint32_t deliver(Conn& c, const Piece* pieces, uint32_t n) = 0;
  /// Buffers the engine gives up (never delivered).
  virtual void release(const Piece* pieces, uint32_t n) = 0;
  /// What `c`'s consumer can still absorb, in bytes of payload (zcrxd: its
  /// share of the free buffers of the area times the bytes a buffer holds
  /// per segment, bounded by its free completion slots). Sets the window:
  /// min(Config::rcvbuf, rx_capacity) minus the in-order bytes the engine
  /// holds for `c` because deliver() did not take them
  /// (Conn::pending_bytes()). The engine subtracts those itself: the host
  /// counts the buffers they occupy as still available to `c`.
  /// Out-of-order bytes are not subtracted: they lie inside the window they
  /// were accepted into (Conn::ooo_bytes() tells the host what they hold).
  virtual uint32_t rx_capacity(const Conn& c) = 0;

  /// Sends `s` (its payload, if any, from `c`'s send buffer; `c` is null
  /// for a RST answering a segment of no connection). False when it could
  /// not be sent now (no TX buffer): the engine treats it as lost (the
  /// retransmission timer covers data; a lost ACK is resent on the next
  /// segment).
  virtual bool transmit(Conn* c, const TxSegment& s) = 0;
  /// The peer acknowledged `c`'s stream bytes below `stream_off`: the host
  /// may free them and complete sends that are wholly acknowledged.
  virtual void send_acked(Conn& c, uint64_t stream_off) = 0;

  /// A connection of `l` completed its handshake and waits in the accept
  /// queue (Engine::accept takes it).
  virtual void accept_ready(Listener& l) = 0;
  /// connect() finished: 0 (established) or -errno (-ECONNREFUSED,
  /// -ETIMEDOUT). On failure Host::ended(c, same errno) follows at once.
  virtual void connected(Conn& c, int result) = 0;
  /// The peer sent FIN: no more payload after what was delivered (EOF).
  virtual void peer_closed(Conn& c) = 0;
  /// `c` ended (reset, timeout, or closed and done): after this call the
  /// engine frees it; the host drops every reference to it. `result` is 0
  /// or the errno a pending call sees: -ECONNRESET (RST received),
  /// -ECONNREFUSED (RST answering our SYN), -ETIMEDOUT (retransmissions
  /// exhausted), -ECONNABORTED (abort(), close() with payload the host
  /// never took, payload arriving after close(), the listener closed
  /// before accept). An active close ends after TIME-WAIT, a passive one
  /// when the FIN is acknowledged (LAST-ACK), both with 0. A clean end
  /// while in-order payload still waits for deliver() to take it leaves
  /// the wire at once (state CLOSED, the tuple free again) and calls
  /// ended(0) only once the host took it all (after peer_closed), as
  /// Linux keeps a socket's receive queue readable after TIME-WAIT.
  virtual void ended(Conn& c, int result) = 0;
};

// ---- configuration ---------------------------------------------------------

/// Congestion control (Config::congestion).
enum class Congestion : uint8_t {
  newreno,  // RFC 5681 + RFC 6582
  cubic,    // RFC 9438 (with its Reno-friendly region)
};

struct Config {
  uint32_t max_conns = 4096;        // connections (any state), in total
  uint32_t max_listeners = 64;
  uint32_t max_ooo_segments = 8192; // out-of-order segments held, in total
  uint32_t ooo_per_conn = 256;      // ... by one connection
  /// In-order segments deliver() did not take, held in total. A segment
  /// that finds no slot is accepted only as far as the host took it (the
  /// rest is released and not acknowledged: the peer sends it again).
  uint32_t max_pending_segments = 16384;
  uint16_t mss = 1460;              // ours (MTU 1500); what we announce
  uint8_t wscale = 7;               // ours, announced when the peer offers one
  uint32_t rcvbuf = 4u << 20;       // receive window ceiling, bytes
  uint32_t sndbuf = 4u << 20;       // send buffer, bytes (the host's)
  bool sack = true;
  bool timestamps = true;
  uint32_t delayed_ack_us = 40000;  // Linux's ATO floor
  uint32_t quickack_segments = 16;  // ACK at once while the connection starts
  uint32_t rto_min_us = 200000;     // Linux's TCP_RTO_MIN
  uint32_t rto_initial_us = 1000000;  // RFC 6298 2.1
  uint32_t rto_max_us = 120000000;
  uint32_t syn_retries = 6;
  uint32_t synack_retries = 5;
  uint32_t data_retries = 15;       // as tcp_retries2
  uint32_t time_wait_us = 1000000;  // short by design (Linux: 60 s)
  uint32_t fin_wait_2_us = 60000000;
  bool nagle = false;               // TCP_NODELAY by default
  Congestion congestion = Congestion::newreno;
  uint32_t initial_cwnd_segments = 10;  // RFC 6928, as Linux
  /// RFC 5961 challenge ACKs sent per second, engine-wide (Linux's
  /// tcp_challenge_ack_limit); beyond it they are counted, not sent.
  uint32_t challenge_ack_limit = 1000;
  /// An ACK answering an unacceptable segment without payload goes at most
  /// this often per connection (Linux's tcp_invalid_ratelimit): no ACK
  /// loops between two ends that each find the other's ACKs out of window.
  uint32_t invalid_ack_interval_us = 500000;
  /// Ports connect() picks from when the owner passes port 0 (Linux's
  /// ip_local_port_range).
  uint16_t ephemeral_port_lo = 32768;
  uint16_t ephemeral_port_hi = 60999;
  /// RFC 6528 ISN key, also keying the lookup tables' hash and the
  /// per-connection timestamp offset. The owner fills it from a random
  /// source (the engine makes no syscall); all zero is accepted and is
  /// predictable (tests).
  uint64_t isn_key[2] = {0, 0};
};

// ---- the engine --------------------------------------------------------------

struct EngineStats {
  uint64_t conns_live = 0;
  uint64_t listeners_live = 0;
  uint64_t ooo_held = 0;            // pieces held out of order now
  uint64_t segs_in = 0;
  uint64_t rst_out_no_conn = 0;     // RSTs answering segments of no connection
  uint64_t syn_dropped_backlog = 0; // SYNs of a full accept queue
  uint64_t conns_refused_pool = 0;  // no free connection slot
  uint64_t ooo_dropped = 0;         // out-of-order segments beyond the bounds
  uint64_t bad_segments = 0;        // unacceptable, dropped
  uint64_t challenge_acks = 0;
  uint64_t challenge_acks_suppressed = 0;  // over Config::challenge_ack_limit
  uint64_t accept_overflows = 0;    // third ACKs dropped: accept queue full
  uint64_t rx_no_slot = 0;          // in-order segments cut: no pending slot
  uint64_t conns_ended = 0;         // Host::ended calls
  uint64_t rst_in = 0;              // RSTs that ended a connection
  uint64_t invalid_acks_suppressed = 0;  // over Config::invalid_ack_interval_us
};

class Engine {
 public:
  Engine(const Config& cfg, Host& host);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Passive open on `local` (addr 0: any local address) with an accept
  /// queue of `backlog` (1..1024; more is clamped). `user` is the owner's
  /// (zcrxd: the socket object). 0, -EADDRINUSE (a listener on that
  /// endpoint already), -ENOBUFS (no listener slot), -EINVAL.
  int listen(const Endpoint& local, uint32_t backlog, void* user, Listener** out);
  /// Stops listening: connections not yet accepted are reset and end.
  void close_listener(Listener* l);
  /// The oldest connection waiting in `l`'s accept queue, or null. The
  /// owner sets its user pointer (Conn::set_user).
  Conn* accept(Listener* l);

  /// Active open. `t.local.port` 0 picks an ephemeral port free for that
  /// remote (the owner may pick it instead: steering to this queue).
  /// 0 (SYN sent; Host::connected follows), -EADDRINUSE (tuple in use),
  /// -EADDRNOTAVAIL (no ephemeral port free), -ENOBUFS (no connection
  /// slot), -EINVAL (an address or remote port 0).
  int connect(const FourTuple& t, void* user, Conn** out, uint64_t now_us);

  /// The owner appended `len` bytes to `c`'s send buffer (after what it
  /// holds): they go out as the windows allow. 0; -EAGAIN during the
  /// handshake (nothing taken: send again after Host::connected); -EPIPE
  /// after shutdown(write) or when the connection can no longer send;
  /// -ENOBUFS when `len` exceeds send_space() (nothing taken).
  int send(Conn* c, uint32_t len, uint64_t now_us);
  /// Bytes `c`'s send buffer may still take (Config::sndbuf minus what is
  /// not yet acknowledged).
  uint32_t send_space(const Conn* c) const;
  /// shutdown(SHUT_WR): FIN after the queued bytes. 0 (also when already
  /// shut), -ENOTCONN before the connection is established.
  int shutdown_write(Conn* c, uint64_t now_us);
  /// close(): FIN as shutdown_write, and the host takes no more payload.
  /// As Linux: in-order payload the host never took turns it into an
  /// abort (RST), and so does payload arriving afterwards; in SYN-SENT the
  /// attempt is dropped. Host::ended follows later (or within the call).
  void close(Conn* c, uint64_t now_us);
  /// Abortive close: RST now (in a synchronized state), then
  /// Host::ended(c, -ECONNABORTED) within the call.
  void abort(Conn* c, uint64_t now_us);

  /// A segment for this engine's address(es). Owns its pieces from now on.
  void input(const RxSegment& s, uint64_t now_us);
  /// Timers: retransmission, delayed ACK, persist (zero-window probes),
  /// SYN/SYN-ACK retransmission, TIME-WAIT, FIN-WAIT-2. Call at least
  /// every millisecond; cheap when nothing is due (costs O(due timers),
  /// never O(connections)).
  void poll(uint64_t now_us);
  /// The earliest time poll() may have work (UINT64_MAX: no timer armed).
  /// May be early (a timer since cancelled), never late.
  uint64_t next_deadline() const;
  /// `c`'s Host::rx_capacity grew (the consumer refilled, or reaped
  /// completions): pending in-order pieces are offered again, and a window
  /// update is sent if the window opened enough (RFC 9293 3.8.6.2.2).
  void rx_capacity_changed(Conn* c, uint64_t now_us);

  EngineStats stats() const;

  /// ~Engine releases every piece it still holds through Host::release
  /// (no other callback): the host outlives the engine.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// A connection. Owned by the engine; valid until Host::ended returns.
class Conn {
 public:
  State state() const;
  const FourTuple& tuple() const;
  void* user() const;
  void set_user(void* u);
  const ConnStats& stats() const;
  /// Receive-side bookkeeping the owner may show: pieces and bytes waiting
  /// in order (not yet taken by the host) and out of order.
  uint32_t pending_pieces() const;
  uint32_t ooo_pieces() const;
  uint32_t pending_bytes() const;
  uint32_t ooo_bytes() const;
  /// Why it ended (EndReason::none while it lives; set before Host::ended).
  EndReason end_reason() const;
  /// Congestion and RTT state, for stats and tests.
  uint32_t cwnd() const;
  uint32_t ssthresh() const;
  uint32_t srtt_us() const;
  uint32_t rto_us() const;
  uint32_t snd_wnd() const;      // the peer's window, unscaled to bytes
  uint32_t rcv_wnd() const;      // ours, bytes, as last advertised

  struct Impl;
  explicit Conn(Impl* impl) : impl_(impl) {}

 private:
  friend class Engine;
  Impl* impl_;
};

class Listener {
 public:
  const Endpoint& local() const;
  void* user() const;
  uint32_t backlog() const;
  uint32_t queued() const;  // established, waiting for accept

  struct Impl;
  explicit Listener(Impl* impl) : impl_(impl) {}

 private:
  friend class Engine;
  Impl* impl_;
};

}  // namespace zcrx::tcp
