// SPDX-License-Identifier: MIT
// One queue's TCP endpoint: the zcrx::tcp::Engine of the datapath that
// serves the queue, its neighbour cache, ARP and ICMP echo, and the frames
// it sends (FrameTx on TX queue = the RX queue's index). Everything runs
// on the datapath thread; control reaches it through Datapath::run_call.
//
// Receive (the datapath hands it what claims() says is ours: ARP, ICMP
// and TCP to our addresses): checksums checked (the PMD's verdict where it
// gives one, software otherwise), the TCP header parsed, the payload left
// where it landed (a niov of the bound area: Piece = niov index, offset
// past the headers, length) or copied into free niovs (copy mode, foreign
// buffers), and the segment fed to the engine, which owns the niovs from
// then on. Host::deliver posts one CQE per piece on the socket's armed
// RECV_ZC, attributed to the RECV_ZC's entry as the UDP path does
// (Ifq::deliver): the consumer refills it like any other buffer.
// Host::release puts niovs back into the area's pool.
//
// Send: SEND copies the consumer's bytes from its TX region into the
// connection's send buffer (mbufs of the stack's own pool, 2 KiB each,
// stream byte o in mbuf o / 2048); Host::transmit copies the range it
// asks for into a frame; Host::send_acked frees whole mbufs.
//
// See docs/ARCHITECTURE.md "TCP in zcrxd".
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "arp.h"
#include "frame_tx.h"
#include "icmp.h"
#include "intrusive_list.h"
#include "neighbor.h"
#include "net_config.h"
#include "options.h"
#include "packet.h"
#include "rss_steer.h"
#include "stats.h"
#include "tcp_socket.h"
#include "tcp_wire.h"
#include "zcrx/tcp/engine.h"

struct rte_mbuf;
struct rte_mempool;

namespace zcrxd {

class AreaPool;

struct TcpStackConfig {
  uint16_t port = 0;
  uint16_t tx_queue = 0;
  int socket = 0;
  NetConfig net;  // addresses; mac and mtu set from the port
  TcpOptions tcp;
  uint64_t tx_offloads = 0;  // what the port's TX queues were configured with
  RxCsum rx_csum = RxCsum::kAuto;
  std::string name = "0_0";  // for pool names: unique per process
  DpStats* dp_stats = nullptr;  // the queue's: deliveries count there too
  /// The port's RSS (Device::rss(), outlives the stack): with `steers`,
  /// CONNECT without a bound port picks a source port whose segments land
  /// on this queue (rx queue = tx_queue). Null: no steering.
  const RssSteering* rss = nullptr;
};

/// Counters of one queue's TCP endpoint (the datapath writes them; control
/// reads them for the stats line).
struct TcpStats {
  Counter segs_in;           // segments fed to the engine
  Counter segs_out;          // segments built and queued or held
  Counter bytes_delivered;   // payload posted in CQEs
  Counter cqes;              // RECV_ZC data CQEs
  Counter copied_segs;       // segments whose payload was copied into niovs
  Counter arp_in;
  Counter icmp_in;
  Counter drop_bad_ip_csum;
  Counter drop_bad_tcp_csum;
  Counter drop_bad_header;   // lengths, data offset, not for our MAC
  Counter drop_no_buffers;   // the copy found no free niov
  Counter tx_no_route;       // no next hop / neighbour failed
  Counter tx_failed;         // no frame (pool empty, too big)
  Counter send_bytes;        // bytes SEND copied into send buffers
  Counter send_waits;        // SENDs that had to wait for room
  // Engine counters, copied when timers run (the engine is not shared).
  Counter conns_live;
  Counter listeners_live;
  Counter retransmits;
  Counter rst_in;
  Counter rst_out_no_conn;
  Counter challenge_acks;
  Counter bad_segments;
  Counter syn_dropped_backlog;
  Counter accept_overflows;
  Counter ooo_dropped;
  Counter rx_no_slot;
  Counter conns_ended;
};

/// Per-connection state of the host side: the send buffer and the socket.
struct TcpConnState {
  zcrx::tcp::Conn* conn = nullptr;
  TcpSocket* sock = nullptr;  // null once the handle was closed
  uint64_t written = 0;       // stream bytes appended to the send buffer
  uint64_t acked = 0;         // stream bytes acknowledged
  rte_mbuf** sb = nullptr;    // ring of send-buffer mbufs (sb_slots)
  // Lists (intrusive): free states, and connections whose window was
  // held back by the consumer (rx_capacity_changed when it catches up).
  TcpConnState* next = nullptr;
  TcpConnState* prev = nullptr;
  bool starved = false;
  bool in_use = false;
};

class TcpStack final : public zcrx::tcp::Host, public NeighborHost, public SocketSqeHandler {
 public:
  /// Creates the pools and the engine. nullptr and `*err` on failure (the
  /// reason printed).
  static std::unique_ptr<TcpStack> create(const TcpStackConfig& cfg, int* err);
  ~TcpStack() override;

