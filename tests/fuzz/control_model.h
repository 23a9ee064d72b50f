// SPDX-License-Identifier: MIT
// zcrxd's control thread without DPDK, for fuzz_control_proto: sessions on
// socketpairs, each request received with proto::recv_msg, checked with
// proto::validate_request and mapped onto a zcrx_core Engine the way
// dpdk_app/control.cpp, control_register.cpp and control_flows.cpp map it
// (area descriptors taken with zcrxd's own map_consumer_area, limits with
// its Limits, eventfds with its EventfdSignal), then answered on the socket.
// The queues are a PlainProvider's (one port, kQueues queues); the
// datapath is the fuzzer's own (deliver, refill on plain memory).
//
// What zcrxd does beyond that (area pools, DMA mapping, the datapath's
// snapshots, spare area mappings) is left out: a change to the mapping in
// dpdk_app/control*.cpp should be followed here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "consumer_limits.h"
#include "eventfd_signal.h"
#include "flow.h"
#include "fuzz_input.h"
#include "ring_dp.h"
#include "zcrx/core/engine.h"
#include "zcrx/core/free_list.h"
#include "zcrx/proto.h"

namespace zcrx::fuzz {

inline constexpr uint32_t kSessions = 3;  // consumer connections at a time
inline constexpr uint32_t kQueues = 4;    // rx queues 0..3 of port 0

class ControlModel final : public core::QueueBinder, public core::BufferSink {
 public:
  ControlModel();
  /// Closes every session and export and destroys the engine, without
  /// checking anything (shutdown_and_check() checks).
  ~ControlModel() override;

  // ---- sessions (the consumer's side calls these) -------------------------
  /// Opens session `s` for `uid` (a new socketpair) and returns the
  /// consumer's end, the caller's to close; -1 when `s` is open.
  int connect(uint32_t s, uid_t uid);
  bool is_open(uint32_t s) const { return sessions_[s].sock >= 0; }
  /// zcrxd reads one message of session `s` and answers it, as
  /// Control::handle_message (it may close the session).
  void handle_message(uint32_t s);
  /// The consumer hung up (or died), or zcrxd gave up on the session:
  /// Control::close_session.
  void close_session(uint32_t s);
  /// Releases every export box whose descriptors are all closed (the
  /// consumer's copies), as Control::run's POLLRDHUP check does.
  void poll_exports();

  // ---- the datapath ----------------------------------------------------------
  /// Delivers buffers of a bound area to its live entries, reports a
  /// shortage, and refills every live entry.
  void datapath(FuzzInput& in);
  /// The consumer of session `s` hands a buffer back through an entry's RQ.
  void write_rqe(uint32_t s, FuzzInput& in);

  /// Control::housekeeping: frees the areas whose queue closed once all
  /// their buffers are back, and forgets released exports.
  void housekeeping();

  // ---- checks ---------------------------------------------------------------
  /// After every step: no ifq freed with its master set, nothing returned
  /// twice, and every bound area's niovs either free or held by users.
  void check_step() const;
  /// Closes every session and export, then checks that the engine holds
  /// nothing and every niov of every area came back exactly once.
  void shutdown_and_check();

  // QueueBinder / BufferSink: the PlainProvider's, plus the area records.
  int open_queue(core::Ifq& ifq, uint32_t port, uint32_t rxq) override;
  void close_queue(core::Ifq& ifq) override;
  void synchronize(core::Ifq& real) override { plain_.synchronize(real); }
  void return_niovs(core::Area& a, const uint32_t* idx, uint32_t n) override {
    plain_.return_niovs(a, idx, n);
  }
  void reclaim_niovs(core::Area& a, const uint32_t* idx, uint32_t n) override {
    plain_.reclaim_niovs(a, idx, n);
  }

 private:
  struct Mapped {
    void* base = nullptr;
    size_t len = 0;
  };
  struct FlowRef {
    bool open = false;
    zcrxd::FlowKey key;
    core::Ifq* real = nullptr;
  };
  /// Counts the event CQEs the engine asks a ring to post.
  struct Events final : core::CtxEvents {
    bool on_event(core::Ifq&, uint64_t, uint32_t) override {
      posted++;
      return true;
    }
    uint64_t posted = 0;
  };
  struct Session {
    int sock = -1;  // zcrxd's end
    uint64_t id = 0;
    uid_t uid = 0;
    int refuse = 0;  // over a ring limit: the errno of the one answer
    bool counted = false;
    uint64_t region_bytes = 0;
    uint32_t exports = 0;
    std::vector<std::pair<const core::Ifq*, uid_t>> entries;
    int ring_fd = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    zcrx::RingRegionLayout layout{};
    core::Ctx* ctx = nullptr;
    std::unique_ptr<Events> events;
    std::vector<Mapped> rqs;  // clone/import RQ regions
    FlowRef flows[zcrxd::kMaxFlowsPerRing];
    std::unique_ptr<zcrxd::EventfdSignal> eventfd;
    int queue = -1;
  };
  struct Export {
    int our_end = -1;
    uint64_t session = 0;
    dev_t dev = 0;
    ino_t ino = 0;
    core::ExportBox* box = nullptr;
  };
  struct AreaRec {
    int fd = -1;         // the consumer's memfd (a copy)
    uint64_t offset = 0; // area.addr as the consumer gave it
    Mapped map;
    Mapped rq;                   // the registering entry's RQ region
    uid_t owner = 0;
    core::Ifq* real = nullptr;   // while its queue is open
    core::FreeList* free = nullptr;
    int queue = -1;
  };

  // Control::handle_message's dispatch of a valid request.
  int dispatch(Session& s, const proto::MsgHeader& hdr, const uint8_t* body, int in_fd,
               uint8_t* out, size_t* body_len, int* fds, unsigned* nfds);
  int op_create_ring(Session& s, const proto::CreateRingReq& r, proto::CreateRingReply* out,
                     int* fd_out);
  int op_register_ifq(Session& s, proto::RegisterIfqReq r, int fd, proto::RegisterIfqReply* out,
                      int* fds_out, unsigned* nfds);
  int register_fresh(Session& s, proto::RegisterIfqReq& r, int fd, proto::RegisterIfqReply* out,
                     int* fds_out, unsigned* nfds);
  int register_shared(Session& s, proto::RegisterIfqReq& r, int fd,
                      proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds);
  int op_export(Session& s, const uapi::zcrx_ctrl& c, int* fd_out);
  int op_open_flow(Session& s, const proto::OpenFlowReq& r, uint32_t* handle);
  int op_close_flow(Session& s, uint32_t h);
  int op_register_eventfd(Session& s, int fd);

  int make_rq_region(Session& s, const zcrx::RqRegionLayout& l, int* fd_out,
                     core::Mapping* m);
  void drop_rq_region(Session& s);
  int check_ring_queue(const Session& s, int k) const;
  uid_t ifq_owner(const core::Ifq* real, uid_t fallback) const;
  void release_export(Export& e);
  void release_area_memory(AreaRec& a);

  core::PlainProvider plain_{1, kQueues};
  zcrxd::Limits limits_;
  Session sessions_[kSessions];
  std::vector<std::unique_ptr<Export>> exports_;
  std::vector<std::unique_ptr<AreaRec>> areas_;
  // Every free list a bound area got, for the final balance.
  std::vector<std::pair<core::FreeList*, uint32_t>> lists_;
  std::unique_ptr<core::Engine> engine_;
  uint64_t sessions_total_ = 0;
  bool trace_;  // ZCRX_FUZZ_TRACE set: each request and its result on stderr
};

}  // namespace zcrx::fuzz
