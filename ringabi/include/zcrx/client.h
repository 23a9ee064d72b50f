// SPDX-License-Identifier: MIT
// libzcrx: the consumer side of zcrxd, shaped like liburing.
//
//   zcrx::Ring ring;
//   ring.connect(nullptr);                   // default socket path
//   ring.create(64, 4096);                   // SQ/CQ region, mapped
//   zcrx::IfqParams p; p.area_len = 64 << 20;
//   zcrx::Ifq* ifq; ring.register_ifq(p, &ifq);
//   int flow = ring.open_flow(ifq->id(), zcrx::FlowSpec::udp(9000));
//   zcrx::prep_recv_zc(ring.get_sqe(), flow, ifq->id(), 0, 1);
//   ring.submit();
//   for (;;) {
//     ring.wait_cqe(1, zcrx::WaitMode::busy_poll, -1);
//     ring.for_each_cqe([&](const zcrx::uapi::io_uring_cqe32& c) {
//       if (int t = ifq->event_type(c); t >= 0) {  // p.event_mask != 0
//         ...; ring.arm_event(ifq->id(), t);     // next one, please
//         return;
//       }
//       const uint8_t* p = ifq->data(c);     // null unless in bounds
//       ...;                                 // more of the datagram
//       if (zcrx::is_datagram_end(c)) ...;   // ... and now all of it
//       ifq->refill(c);
//     });
//     ifq->flush_refills();
//   }
//
// Threading: a Ring and its Ifqs belong to one thread at a time (the rings
// are single-producer / single-consumer). Datapath calls (get_sqe, submit,
// cq_ready, for_each_cqe, data, refill, flush_refills) make no syscall and
// no allocation; control calls talk to zcrxd and block until it answers
// (at most the control timeout, see set_control_timeout).
//
// Everything read from the shared regions or the socket is untrusted: CQE
// offsets are bounds-checked against the area, ring indices by the ring
// views (a bad one makes the view corrupt; it then moves nothing), every
// reply by proto::validate_reply.
//
// Errors are negative errno values: the kernel's, as zcrxd returns them, or
// -EPROTO when zcrxd's reply (or a region it handed out) is malformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "zcrx/proto.h"
#include "zcrx/ring_layout.h"
#include "zcrx/uapi.h"

namespace zcrx {

/// What a registration needs (REGISTER_IFQ without flags).
struct IfqParams {
  uint32_t port = 0;        // DPDK port id
  uint32_t queue = 0;       // RX queue of that port
  uint32_t rq_entries = 4096;
  uint32_t rx_buf_len = 0;  // 0 = zcrxd's default (4096)
  /// ZCRX_REG_NODEV: an ifq bound to no device queue (port and queue are
  /// not sent). zcrxd registers its area and refill queue; no queue
  /// delivers to it (OPEN_FLOW -EINVAL), rx_buf_len must be 4096.
  bool nodev = false;
  /// Area bytes; rounded up to 4096 (or to 2 MiB with hugetlb).
  size_t area_len = 64u << 20;
  /// Back the area with huge pages (MFD_HUGETLB); needs reserved hugepages.
  bool hugetlb = false;
  /// zcrx events (Linux 7.2): the types wanted, 1 << uapi::zcrx_event_type
  /// each (uapi::kZcrxEventTypeMask for all). Non-zero makes this ring the
  /// ifq's master ctx: each event arrives once as a CQE on this ring with
  /// user_data = event_user_data and res = the type, and fires again only
  /// after arm_event(). 0: no descriptor is sent.
  uint32_t event_mask = 0;
  /// user_data of event CQEs: pick one no RECV_ZC SQE of this ring uses,
  /// so Ifq::event_type() can tell them apart.
  uint64_t event_user_data = ~uint64_t{0} - 1;
  /// Also ask for the shared copy-fallback counters (uapi::zcrx_stats) in
  /// the refill-queue region (Ifq::copy_stats), at stats_offset_for()
  /// of rq_entries. Works with event_mask 0 too (counters, no CQEs).
  bool event_stats = false;
  /// An area memfd of your own (>= area_len bytes) instead of a fresh one;
  /// -1 creates one. It must be sealable (MFD_ALLOW_SEALING): zcrxd seals
  /// it against shrinking and, once it has mapped it, against new writable
  /// mappings and writes (F_SEAL_FUTURE_WRITE), and refuses (-EINVAL) one
  /// it cannot seal, -EFAULT one it cannot write (write-sealed). The area
  /// is then mapped read-only here. The Ring dups it.
  /// kAreaMadeByZcrxd: zcrxd creates the area itself, with its mbuf
  /// headers inside (what net_af_xdp needs to receive into it without a
  /// copy), and sends it back sealed so that nobody but zcrxd can write
  /// it; it is mapped read-only here. Not with hugetlb (-EINVAL).
  int area_fd = -1;
};

/// IfqParams::area_fd: zcrxd makes the area (proto::kAreaFlagZcrxdMade).
inline constexpr int kAreaMadeByZcrxd = -2;

/// The flow to receive (OPEN_FLOW).
struct FlowSpec {
  uint8_t kind = proto::kFlowRaw;
  uint8_t ip_version = 0;
  uint8_t src_addr[16] = {};
  uint8_t dst_addr[16] = {};
  uint16_t src_port = 0;
  uint16_t dst_port = 0;

