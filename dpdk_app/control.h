// SPDX-License-Identifier: MIT
// The control thread: a unix SOCK_SEQPACKET server (zcrx/proto.h). One
// connection is one consumer ring (an engine Ctx); closing it, or the
// consumer's death, terminates the ring with the kernel's ordering
// (zcrx_core). Memory and capabilities arrive only as descriptors; a ring
// (for CLONE) and an export (for IMPORT) are recognised by (st_dev,
// st_ino) of the descriptor passed, never by a number the peer sends.
//
// Several served queues: each has its own real ifq, area pool, datapath
// and snapshot. A ring's SQ and CQ are served by exactly one datapath, the
// one of the queue of its first entry (a ring without entries is polled by
// the first queue's): one CQ has one producer. An entry on another queue is
// refused with -EOPNOTSUPP.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "consumer_limits.h"
#include "control_call.h"
#include "datapath.h"
#include "eventfd_signal.h"
#include "event_sink.h"
#include "flow.h"
#include "options.h"
#include "provider.h"
#include "queue_set.h"
#include "stats.h"
#include "tcp_socket.h"
#include "zcrx/core/engine.h"
#include "zcrx/proto.h"

struct rte_tel_data;

namespace zcrxd {

class AreaPool;
class Device;
class Injector;
class TcpStack;

class Control {
 public:
  /// `queues` are the served queues, in the device's order.
  Control(const Options& opt, Device& dev, const std::vector<ServedQueue*>& queues);
  ~Control();

  /// --inject: told to go once a served queue is bound and its port runs;
  /// its counters join the stats lines. Call before run().
  void set_injector(Injector* inj) { injector_ = inj; }

  /// Creates, binds and listens on the control socket. 0 or -errno (the
  /// reason printed).
  int listen_socket();
  /// Serves until SIGINT/SIGTERM (read from `signal_fd`, a signalfd), then
  /// stops the datapaths (through `stop_datapath`, which returns when every
  /// loop has ended) and tears every session down.
  void run(int signal_fd, void (*stop_datapath)(void*), void* arg);

  /// [after run() and Device::close()] Frees every area pool; returns the
  /// number of buffers that never came back (must be 0).
  int release_areas();
  /// Buffers delivered and not yet returned (refill or reclaim), over all
  /// queues.
  uint64_t outstanding() const;
  /// The same for the k-th served queue.
  uint64_t outstanding(uint32_t k) const;

  /// One line of counters summed over the queues, preceded by one line per
  /// queue (`zcrxd: TAG queue=N ...`) when there are several.
  void print_stats(const char* tag);
  /// "0:N,1:M": outstanding buffers per served queue (for the exit line).
  std::string outstanding_per_queue() const;

 private:
  struct Mapped {
    void* base = nullptr;
    size_t len = 0;
  };
  struct FlowRef {
    bool open = false;
    FlowKey key;
    Ifq* real = nullptr;
  };
  // An area mapping of a registration that failed after the memfd was
  // sealed (area_memfd.h): no new writable mapping of it can be made, so
  // a retry on this session with the same range takes this one back.
  struct SpareArea {
    dev_t dev;
    ino_t ino;
    uint64_t off;
    uint64_t len;
    void* base;
  };
  static constexpr size_t kMaxSpareAreas = 4;  // per session, oldest unmapped first
  using Clock = std::chrono::steady_clock;
  /// Bad input from consumers' shared memory, refused and counted.
  struct Rejects {
    uint64_t rqe_bad_token = 0;    // refill entries naming no area of the ifq
    uint64_t rqe_bad_index = 0;    // ... a buffer past the area
    uint64_t rqe_no_ref = 0;       // ... a buffer the consumer does not hold
    uint64_t rqe_wrong_owner = 0;  // ... a buffer another entry holds
    uint64_t rq_clamped = 0;       // refill tails beyond the ring (clamped)
    uint64_t rings_broken = 0;     // rings whose SQ/CQ indices went wrong
    void add(const zcrx::core::IfqStats& st);
    void add(const Rejects& r);
  };
  struct Session {
    int sock = -1;
    uint64_t id = 0;  // never reused
    pid_t pid = 0;  // the peer, from SO_PEERCRED at connect time
    uid_t uid = 0;
    // Over a ring limit: every request is answered with this errno, then
    // the session is closed (at the latest at refuse_until).
    int refuse = 0;
    Clock::time_point refuse_until{};
    bool counted = false;       // holds a ring of Limits
    uint64_t region_bytes = 0;  // ring + clone/import RQ regions charged to uid
    uint32_t exports = 0;       // live export boxes it made
    // Clone/import entries charged to (real ifq, its owner's uid).
    std::vector<std::pair<const Ifq*, uid_t>> entries;
    int ring_fd = -1;
    Mapped ring;
    zcrx::RingRegionLayout layout{};
    dev_t dev = 0;
    ino_t ino = 0;
    zcrx::core::Ctx* ctx = nullptr;
    std::unique_ptr<RingDp> dp;
    // The ctx's event sink (posts through dp); freed with dp, after the
    // ctx was terminated.
    std::unique_ptr<RingEvents> events;
    std::vector<Mapped> rqs;  // RQ regions of this ring's clone/import entries
    std::vector<SpareArea> spare_areas;
    FlowRef flows[kMaxFlowsPerRing];
    std::unique_ptr<EventfdSignal> eventfd;  // REGISTER_EVENTFD
    bool closing = false;
    bool reported_broken = false;
    // TCP sockets (control_sockets.cpp): the table, used by the datapath of
    // the ring's queue, and the TX region's read-only mapping.
    std::unique_ptr<SocketTable> socks;
    Mapped tx;
    int queue = -1;  // served-queue index of its entries; -1: none yet
    uint32_t slot = UINT32_MAX;  // RingDp::slot, once it has a ring
  };
  struct Export {
    int our_end = -1;
    uint64_t session = 0;  // Session::id of the ring that made it
    dev_t dev = 0;
    ino_t ino = 0;
    zcrx::core::ExportBox* box = nullptr;
  };
  // An area bound (or once bound) to the queue: the consumer's memfd, our
  // mapping of it and the pool over it.
  struct AreaRec {
    uint32_t id = 0;  // names its ifq in telemetry ("ifq<id>")
    int fd = -1;
    uint64_t offset = 0;  // area.addr the consumer gave (offset in fd)
    Mapped map;
    Mapped rq;  // the registering entry's RQ region (its zcrx_stats block)
    uid_t owner = 0;  // uid of the registering ring (charged for rq)
    uint64_t charged = 0;  // a zcrxd-made area's bytes, charged to owner
    std::unique_ptr<AreaPool> pool;
    Ifq* real = nullptr;  // while the ifq is registered
  };
  struct Group {
    Ifq* real = nullptr;
    std::vector<std::pair<Session*, uint32_t>> members;
  };