  // ---- datapath: receive --------------------------------------------------
  /// True when `m` (parsed as `p`, not UDP) is the stack's: ARP, or IPv4
  /// TCP/ICMP to one of our addresses. One compare for anything else.
  bool claims(const rte_mbuf* m, const ParsedPacket& p) const;
  /// Takes `m` (claims() said so): answers, learns, or feeds the engine.
  void input(rte_mbuf* m, const ParsedPacket& p);
  /// The area the queue receives into now (per iteration; a change aborts
  /// every connection: their niovs belong to the old one). `real` is the
  /// queue's real ifq (copies are reported to it). `tsc` now.
  void begin_iteration(AreaPool* pool, zcrx::core::Ifq* real, bool copy, uint64_t tsc);
  /// Timers, window updates after refills (`refilled` niovs came back this
  /// iteration), queued work, TX flush. Cheap when idle.
  bool end_iteration(uint32_t refilled);

  // ---- SQEs (RingDp::poll_sq) ------------------------------------------------
  void socket_sqe(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe) override;
  int32_t cancel_requests(RingDp& ring, SocketTable& t, const CancelMatch& m,
                          int32_t found) override;

  // ---- control ops (run on the datapath: Datapath::run_call) ----------------
  int op_socket(RingDp& ring, SocketTable& t);
  int op_bind(SocketTable& t, uint32_t handle, uint32_t addr, uint16_t port);
  int op_listen(SocketTable& t, uint32_t handle, uint32_t backlog);
  int op_sockname(SocketTable& t, uint32_t handle, zcrx::proto::SockNameReply* out);
  /// CLOSE_SOCKET: close(2) of `handle` (IORING_OP_CLOSE without a CQE of
  /// its own). 0, or -EBADF when `t` has no such socket.
  int op_close(SocketTable& t, uint32_t handle);
  /// A ring goes away: its connections are closed as a process's exit
  /// closes its sockets (FIN, or RST with unread or later payload), its
  /// listeners closed, every socket freed (no CQE: the ring is dying).
  void drop_ring(SocketTable& t);
  /// Aborts everything (zcrxd stops): every niov and mbuf comes back.
  void abort_all();

  const TcpStats& stats() const { return st_; }
  const NetConfig& net() const { return cfg_.net; }

  // ---- zcrx::tcp::Host ---------------------------------------------------------
  uint32_t deliver(zcrx::tcp::Conn& c, const zcrx::tcp::Piece* pieces, uint32_t n) override;
  void release(const zcrx::tcp::Piece* pieces, uint32_t n) override;
  uint32_t rx_capacity(const zcrx::tcp::Conn& c) override;
  bool transmit(zcrx::tcp::Conn* c, const zcrx::tcp::TxSegment& s) override;
  void send_acked(zcrx::tcp::Conn& c, uint64_t stream_off) override;
  void accept_ready(zcrx::tcp::Listener& l) override;
  void connected(zcrx::tcp::Conn& c, int result) override;
  void peer_closed(zcrx::tcp::Conn& c) override;
  void ended(zcrx::tcp::Conn& c, int result) override;

  // ---- NeighborHost ------------------------------------------------------------
  void send_request(uint32_t ip, const Mac* unicast) override;
  void release(void* frame, uint32_t ip, const Mac* mac, int result) override;

 private:
  explicit TcpStack(const TcpStackConfig& cfg);
  int open(int* err);

  void input_tcp(rte_mbuf* m, const ParsedPacket& p);
  /// Copies [off, off + len) of `m`'s frame into free niovs as pieces.
  bool copy_payload(const rte_mbuf* m, uint32_t off, uint32_t len, zcrx::tcp::RxSegment& seg);

