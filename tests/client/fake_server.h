// SPDX-License-Identifier: MIT
// An in-process stand-in for zcrxd's control plane, good enough to drive
// libzcrx through every control flow without DPDK: each session is a
// socketpair served by its own thread; ring regions, RQ regions and export
// fds are real memfds/sockets, clone and import are recognised by
// (st_dev, st_ino) like zcrxd does. The test thread plays the datapath
// through post()/drain_rq() on the server's own mappings.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "zcrx/proto.h"
#include "zcrx/ring_layout.h"

namespace fake {

struct Ifq;

struct Area {
  int fd = -1;  // the consumer's memfd (our copy)
  uint8_t* base = nullptr;
  uint64_t len = 0;
  uint64_t token = 0;
  // Datapath buffers of kBufSize bytes: free list and who holds each.
  std::vector<uint32_t> free;
  std::vector<const Ifq*> owner;
  // zcrx events of the registration that made this area (the real ifq).
  uint32_t event_mask = 0;
  uint32_t event_fired = 0;
  uint64_t event_user_data = 0;
  struct Session* master = nullptr;              // null: no events wanted
  zcrx::uapi::zcrx_stats* stats = nullptr;       // in the master's RQ region
  ~Area();
};

inline constexpr uint32_t kBufSize = 4096;
/// Where the datapath puts a payload inside its buffer (headroom).
inline constexpr uint32_t kPayloadOffset = 128;

// One zcrx instance of a session: its own RQ, a possibly shared area.
struct Ifq {
  uint32_t id = 0;
  std::shared_ptr<Area> area;
  int rq_fd = -1;
  void* rq_base = nullptr;
  zcrx::RqRegionLayout rq_layout{};
  zcrx::RqConsumer rq;
  ~Ifq();
};

struct Session {
  int sock = -1;  // server end
  std::thread thread;
  int ring_fd = -1;
  void* ring_base = nullptr;
  zcrx::RingRegionLayout layout{};
  dev_t ring_dev = 0;
  ino_t ring_ino = 0;
  std::vector<std::unique_ptr<Ifq>> ifqs;
  struct Flow {
    uint32_t handle;
    uint16_t port;
    const Area* group;  // the real ifq's area names the flow group
  };
  std::vector<Flow> flows;
  // Armed RECV_ZC requests.
  struct Request {
    uint64_t user_data;
    Ifq* ifq;
    uint32_t len_left;  // 0 = unlimited
    bool limited;
  };
  std::vector<Request> requests;
  int efd = -1;
  uint32_t next_id = 0;
  // TCP sockets (fake_sockets.cpp): handles handed out, and the TX region
  // as the consumer registered it, mapped read-only here.
  struct Socket {
    uint32_t handle;
    uint32_t addr = 0;  // network byte order, as BIND sent it
    uint16_t port = 0;
    bool bound = false;
    bool listening = false;
  };
  std::vector<Socket> sockets;
  uint64_t tx_base = 0;  // the consumer's address of the region
  uint64_t tx_len = 0;
  const uint8_t* tx_map = nullptr;
  bool dead = false;  // session closed: its buffers were reclaimed
  ~Session();
};

/// A socket op as the fake server received it (the body after MsgHeader).
struct SocketOp {
  uint16_t op = 0;
  unsigned char body[32] = {};
  size_t len = 0;
  int result = 0;  // what the fake answered
};

/// What the fake datapath has done so far.
struct DatapathStats {
  uint64_t delivered = 0;     // data CQEs posted
  uint64_t refilled = 0;      // buffers returned through an RQ
  uint64_t bad_refills = 0;   // RQEs naming no buffer this ifq holds
  uint64_t reclaimed = 0;     // buffers taken back from closed sessions
  uint64_t cq_full = 0;       // deliveries skipped for a full CQ
  uint64_t outstanding = 0;   // buffers not on a free list right now
};

class Server {
 public:
  Server() = default;
  ~Server();

  /// A new session; returns the client end of its socketpair (the caller
  /// owns it, e.g. hands it to zcrx::Ring::attach).
  int open_session();
  Session& session(size_t i) { return *sessions_.at(i); }

  /// Replaces the normal handling of the next request: the hook gets the
  /// session socket and the request header and sends whatever it likes.
  void set_hook(std::function<void(int sock, const zcrx::proto::MsgHeader&)> h);

  /// Datapath stand-in: writes `payload` of `len` bytes at byte `offset` of
  /// ifq `id`'s area of session `s` and posts a CQE32 for it (res = len,
  /// `flags`). False when the CQ is full.
  bool post(size_t s, uint32_t id, uint64_t offset, const uint8_t* payload, uint32_t len,
            uint64_t user_data,
            uint32_t flags = zcrx::uapi::kCqeFMore | zcrx::proto::kCqeFDatagramEnd);
  /// Posts a raw CQE32.
  bool post_raw(size_t s, const zcrx::uapi::io_uring_cqe32& c);
  /// Datapath stand-in for an event on ifq `id` of session `s`: when the
  /// registration allowed `type`, its master session is alive and the
  /// type is armed, posts the event CQE on the master's CQ and disarms
  /// the type. Returns whether it posted.
  bool raise_event(size_t s, uint32_t id, uint32_t type);
  /// A copy fallback of `bytes` on ifq `id`: the shared stats block (if
  /// any) counts it, then ZCRX_EVENT_COPY is raised.
  bool report_copy(size_t s, uint32_t id, uint32_t bytes);
  /// Pops every RQE of ifq `id` of session `s` into `out`.
  size_t drain_rq(size_t s, uint32_t id, std::vector<zcrx::uapi::io_uring_zcrx_rqe>& out);
  /// Pops every SQE of session `s`.
  size_t drain_sq(size_t s, std::vector<zcrx::uapi::io_uring_sqe>& out);
  /// Writes the eventfd when the consumer asked for a wakeup (the zcrxd
  /// side of the kCqNeedWakeup protocol, kCqWakeTarget included).
  /// Returns whether it wrote.
  bool maybe_wake(size_t s);