  using Reply = zcrx::proto::Reply<zcrx::proto::RegisterIfqReply>;

  void accept_session();
  /// Logs one limit refusal (the limits' own counters count it).
  void log_refusal(const Session& s, const char* what, int err, const char* limit,
                   uint64_t value);
  /// The real ifq's owner uid (the registering ring's), or `fallback`.
  uid_t ifq_owner(const Ifq* real, uid_t fallback) const;
  void handle_message(Session& s);
  void close_session(Session& s);
  void release_export(Export& e);
  /// Rebuilds and publishes queue k's snapshot.
  void republish(uint32_t k);
  void republish_all();
  /// Index of the datapath that polls `s`'s SQ.
  static uint32_t ring_queue(const Session& s) { return s.queue < 0 ? 0u : uint32_t(s.queue); }
  /// Moves `s` to the datapath of queue index `k` (-1: none): the old one
  /// drops it (and quiesces) before the new one takes it.
  void assign_ring(Session& s, int k);
  /// -EOPNOTSUPP (logged) when `s` has entries on another queue than `k`.
  int check_ring_queue(const Session& s, int k, const char* what);
  void take_closed_pools();
  /// Has the datapath serving `s` poll its SQ again (SQ_WAKEUP, or work
  /// for a ring that may sleep, such as a flow closed under a request).
  void wake_ring(Session& s);
  /// Lets the injector transmit while some queue is polled, parks it otherwise.
  void sync_injector();
  /// One counters line; `queue` -1 for the all-queue sum, `mode` the
  /// receive mode (zero-copy, copy, or mixed for a sum over both).
  void print_counters(const char* tag, int queue, const char* mode, const DpStats& st,
                      uint64_t outstanding, uint32_t armed, size_t rings, uint32_t awake);
  void housekeeping();

  // Telemetry (control_telemetry.cpp): /zcrx/<cmd>, run on this thread
  // through ControlCall (telemetry.h). Each returns 0 or -errno.
  int telemetry(const char* cmd, const char* params, rte_tel_data* d);
  int tel_info(rte_tel_data* d);
  int tel_queues(const char* params, rte_tel_data* d);
  int tel_rings(const char* params, rte_tel_data* d);
  int tel_entries(rte_tel_data* d);
  int tel_ifqs(rte_tel_data* d);
  int tel_flows(rte_tel_data* d);
  int tel_rejects(rte_tel_data* d);
  int tel_tcp(rte_tel_data* d);
  /// "ifq<id>" of the real ifq `real`, or "-" when no area names it.
  std::string ifq_name(const Ifq* real) const;
  /// The session of ring `ctx` (nullptr: none, or gone).
  const Session* session_of(const zcrx::core::Ctx* ctx) const;
  /// Every queue's counters, sampled about once a second for the rates.
  void sample_rates();
  struct RateSample {
    Clock::time_point t{};
    uint64_t rx = 0, delivered = 0, bytes = 0, dropped = 0;
  };
  /// What `s`'s entries refused so far.
  static Rejects session_rejects(const Session& s);
  /// Everything refused since start (closed sessions and live ones).
  Rejects rejects() const;
  /// Some live ring entry or export stands for the real ifq `real`.
  bool ifq_in_use(const Ifq* real) const;
  void teardown();