  // Work deferred out of Host callbacks (which must not call the engine).
  void kick(TcpSocket& s);
  void unkick(TcpSocket& s);
  void drain_kicks();
  /// `s` stopped for want of CQ or socket-table room: it is kicked again
  /// at the end of every iteration until its work goes through (the
  /// consumer's CQ head moved, a socket closed). No cost while none waits.
  void wait_room(TcpSocket& s);
  void unwait_room(TcpSocket& s);
  void retry_room_waiters();
  void service(TcpSocket& s);
  void service_accepts(TcpSocket& s);
  void service_sends(TcpSocket& s);
  void maybe_eof(TcpSocket& s);
  void starve(TcpConnState& cs);
  void unstarve(TcpConnState& cs);
  void refresh_starved();
  void publish_engine_stats();

  // SQEs.
  void sqe_accept(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe);
  void sqe_connect(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe);
  void sqe_send(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe);
  void sqe_shutdown(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe);
  void sqe_close(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe);
  void sqe_recv_zc(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe);
  /// Closes `s` as close(2) does (armed requests end with -ECANCELED, a
  /// listener stops, a connection closes in the background) and frees it.
  void close_socket(SocketTable& t, TcpSocket& s);

  /// Ends every request `s` has armed with `res` (sends too), posting
  /// what the CQ takes.
  void end_requests(TcpSocket& s, int32_t res);
  /// Posts one final CQE on `s`'s ring (count_overflow when full).
  void post_final(TcpSocket& s, uint64_t ud, int32_t res, uint64_t off = 0);
  TcpConnState* alloc_cs(zcrx::tcp::Conn* c, TcpSocket* s);
  void free_cs(TcpConnState& cs);
  /// Appends up to `len` bytes at `src` to `cs`'s send buffer (bounded by
  /// the engine's send space and the pool). Returns the bytes appended.
  uint32_t append_send(TcpConnState& cs, const uint8_t* src, uint32_t len);
  uint16_t pick_port(uint32_t addr);
  /// CONNECT on a socket without a port: the engine's tuple for `tu`
  /// (local port still 0), steered to this queue when the port has RSS.
  int connect_steered(const zcrx::tcp::FourTuple& tu, TcpConnState* cs, zcrx::tcp::Conn** out);
  bool port_in_use(uint32_t addr, uint16_t port) const;

  TcpStackConfig cfg_;
  TcpStats st_;
  TcpWireStats wire_st_;
  FrameTx tx_;
  std::unique_ptr<NeighborCache> neigh_;
  std::unique_ptr<Arp> arp_;
  std::unique_ptr<Icmp> icmp_;
  std::unique_ptr<zcrx::tcp::Engine> engine_;
  rte_mempool* sb_pool_ = nullptr;  // send-buffer mbufs
  uint32_t sb_slots_ = 0;           // mbufs per connection's send buffer
  std::unique_ptr<rte_mbuf*[]> sb_mem_;
  std::unique_ptr<TcpConnState[]> cs_mem_;
  TcpConnState* cs_free_ = nullptr;
  uint32_t cs_live_ = 0;
  IntrusiveList<TcpConnState, &TcpConnState::starved, &TcpConnState::prev, &TcpConnState::next>
      starved_;
  std::unique_ptr<TcpConnState*[]> scratch_;  // refresh_starved's copy of the list
  IntrusiveList<TcpSocket, &TcpSocket::kicked, &TcpSocket::kick_prev, &TcpSocket::kick_next> kicks_;
  IntrusiveList<TcpSocket, &TcpSocket::waits_room, &TcpSocket::room_prev, &TcpSocket::room_next>
      room_waiters_;
  bool sb_waiters_ = false;  // a SEND waits for send-buffer mbufs
  // Every table with a socket of this stack (for abort_all and the
  // ephemeral-port check): few, so a small fixed array.
  static constexpr uint32_t kMaxTables = 256;
  SocketTable* tables_[kMaxTables] = {};
  uint32_t n_tables_ = 0;
  uint16_t next_port_ = 0;

  AreaPool* pool_ = nullptr;
  zcrx::core::Ifq* real_ = nullptr;
  bool copy_ = false;
  uint64_t now_us_ = 0;
  uint64_t tsc_mult_ = 0;  // (10^6 << 32) / tsc_hz
  uint64_t next_stats_us_ = 0;
  uint32_t ticks_ = 0;
};

}  // namespace zcrxd