  /// Every UDP datagram to `port`.
  static FlowSpec udp(uint16_t port) {
    FlowSpec f;
    f.kind = proto::kFlowUdpPort;
    f.dst_port = port;
    return f;
  }
  /// Every packet of the queue no other flow claims.
  static FlowSpec raw() { return FlowSpec{}; }
};

/// True when `cqe` is a zcrx event CQE posted for a registration whose
/// event user_data is `event_user_data` (what Ifq::event_type checks,
/// without an Ifq at hand): user_data matches, flags are 0 and res is a
/// known uapi::zcrx_event_type.
inline bool is_event_cqe(const uapi::io_uring_cqe32& cqe, uint64_t event_user_data) {
  return cqe.cqe.user_data == event_user_data && cqe.cqe.flags == 0 && cqe.cqe.res >= 0 &&
         cqe.cqe.res < static_cast<int32_t>(uapi::__ZCRX_EVENT_TYPE_LAST);
}

/// True when `cqe`, a RECV_ZC completion, carries the last bytes of a
/// datagram (UDP flow) or frame (raw flow): one larger than rx_buf_len, or
/// reassembled from fragments, arrives as several CQEs in order and only
/// the last has proto::kCqeFDatagramEnd. A one-CQE datagram has it too.
inline bool is_datagram_end(const uapi::io_uring_cqe32& cqe) {
  return (cqe.cqe.flags & proto::kCqeFDatagramEnd) != 0;
}

/// One zcrx instance of a ring (registered, cloned or imported): its area
/// mapping and its own refill queue.
class Ifq {
 public:
  Ifq(const Ifq&) = delete;
  Ifq& operator=(const Ifq&) = delete;
  ~Ifq();

  /// zcrx id within the ring (the SQE's zcrx_ifq_idx).
  uint32_t id() const { return id_; }
  /// Token zcrxd puts in the high bits of every CQE/RQE `off` of this ifq.
  uint64_t area_token() const { return area_token_; }
  const uint8_t* area() const { return area_; }
  size_t area_len() const { return area_len_; }
  uint32_t rx_buf_len() const { return rx_buf_len_; }
  uint32_t rq_entries() const { return rq_entries_; }
  /// True for clone/import: the area belongs to another ring's ifq and is
  /// mapped read-only here.
  bool shared_area() const { return shared_; }

  /// Payload of a RECV_ZC completion carrying data (res > 0): nullptr
  /// unless off's token is this ifq's and [offset, offset + res) lies inside
  /// the area and inside one rx buffer. Inline: it runs once per packet.
  const uint8_t* data(const uapi::io_uring_cqe32& cqe) const {
    const int32_t res = cqe.cqe.res;
    const uint64_t off = cqe.zcqe.off;
    if (res <= 0 || (off & uapi::kZcrxAreaMask) != area_token_) return nullptr;
    const uint64_t o = uapi::area_offset_of(off);
    const uint64_t len = static_cast<uint64_t>(res);
    if (o >= area_len_ || len > area_len_ - o) return nullptr;
    // rx_buf_len is a power of two: one buffer iff the bits above it agree
    // (a CQE never spans two: each segment of a packet gets its own).
    if (((o ^ (o + len - 1)) & ~uint64_t{rx_buf_len_ - 1}) != 0) return nullptr;
    return area_ + o;
  }