  /// Listens on the unix socket `path` and serves every connection as a
  /// session (like zcrxd). 0 or -errno.
  int listen_on(const char* path);

  /// One datapath pass over every session: consumes SQEs (RECV_ZC arms,
  /// NOP completes, ASYNC_CANCEL cancels), drains every RQ back to the free
  /// lists, then delivers up to `budget` pattern payloads round-robin over
  /// the armed requests (sequence numbers from *seq), waking eventfd
  /// waiters. `corrupt_seq`: the payload with that sequence number gets one
  /// byte flipped. Returns the number delivered.
  unsigned pump(unsigned budget, uint64_t* seq, uint64_t corrupt_seq = UINT64_MAX);
  /// How pump() shapes datagrams (set before pumping starts): each is
  /// delivered as `split_parts` CQEs in as many buffers, the last with
  /// proto::kCqeFDatagramEnd, as zcrxd delivers one larger than a buffer;
  /// `fixed_len` bytes each (0: 64 + seq % 1400). pump() counts datagrams,
  /// DatapathStats::delivered counts CQEs.
  uint32_t split_parts = 1;
  uint32_t fixed_len = 0;
  DatapathStats datapath_stats();
  /// Armed RECV_ZC requests over all sessions.
  size_t armed();

  /// TCP sockets: false makes every socket op -EAFNOSUPPORT, as a zcrxd
  /// without --ip answers (set before the session sends any).
  std::atomic<bool> tcp{true};
  /// Every socket op received so far, in order.
  std::vector<SocketOp> socket_ops() {
    std::lock_guard lk(mu_);
    return socket_ops_;
  }
  /// Bytes [addr, addr + len) of session `s`'s TX region, addr being the
  /// consumer's pointer (what a SEND SQE carries), read through the fake's
  /// own mapping; empty when outside the region.
  std::vector<uint8_t> tx_bytes(size_t s, uint64_t addr, uint32_t len);

  /// Requests served, per op (index = op).
  std::atomic<unsigned> served[16] = {};
  std::atomic<unsigned> flushes{0};
  std::atomic<unsigned> arms{0};  // successful ZCRX_CTRL_ARM_EVENT
  /// The body of the last REGISTER_IFQ request that passed validation.
  zcrx::proto::RegisterIfqReq last_register() {
    std::lock_guard lk(mu_);
    return last_register_;
  }
  /// The body of the last OPEN_FLOW request that passed validation.
  zcrx::proto::OpenFlowReq last_open_flow() {
    std::lock_guard lk(mu_);
    return last_open_flow_;
  }
  std::atomic<unsigned> exports_made{0};

 private:
  void serve(Session* s);
  void add_session(int sock);
  void end_session(Session* s);
  void pump_session(Session& s, unsigned& budget, uint64_t* seq, uint64_t corrupt_seq,
                    unsigned& delivered);
  int handle(Session* s, const zcrx::proto::MsgHeader& h, const unsigned char* body,
             zcrx::proto::RecvdMsg& m);
  // SOCKET, BIND, LISTEN, SOCKNAME and REGISTER_TX (fake_sockets.cpp).
  int handle_socket_op(Session* s, const zcrx::proto::MsgHeader& h, const unsigned char* body,
                       zcrx::proto::RecvdMsg& m);
  std::vector<SocketOp> socket_ops_;

  struct Export {
    int our_end = -1;  // kept; the other end went to the consumer
    dev_t dev = 0;     // identity of the exported end
    ino_t ino = 0;
    std::shared_ptr<Area> area;
  };

  std::mutex mu_;  // guards everything below and every Session's state
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Export> exports_;
  std::function<void(int, const zcrx::proto::MsgHeader&)> hook_;
  uint32_t next_area_ = 0;
  uint32_t next_flow_ = 0;
  std::vector<std::shared_ptr<Area>> areas_;  // every area ever registered
  DatapathStats dp_;
  zcrx::proto::RegisterIfqReq last_register_{};
  zcrx::proto::OpenFlowReq last_open_flow_{};
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  // Reply being built by handle().
  unsigned char scratch_[zcrx::proto::kMaxMsgSize];
  size_t scratch_len_ = 0;
  int scratch_fds_[zcrx::proto::kMaxFds] = {-1, -1};
  bool scratch_close_[zcrx::proto::kMaxFds] = {false, false};
  unsigned scratch_nfds_ = 0;
};

}  // namespace fake
