// SPDX-License-Identifier: MIT
// zcrxd's TCP sockets as a consumer ring sees them (proto.h "TCP sockets"):
// the per-ring socket table and the rules the socket SQEs are checked
// against before anything else happens. DPDK-free so the rules are
// unit-testable; the TCP stack (tcp_stack.h) gives the sockets their
// connections and listeners.
//
// Threads: a ring's table is touched only by the datapath that serves the
// ring's queue. Control's socket ops (SOCKET, BIND, LISTEN, SOCKNAME,
// REGISTER_TX, a session's end) run there too, through Datapath::run_call,
// so nothing here is atomic.
#pragma once

#include <cstdint>

#include "ring_dp.h"
#include "zcrx/proto.h"
#include "zcrx/uapi.h"

namespace zcrx::tcp {
class Conn;
class Listener;
}  // namespace zcrx::tcp

namespace zcrxd {

struct TcpConnState;

/// Sockets one ring may have open (handles kSocketHandleBase + 0..N-1).
inline constexpr uint32_t kMaxSocketsPerRing = 1024;
/// SEND SQEs one socket keeps waiting for send-buffer room, in order;
/// one more is refused with -ENOBUFS.
inline constexpr uint32_t kMaxPendingSends = 16;

enum class SockState : uint8_t {
  free,        // no socket in this slot
  fresh,       // SOCKET (maybe BIND) done
  listening,   // LISTEN done: `listener`
  connecting,  // CONNECT sent the SYN: `conn`
  connected,   // established (accepted or connected): `conn`
  done,        // the connection ended: `error` says how
};

/// A SEND waiting for send-buffer room (or for the handshake).
struct PendingSend {
  uint64_t user_data = 0;
  uint64_t off = 0;   // in the TX region
  uint32_t len = 0;
  uint32_t done = 0;  // bytes copied so far
};

struct TcpSocket {
  SockState state = SockState::free;
  uint32_t index = 0;  // handle - kSocketHandleBase
  RingDp* ring = nullptr;
  uint32_t bound_addr = 0;  // host order; 0: any of ours
  uint16_t bound_port = 0;
  bool bound = false;
  zcrx::tcp::Listener* listener = nullptr;
  TcpConnState* cs = nullptr;  // its connection while it has one
  RecvRequest recv;            // the armed RECV_ZC
  // The armed ACCEPT (listening) and the CONNECT in progress.
  uint64_t accept_ud = 0;
  bool accept_armed = false;
  bool accept_multishot = false;
  uint64_t connect_ud = 0;
  bool connect_armed = false;
  bool peer_fin = false;    // the peer sent FIN (EOF once the data is taken)
  bool eof_posted = false;  // the RECV_ZC saw EOF
  bool shut_rd = false;
  bool shut_wr = false;
  int32_t error = 0;  // state done: 0 (clean end) or the -errno it ended with
  // FIFO of waiting SENDs.
  PendingSend sends[kMaxPendingSends];
  uint32_t send_head = 0;
  uint32_t send_n = 0;
  // The stack's work list (intrusive, no allocation).
  TcpSocket* kick_prev = nullptr;
  TcpSocket* kick_next = nullptr;
  bool kicked = false;
  // The stack's list of sockets whose work stopped for room (a full CQ, a
  // full socket table): retried each iteration while it is not empty.
  TcpSocket* room_prev = nullptr;
  TcpSocket* room_next = nullptr;
  bool waits_room = false;

  uint32_t handle() const { return zcrx::proto::kSocketHandleBase + index; }
};

/// A ring's sockets and its TX region.
struct SocketTable {
  TcpSocket socks[kMaxSocketsPerRing];
  uint32_t open = 0;  // slots not free
  // REGISTER_TX: zcrxd's read-only mapping, and where the consumer maps it.
  const uint8_t* tx = nullptr;
  uint64_t tx_base = 0;
  uint64_t tx_len = 0;