  /// Starts loading the first and last payload line of `cqe` into the
  /// cache. Only a hint: nothing is read, and an offset outside the area
  /// is ignored (a prefetch cannot fault, but it is not issued either).
  void prefetch(const uapi::io_uring_cqe32& cqe) const {
    const uint64_t o = uapi::area_offset_of(cqe.zcqe.off);
    const uint64_t last = o + static_cast<uint32_t>(cqe.cqe.res) - 1;
    if (o < area_len_) __builtin_prefetch(area_ + o);
    if (last > o && last < area_len_) __builtin_prefetch(area_ + last);
  }

  /// Queues the buffer of `cqe` (res > 0, token checked as data() does) for
  /// refill; published by flush_refills(). False when the cqe does not name
  /// a buffer of this ifq, or the refill queue is full or corrupt (flush,
  /// let zcrxd drain it, retry).
  bool refill(const uapi::io_uring_cqe32& cqe) {
    if (!data(cqe)) return false;
    return refill(cqe.zcqe.off, static_cast<uint32_t>(cqe.cqe.res));
  }
  /// Queues one RQE as is (off = token | offset, len advisory). Inline, and
  /// zcrxd's head is read only when the slots known free run out.
  bool refill(uint64_t off, uint32_t len) {
    if (!rq_base_ || rq_.reserve(1) == 0) return false;
    rq_.slot(rq_queued_++) = uapi::io_uring_zcrx_rqe{off, len, 0};
    return true;
  }
  /// Publishes every queued RQE to zcrxd (one release store).
  void flush_refills();
  /// RQEs queued and not yet published.
  uint32_t refills_queued() const { return rq_queued_; }
  /// Free RQ slots (refreshes zcrxd's head when needed).
  uint32_t rq_free() { return rq_.free_slots(rq_entries_); }
  RingState rq_state() const { return rq_.state(); }
  /// The refill queue's region as zcrxd handed it out (its memfd, owned by
  /// the Ifq; its size; where head, tail and the RQEs sit): for a consumer
  /// that maps it where it wants (the liburing compatibility layer).
  int rq_fd() const { return rq_fd_; }
  /// Where libzcrx maps that region (rq_offsets() apply), nullptr before.
  void* rq_region() const { return rq_base_; }
  size_t rq_region_size() const { return rq_size_; }
  const uapi::io_uring_zcrx_offsets& rq_offsets() const { return rq_off_; }

  // ---- events --------------------------------------------------------------

  /// The event types this ifq was registered for (0: none, or a
  /// clone/import: events go to the registering ring only).
  uint32_t event_mask() const { return event_mask_; }
  uint64_t event_user_data() const { return event_user_data_; }
  /// Tells an event CQE of this ifq apart from a RECV_ZC completion: the
  /// uapi::zcrx_event_type it reports (>= 0) when `cqe` carries this
  /// ifq's event user_data, a type it registered for and no flags; -1
  /// otherwise (a RECV_ZC CQE: handle it as data). Inline, per CQE. After
  /// handling an event, call Ring::arm_event() to get the next one.
  int event_type(const uapi::io_uring_cqe32& cqe) const {
    if (event_mask_ == 0 || !is_event_cqe(cqe, event_user_data_)) return -1;
    const int32_t t = cqe.cqe.res;
    return (event_mask_ >> t) & 1u ? t : -1;
  }
  /// The copy-fallback counters zcrxd keeps in this ifq's RQ region
  /// (registered with IfqParams::event_stats); false when there are none.
  bool copy_stats(uapi::zcrx_stats* out) const;

 private:
  friend class Ring;
  Ifq() = default;

