// SPDX-License-Identifier: MIT
// The control thread: a unix SOCK_SEQPACKET server (zcrx/proto.h). One
// connection is one consumer ring (an engine Ctx); closing it, or the
// consumer's death, terminates the ring with the kernel's ordering
// (zcrx_core). Memory and capabilities arrive only as descriptors; a ring
// (for CLONE) and an export (for IMPORT) are recognised by (st_dev,
// st_ino) of the descriptor passed, never by a number the peer sends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datapath.h"
#include "flow.h"
#include "options.h"
#include "provider.h"
#include "stats.h"
#include "zcrx/core/engine.h"
#include "zcrx/proto.h"

namespace zcrxd {

class AreaPool;
class Port;

class Control {
 public:
  Control(const Options& opt, Port& port, Datapath& dp, DpStats& stats);
  ~Control();

  /// Creates, binds and listens on the control socket. 0 or -errno (the
  /// reason printed).
  int listen_socket();
  /// Serves until SIGINT/SIGTERM (read from `signal_fd`, a signalfd), then
  /// stops the datapath (through `stop_datapath`, which returns when the
  /// loop has ended) and tears every session down.
  void run(int signal_fd, void (*stop_datapath)(void*), void* arg);

  /// [after run() and Port::close()] Frees every area pool; returns the
  /// number of buffers that never came back (must be 0).
  int release_areas();
  /// Buffers delivered and not yet returned (refill or reclaim).
  uint64_t outstanding() const;

  /// One line of counters.
  void print_stats(const char* tag);

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
  struct Session {
    int sock = -1;
    int ring_fd = -1;
    Mapped ring;
    zcrx::RingRegionLayout layout{};
    dev_t dev = 0;
    ino_t ino = 0;
    zcrx::core::Ctx* ctx = nullptr;
    std::unique_ptr<RingDp> dp;
    std::vector<Mapped> rqs;  // RQ regions of this ring's entries
    FlowRef flows[kMaxFlowsPerRing];
    int eventfd = -1;
    bool closing = false;
    bool reported_broken = false;
  };
  struct Export {
    int our_end = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    zcrx::core::ExportBox* box = nullptr;
  };
  // An area bound (or once bound) to the queue: the consumer's memfd, our
  // mapping of it and the pool over it.
  struct AreaRec {
    int fd = -1;
    uint64_t offset = 0;  // area.addr the consumer gave (offset in fd)
    Mapped map;
    std::unique_ptr<AreaPool> pool;
    Ifq* real = nullptr;  // while the ifq is registered
  };
  struct Group {
    Ifq* real = nullptr;
    std::vector<std::pair<Session*, uint32_t>> members;
  };

  using Reply = zcrx::proto::Reply<zcrx::proto::RegisterIfqReply>;

  void accept_session();
  void handle_message(Session& s);
  void close_session(Session& s);
  void release_export(Export& e);
  void republish();
  void housekeeping();
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

  int register_fresh(Session& s, zcrx::proto::RegisterIfqReq& r, int fd,
                     zcrx::proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds);
  int register_shared(Session& s, zcrx::proto::RegisterIfqReq& r, int fd,
                      zcrx::proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds);
  int make_rq_region(Session& s, const zcrx::RqRegionLayout& l, int* fd_out,
                     zcrx::core::Mapping* m);
  void publish_entry(Session& s, uint32_t zcrx_id);
  void retire_pool(AreaPool* pool);

  const Options& opt_;
  Port& port_;
  Datapath& dp_;
  DpStats& st_;
  Provider provider_;
  std::unique_ptr<zcrx::core::Engine> engine_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<std::unique_ptr<Export>> exports_;
  std::vector<std::unique_ptr<AreaRec>> areas_;
  std::map<std::vector<uint8_t>, Group> groups_;  // by serialized FlowKey
  uint32_t next_area_id_ = 0;
  uint64_t sessions_total_ = 0;
};

}  // namespace zcrxd