  // Ops: each returns the result and fills the reply body / fds.
  int op_create_ring(Session& s, const zcrx::proto::CreateRingReq& r,
                     zcrx::proto::CreateRingReply* out, int* fd_out);
  int op_register_ifq(Session& s, zcrx::proto::RegisterIfqReq r, int fd,
                      zcrx::proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds);
  int op_export(Session& s, const zcrx::uapi::zcrx_ctrl& c, int* fd_out);
  int op_open_flow(Session& s, const zcrx::proto::OpenFlowReq& r, uint32_t* handle);
  int op_close_flow(Session& s, uint32_t handle);
  int op_register_eventfd(Session& s, int fd);
  int op_unregister_eventfd(Session& s);

  // TCP sockets (control_sockets.cpp).
  int op_socket(Session& s, const zcrx::proto::SocketReq& r, uint32_t* handle);
  int op_bind(Session& s, const zcrx::proto::BindReq& r);
  int op_listen(Session& s, const zcrx::proto::ListenReq& r);
  int op_sockname(Session& s, const zcrx::proto::SockNameReq& r,
                  zcrx::proto::SockNameReply* out);
  int op_close_socket(Session& s, const zcrx::proto::CloseSocketReq& r);
  int op_register_tx(Session& s, const zcrx::proto::TxRegionReq& r, int fd);
  /// The TCP stack of `s`'s queue (nullptr without --ip); fixes a ring
  /// without entries to the first queue.
  TcpStack* ring_tcp(Session& s);
  /// `s`'s socket table, made (and handed to its ring) on first use.
  SocketTable* ring_sockets(Session& s, TcpStack* tcp);
  /// A session ends: its connections are reset and its listeners closed.
  void close_sockets(Session& s);
  /// After the ring left the datapath: the table and TX mapping go.
  void free_sockets(Session& s);

  int register_fresh(Session& s, zcrx::proto::RegisterIfqReq& r, int fd,
                     zcrx::proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds);
  int register_shared(Session& s, zcrx::proto::RegisterIfqReq& r, int fd,
                      zcrx::proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds);
  int make_rq_region(Session& s, const zcrx::RqRegionLayout& l, int* fd_out,
                     zcrx::core::Mapping* m);
  void publish_entry(Session& s, uint32_t zcrx_id);
  void* take_spare_area(Session& s, int fd, uint64_t off, uint64_t len);
  void keep_spare_area(Session& s, int fd, uint64_t off, uint64_t len, void* base);
  /// Unmaps and closes what an area record holds (its pool is gone).
  /// A zcrxd-made area of `len` bytes for `s` (create_zcrxd_area), charged
  /// to its uid's region limit: the mapping, zcrxd's memfd and a read-only
  /// descriptor for the consumer. 0 or -errno (nothing left behind).
  int make_area(Session& s, uint64_t len, void** map, int* fd, int* ro);
  void release_area_memory(AreaRec& a);
  /// Undoes the last make_rq_region() of `s` (a registration that failed).
  void drop_rq_region(Session& s);
  void retire_pool(AreaPool* pool);

  const Options& opt_;
  Device& dev_;
  std::unique_ptr<QueueSet> qs_;
  std::unique_ptr<zcrx::core::Engine> engine_;
  int listen_fd_ = -1;
  bool made_socket_dir_ = false;  // listen_socket() created the socket's directory
  dev_t socket_dev_ = 0;  // the socket file we bound
  ino_t socket_ino_ = 0;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<std::unique_ptr<Export>> exports_;
  std::vector<std::unique_ptr<AreaRec>> areas_;
  std::map<std::vector<uint8_t>, Group> groups_;  // by serialized FlowKey + real ifq
  Injector* injector_ = nullptr;
  std::vector<bool> polled_;  // per queue: the last snapshot published polls it
  uint32_t next_area_id_ = 0;
  uint64_t sessions_total_ = 0;
  Limits limits_;
  Rejects rejects_closed_;  // of sessions that are gone
  // accept() failing for want of descriptors: the listening socket stays
  // readable, so it is not polled again before this (backing off).
  Clock::time_point accept_resume_{};
  int accept_backoff_ms_ = 0;
  size_t refused_pending_ = 0;  // sessions waiting to hear their refusal
  std::vector<bool> slots_;  // ring slots in use (RingDp::slot), --max-rings of them
  // Requests answered with an error, by errno (the stats of /zcrx/rejects).
  std::map<int, uint64_t> refused_by_errno_;
  // Telemetry's way in (telemetry.h); lives as long as the process.
  ControlCall& tel_call_;
  std::vector<std::array<RateSample, 2>> rates_;  // per queue: older, newer
};

}  // namespace zcrxd