  uint32_t id_ = 0;
  uint64_t area_token_ = 0;
  uint8_t* area_ = nullptr;  // read-only mapping (zcrxd seals the memfd against writes)
  size_t area_len_ = 0;
  int area_fd_ = -1;
  uint32_t rx_buf_len_ = 0;
  bool shared_ = false;
  void* rq_base_ = nullptr;
  size_t rq_size_ = 0;
  int rq_fd_ = -1;
  uint32_t rq_entries_ = 0;
  uint32_t rq_queued_ = 0;
  uapi::io_uring_zcrx_offsets rq_off_{};
  RqProducer rq_;
  uint32_t event_mask_ = 0;
  uint64_t event_user_data_ = 0;
  uapi::zcrx_stats* stats_ = nullptr;  // inside the RQ mapping, or null
};

/// How wait_cqe waits.
enum class WaitMode : uint8_t {
  busy_poll,  // spin on the CQ tail
  eventfd,    // sleep on the registered eventfd (kCqNeedWakeup protocol)
  /// Spin like busy_poll for up to Ring::set_spin_ns() (default 50 us),
  /// then sleep like eventfd: busy-poll delivery while traffic flows, and
  /// no CPU burnt on an idle queue (on a shared core the woken consumer is
  /// also scheduled sooner than a spinner that used up its share).
  adaptive,
};

/// A consumer ring: one session with zcrxd, its SQ/CQ region and its ifqs.
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  /// Unmaps everything and closes the session (zcrxd terminates the ring).
  ~Ring();

  // ---- session ------------------------------------------------------------

  /// Connects to zcrxd at `path` (nullptr: proto::default_socket_path()).
  /// 0, -ENAMETOOLONG, -EISCONN (already connected) or connect()'s -errno.
  int connect(const char* path);
  /// Takes over an already connected SOCK_SEQPACKET socket (tests, socket
  /// activation). 0 or -EISCONN.
  int attach(int sock);
  int socket_fd() const { return sock_; }
  /// How long a control call waits for zcrxd's reply (default 30 s; < 0:
  /// forever). A call that times out returns -ETIMEDOUT, and every later
  /// control call too (a late reply would be taken for the next one's);
  /// the datapath keeps working.
  void set_control_timeout(int ms) { control_timeout_ms_ = ms; }
  /// False once zcrxd closed the session (it exited, or terminated the
  /// ring). One poll(2) with zero timeout: for slow paths, not per packet.
  bool session_alive() const;

  /// CREATE_RING + mapping. Entries as proto::CreateRingReq says (cq 0 =
  /// 2 * sq). 0 or -errno (-EPROTO for a region that fails
  /// validate_ring_region, -ENOTCONN before connect).
  int create(uint32_t sq_entries, uint32_t cq_entries = 0);
  /// The ring region memfd: hand it to another process for clone.
  int ring_fd() const { return ring_fd_; }
  const RingRegionLayout& layout() const { return layout_; }
  /// Where the ring region is mapped here (nullptr before create()).
  void* ring_base() const { return ring_base_; }

  // ---- zcrx instances -------------------------------------------------------

  /// REGISTER_IFQ with a new area (or p.area_fd). On success `*out` (owned
  /// by the ring) is the new ifq and the zcrx id is returned (>= 0).
  int register_ifq(const IfqParams& p, Ifq** out);
  /// ZCRX_CTRL_EXPORT: returns a new fd (the caller owns it) or -errno.
  int export_ifq(uint32_t zcrx_id);
  /// ZCRX_REG_IMPORT from an export fd (not consumed: close it yourself).
  /// Returns the zcrx id or -errno; `*out` as register_ifq.
  int import_ifq(int export_fd, Ifq** out);
  /// IORING_ZCRX_IFQ_REG_CLONE of zcrx `src_zcrx_id` of the ring whose
  /// region memfd is `src_ring_fd` (not consumed). `rq_entries` sizes this
  /// instance's own refill queue. Returns the zcrx id or -errno.
  int clone_ifq(int src_ring_fd, uint32_t src_zcrx_id, uint32_t rq_entries, Ifq** out);
  /// The ifq with zcrx id `id`, or nullptr.
  Ifq* ifq(uint32_t id) const;
  /// ZCRX_CTRL_FLUSH_RQ. 0 or -errno.
  int flush_rq(uint32_t zcrx_id);
  /// ZCRX_CTRL_ARM_EVENT: the event `type` (uapi::zcrx_event_type) of
  /// zcrx `zcrx_id` may fire again. 0, or -EINVAL (unknown type, or it has
  /// not fired since it was last armed), -ENXIO (no such id), -errno.
  /// Any ring holding the ifq may re-arm it; the CQE still goes to the
  /// ring that registered it with events.
  int arm_event(uint32_t zcrx_id, uint32_t type);