  SocketTable() {
    for (uint32_t i = 0; i < kMaxSocketsPerRing; i++) socks[i].index = i;
  }
  /// The socket named by SQE fd / request handle `h`, or nullptr.
  TcpSocket* get(int64_t h) {
    if (h < zcrx::proto::kSocketHandleBase) return nullptr;
    const uint64_t i = static_cast<uint64_t>(h) - zcrx::proto::kSocketHandleBase;
    if (i >= kMaxSocketsPerRing || socks[i].state == SockState::free) return nullptr;
    return &socks[i];
  }
  /// A free slot made `fresh` for `ring`, or nullptr (the table is full).
  TcpSocket* alloc(RingDp* ring);
  /// Returns `s` to the free slots (its connection/listener already gone).
  void release(TcpSocket& s);
};

/// What the datapath asks of the stack for a socket SQE (RingDp::poll_sq
/// hands ACCEPT, CONNECT, SEND, SHUTDOWN, CLOSE and RECV_ZC on a socket
/// handle here). The handler posts the SQE's completions itself (or keeps
/// the request armed); RingDp reserved kSocketSqeCqes CQEs for it.
class SocketSqeHandler {
 public:
  virtual ~SocketSqeHandler() = default;
  virtual void socket_sqe(RingDp& ring, SocketTable& t, const zcrx::uapi::io_uring_sqe& sqe) = 0;
  /// ASYNC_CANCEL: ends the armed socket requests of `t` that `m` names
  /// (the first only unless m.all), each with its final CQE: -ECANCELED
  /// without F_MORE, or for a SEND that copied part of its bytes that
  /// count (the kernel's io_sendrecv_fail). `found` requests were ended
  /// already: from then on each needs ring.reserve(2) (its CQE and the
  /// cancel's own). Returns how many it ended.
  virtual int32_t cancel_requests(RingDp& ring, SocketTable& t, const CancelMatch& m,
                                  int32_t found) = 0;
};
inline constexpr uint32_t kSocketSqeCqes = 2;

// ---- SQE field rules (the kernel's prep checks, then zcrxd's) ---------------

/// IORING_OP_ACCEPT: len, buf_index, file_index 0; ioprio only
/// IORING_ACCEPT_MULTISHOT / DONTWAIT / POLL_FIRST; accept_flags only
/// SOCK_NONBLOCK | SOCK_CLOEXEC. 0 or -EINVAL.
int check_accept_sqe(const zcrx::uapi::io_uring_sqe& sqe);
/// IORING_OP_CONNECT with the peer inline (proto.h): len, rw_flags,
/// buf_index, file_index, addr and off 0. Fills the peer (host order).
/// 0 or -EINVAL.
int check_connect_sqe(const zcrx::uapi::io_uring_sqe& sqe, uint32_t* ip, uint16_t* port);
/// IORING_OP_SEND: ioprio 0 (no zero-copy/bundle flags), addr2, addr3 and
/// file_index 0, msg_flags within MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE |
/// MSG_WAITALL. 0 or -EINVAL.
int check_send_sqe(const zcrx::uapi::io_uring_sqe& sqe);
/// IORING_OP_SHUTDOWN: off, addr, rw_flags, buf_index, file_index 0; len
/// SHUT_RD, SHUT_WR or SHUT_RDWR. 0 or -EINVAL.
int check_shutdown_sqe(const zcrx::uapi::io_uring_sqe& sqe);
/// IORING_OP_CLOSE: off, addr, len, rw_flags, buf_index 0; file_index 0
/// (no fixed files). 0 or -EINVAL.
int check_close_sqe(const zcrx::uapi::io_uring_sqe& sqe);
/// IORING_OP_RECV_ZC's own fields as for a flow (RingDp::prep_recv_zc):
/// addr, addr2, addr3, flags, msg_flags 0, ioprio multishot (+ poll
/// first). 0 or -EINVAL.
int check_recv_zc_sqe(const zcrx::uapi::io_uring_sqe& sqe);

/// A SEND's data inside the TX region: `addr`/`len` as the consumer gave
/// them, the region at `base` (consumer's address) of `region_len` bytes.
/// Sets `*off` (offset in the region). 0, or -EFAULT when there is no
/// region or the range is not wholly inside it (overflow-safe).
int tx_region_offset(uint64_t base, uint64_t region_len, uint64_t addr, uint32_t len,
                     uint64_t* off);

/// SOCKET's arguments: 0, -EAFNOSUPPORT, -ESOCKTNOSUPPORT, -EPROTONOSUPPORT
/// (proto.h). `tcp_on`: zcrxd serves a TCP address (--ip).
int check_socket_args(uint32_t domain, uint32_t type, uint32_t protocol, bool tcp_on);

/// The ACCEPT completion's zcqe.off: the peer (host order) as
/// zcrx::accept_peer() reads it.
inline uint64_t accept_peer_off(uint32_t ip, uint16_t port) {
  return (uint64_t{ip} << 32) | (uint64_t{port} << 16);
}

}  // namespace zcrxd