  // ---- flows and wakeups --------------------------------------------------------

  /// OPEN_FLOW: the flow handle (>= 0) for the RECV_ZC SQE, or -errno
  /// (-EEXIST: another ifq's flow group owns it).
  int open_flow(uint32_t zcrx_id, const FlowSpec& f);
  /// CLOSE_FLOW. 0 or -errno (-ENOENT: no such handle).
  int close_flow(uint32_t handle);
  /// Creates an eventfd and registers it (REGISTER_EVENTFD) so
  /// wait_cqe(WaitMode::eventfd) can sleep. 0 or -errno. wait_cqe never
  /// reads the eventfd (it waits for zcrxd's writes edge-triggered): a
  /// caller that polls event_fd() level-triggered in its own loop reads
  /// it to clear it, as with any eventfd.
  int enable_eventfd();
  /// UNREGISTER_EVENTFD and close it. 0 or -errno.
  int disable_eventfd();
  int event_fd() const { return efd_; }
  /// How long WaitMode::adaptive spins before it sleeps (ns, >= 0).
  void set_spin_ns(int64_t ns) { spin_ns_ = ns < 0 ? 0 : ns; }

  // ---- TCP sockets (zcrx/socket.h has the SQE helpers) ------------------------

  /// SOCKET(AF_INET, SOCK_STREAM): a socket handle (>= proto::
  /// kSocketHandleBase) for the SQEs, or -errno (-EAFNOSUPPORT: zcrxd
  /// serves no TCP address).
  int socket();
  /// BIND to `ip` (host byte order; 0: any of zcrxd's) and `port` (0:
  /// ephemeral). 0 or -errno.
  int bind(int sock, uint32_t ip, uint16_t port);
  /// LISTEN with an accept queue of `backlog`. 0 or -errno.
  int listen(int sock, uint32_t backlog);
  /// The socket's addresses (host byte order) and TCP state.
  struct SockName {
    uint32_t local_ip = 0, remote_ip = 0;
    uint16_t local_port = 0, remote_port = 0;
    uint8_t state = 0;
  };
  int sockname(int sock, SockName* out);
  /// CLOSE_SOCKET: close(2) of `sock`, no CQE (proto.h): its armed
  /// requests end with -ECANCELED, a listener stops (connections not yet
  /// accepted are reset), a connection closes in the background (FIN, RST
  /// with unread payload). 0, -EBADF (not a socket of this ring), -errno.
  int close_socket(int sock);
  /// Creates and registers the ring's TX region (REGISTER_TX): `len` bytes
  /// (rounded up to 4096) mapped read-write here. SEND SQEs name data in
  /// it by pointer. 0 or -errno.
  int register_tx_region(size_t len);
  uint8_t* tx_region() const { return tx_base_; }
  size_t tx_region_len() const { return tx_len_; }

  // ---- SQ -------------------------------------------------------------------------

  /// A zeroed SQE to fill, or nullptr when the SQ is full (or corrupt).
  /// Invisible to zcrxd until submit().
  uapi::io_uring_sqe* get_sqe();
  /// Publishes the SQEs taken since the last submit (no syscall: zcrxd
  /// polls the SQ). Returns how many.
  unsigned submit();

  // ---- CQ -------------------------------------------------------------------------

  /// Completions ready to read (0 once the CQ view is corrupt).
  unsigned cq_ready() { return cq_.available(cq_.size()); }
  /// Waits until at least `min` (1..CQ size) completions are ready or
  /// `timeout_ns` passes (< 0: forever). Returns the number ready, -ETIME
  /// on timeout, -EPROTO when the CQ is corrupt, -EINVAL for a bad `min`
  /// (or eventfd/adaptive mode without enable_eventfd()), -errno of
  /// epoll_pwait2. Each sleep is one system call (epoll_pwait2 on the
  /// eventfd, edge-triggered, nothing read or drained after it) and at
  /// most one clock read (none without a timeout); busy_poll reads the
  /// clock every 256 spins only to see the timeout.
  ///
  /// `min` is io_uring_wait_cqes' wait_nr: a sleeping wait asks zcrxd to
  /// write the eventfd only once `min` completions are ready (or the CQ is
  /// full, or events wait for room: proto.h kCqWakeTarget), so N sharers
  /// of a queue are woken once per `min` CQEs rather than once per burst.
  /// With a `min` above 1, pass a timeout: it bounds the latency of the
  /// last CQEs of a quiet spell, which then returns -ETIME with fewer
  /// (cq_ready() tells how many). `min` 1 wakes on every burst, as before.
  int wait_cqe(unsigned min, WaitMode mode, int64_t timeout_ns);
  /// Copies out up to `max` ready completions without consuming them.
  unsigned peek_cqes(uapi::io_uring_cqe32* dst, unsigned max);
  /// Consumes `n` completions (at most the number ready).
  void cq_advance(unsigned n) { cq_.advance(n); }
  /// Calls f(const io_uring_cqe32&) on a private copy of every ready
  /// completion and consumes them. Returns how many. The CQ tail is read
  /// once; completions are copied out and consumed in batches of
  /// kCqeBatch (one head store per batch), so zcrxd sees room early. `f`
  /// must not consume completions itself (cq_advance, another
  /// for_each_cqe).
  template <class F>
  unsigned for_each_cqe(F&& f) {
    return for_each_cqe_impl(nullptr, f);
  }
  /// The same, and prefetches the payloads of each batch in `ifq`'s area
  /// (Ifq::prefetch) before `f` sees the first of them, so their cache
  /// misses overlap instead of coming one per completion.
  template <class F>
  unsigned for_each_cqe(const Ifq& ifq, F&& f) {
    return for_each_cqe_impl(&ifq, f);
  }
  /// Completions for_each_cqe copies out and consumes at a time.
  static constexpr unsigned kCqeBatch = 32;
  RingState cq_state() const { return cq_.state(); }
  RingState sq_state() const { return sq_.state(); }
  /// The CQ's overflow counter as zcrxd last wrote it.
  uint32_t cq_overflow() const;

 private:
  // One request/reply exchange. `fds_in` go with the request; up to
  // `max_fds_out` reply fds land in `fds_out` (owned by the caller on
  // success, closed otherwise). `reply_body` receives the reply's body.
  int call(uint16_t op, const void* req_body, size_t req_len, const int* fds_in,
           unsigned nfds_in, void* reply_body, size_t reply_len, int* fds_out,
           unsigned min_fds_out, unsigned max_fds_out);
  int add_ifq(const proto::RegisterIfqReply& r, int rq_fd, int area_fd,
              uint8_t* own_area, size_t own_len, Ifq** out);
  /// The event fields of a fresh registration's Ifq.
  static void finish_register(const IfqParams& p, const proto::RegisterIfqReq& req, Ifq* q);
  int register_shared(uint32_t flags, int fd, uint32_t if_rxq, uint32_t rq_entries, Ifq** out);
  uint32_t* sq_flags_word() const;
  uint32_t* cq_flags_word() const;
  uint32_t* cq_tail_word() const;
  /// The consumer-written wake target word (proto.h kCqWakeTarget), or
  /// null when zcrxd's layout has none.
  uint32_t* cq_wake_target_word() const;
  /// Sends SQ_WAKEUP (no reply; MSG_DONTWAIT: a full socket means a
  /// wakeup is queued already).
  void wake_sq();

  template <class F>
  unsigned for_each_cqe_impl(const Ifq* prefetch_from, F& f) {
    const unsigned n = cq_.peek(cq_.size());
    uapi::io_uring_cqe32 batch[kCqeBatch];
    for (unsigned done = 0; done < n;) {
      const unsigned m = n - done < kCqeBatch ? n - done : kCqeBatch;
      // One copy of each: zcrxd may rewrite the slot; the copy is what is
      // checked and used.
      for (unsigned i = 0; i < m; i++) batch[i] = cq_.load(i);
      if (prefetch_from)
        for (unsigned i = 0; i < m; i++) prefetch_from->prefetch(batch[i]);
      for (unsigned i = 0; i < m; i++) f(static_cast<const uapi::io_uring_cqe32&>(batch[i]));
      cq_.advance(m);
      done += m;
    }
    return n;
  }

  int sock_ = -1;
  uint32_t seq_ = 0;
  int control_timeout_ms_ = 30000;
  bool control_stuck_ = false;  // a reply timed out: the exchange is out of step
  int ring_fd_ = -1;
  uint8_t* tx_base_ = nullptr;  // the TX region, mapped read-write
  size_t tx_len_ = 0;
  void* ring_base_ = nullptr;
  RingRegionLayout layout_{};
  SqProducer sq_;
  CqConsumer cq_;
  uint32_t sq_taken_ = 0;
  int efd_ = -1;
  // Watches efd_ edge-triggered, so a sleep is one epoll_pwait2 and the
  // eventfd is never read (wait_cqe).
  int epfd_ = -1;
  int64_t spin_ns_ = 50 * 1000;
  std::vector<std::unique_ptr<Ifq>> ifqs_;
};

// ---- SQE preparation (liburing's io_uring_prep_*) --------------------------

/// RECV_ZC on `flow` into zcrx `zcrx_id`: `len` bytes in total (0 =
/// unlimited), multishot when `multishot`.
inline void prep_recv_zc(uapi::io_uring_sqe* sqe, int flow, uint32_t zcrx_id,
                         uint32_t len, bool multishot, uint64_t user_data = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpRecvZc;
  sqe->fd = flow;
  sqe->len = len;
  sqe->ioprio = multishot ? uapi::kRecvMultishot : 0;
  sqe->zcrx_ifq_idx = zcrx_id;
  sqe->user_data = user_data;
}

inline void prep_nop(uapi::io_uring_sqe* sqe, uint64_t user_data = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpNop;
  sqe->fd = -1;
  sqe->user_data = user_data;
}

/// Cancels the request submitted with `target` as user_data (RECV_ZC on a
/// flow or socket, ACCEPT, CONNECT, SEND): its own CQE ends with
/// -ECANCELED without F_MORE (a SEND that copied part of its bytes: that
/// count), the cancel's CQE has res 0 or -ENOENT. `flags`
/// uapi::kAsyncCancelAll: every request with that user_data, the cancel's
/// res is how many (0 for none); kAsyncCancelAny: every request at all.
inline void prep_cancel(uapi::io_uring_sqe* sqe, uint64_t target, uint64_t user_data = 0,
                        uint32_t flags = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpAsyncCancel;
  sqe->fd = -1;
  sqe->addr = target;
  sqe->cancel_flags = flags;
  sqe->user_data = user_data;
}

/// Cancels the first request on flow or socket handle `fd` (with
/// uapi::kAsyncCancelAll in `flags`: every one; the cancel's res is then
/// how many), as io_uring_prep_cancel_fd.
inline void prep_cancel_fd(uapi::io_uring_sqe* sqe, int fd, uint64_t user_data = 0,
                           uint32_t flags = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpAsyncCancel;
  sqe->fd = fd;
  sqe->cancel_flags = flags | uapi::kAsyncCancelFd;
  sqe->user_data = user_data;
}

/// Creates a sealable area memfd of `len` bytes (hugetlb optional), not
/// mapped: what Ring::register_ifq hands to zcrxd. -EINVAL when `len` is
/// not a non-zero multiple of area_granule(hugetlb), else the fd or -errno.
int create_area_fd(size_t len, bool hugetlb);
/// Creates an area memfd of `len` bytes (hugetlb optional) and maps it RW.
/// `len` must be a non-zero multiple of area_granule(hugetlb), else
/// -EINVAL. Returns the fd (>= 0) and sets `*base`, or -errno (memfd,
/// ftruncate, mmap: -ENOMEM without reserved hugepages). The caller unmaps
/// and closes.
int create_area(size_t len, bool hugetlb, void** base);
/// Size unit of an area: 4096, or 2 MiB with hugetlb.
constexpr size_t area_granule(bool hugetlb) { return hugetlb ? size_t{2} << 20 : 4096; }

}  // namespace zcrx
