// SPDX-License-Identifier: MIT
// The control thread's loop: the socket, sessions and export boxes, the
// datapath snapshots, housekeeping and teardown. The ops live beside it:
// control_register.cpp (rings, ifqs, exports), control_flows.cpp (flows,
// eventfds), control_stats.cpp (counters lines).
#include "control.h"

#include <grp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "area_pool.h"
#include "eventfd_signal.h"
#include "inject.h"
#include "log.h"
#include "port.h"
#include "telemetry.h"

namespace zcrxd {

namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;
namespace core = zcrx::core;

namespace {

constexpr int kHousekeepingMs = 100;
// Sessions refused for a ring limit that still wait to hear why: beyond
// this, a refused connection is closed at once.
constexpr size_t kMaxRefusedPending = 64;

}  // namespace

Control::Control(const Options& opt, Device& dev, const std::vector<ServedQueue*>& queues)
    : opt_(opt),
      dev_(dev),
      qs_(std::make_unique<QueueSet>(dev, queues, [this](uint32_t k) { republish(k); })),
      engine_(std::make_unique<core::Engine>(*qs_, *qs_)),
      polled_(queues.size(), false),
      limits_(opt.limits),
      slots_(opt.limits.max_rings, false),
      tel_call_(telemetry_call()),
      rates_(queues.size()) {
  // A whole-port restart pauses every queue's datapath, and a deferred
  // start resumes the queues bound before it.
  dev_.set_pause_hook([this](bool) { republish_all(); });
}

void Control::sync_injector() {
  if (!injector_) return;
  // The injector transmits exactly while some queue is polled: it is
  // parked before a queue's datapath stops (bind, restart, close), so no
  // TX burst meets a stopped port, and what it sends is taken.
  for (bool rx : polled_)
    if (rx) {
      injector_->go();
      return;
    }
  injector_->pause();
}

Control::~Control() {
  teardown();
  dev_.set_pause_hook(nullptr);
  release_areas();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    // Only the socket we bound: not one another daemon put there since.
    struct stat st {};
    if (lstat(opt_.socket_path.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
        st.st_ino == socket_ino_)
      unlink(opt_.socket_path.c_str());
  }
  if (made_socket_dir_) {
    const std::string& path = opt_.socket_path;
    rmdir(path.substr(0, path.find_last_of('/')).c_str());  // fails, and leaves it, when not empty
  }
}

int Control::listen_socket() {
  const std::string& path = opt_.socket_path;
  // Create the parent directory (one level, as /run/zcrx or $XDG/zcrx).
  // Searchable by all (the socket's own mode and group decide who may
  // connect); removed at exit when zcrxd made it and it is empty then.
  std::string dir = path.substr(0, path.find_last_of('/'));
  if (!dir.empty()) {
    if (mkdir(dir.c_str(), 0755) == 0) {
      made_socket_dir_ = true;
    } else if (errno != EEXIST) {
      int e = errno;
      std::fprintf(stderr, "zcrxd: mkdir %s: %s\n", dir.c_str(), std::strerror(e));
      return -e;
    }
  }
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) {
    close(fd);
    std::fprintf(stderr, "zcrxd: socket path %s is longer than %zu bytes\n", path.c_str(),
                 sizeof(sa.sun_path) - 1);
    return -ENAMETOOLONG;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  // A socket file left by a daemon that died is removed, unless someone
  // still answers on it; anything that is not a socket is left alone.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      close(fd);
      std::fprintf(stderr, "zcrxd: %s exists and is not a socket: not removing it\n",
                   path.c_str());
      return -EEXIST;
    }
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
      if (connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
        close(probe);
        close(fd);
        std::fprintf(stderr, "zcrxd: %s: another zcrxd is serving it\n", path.c_str());
        return -EADDRINUSE;
      }
      close(probe);
    }
    unlink(path.c_str());
  }
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  umask(old);
  if (rc < 0 || chmod(path.c_str(), opt_.socket_mode) < 0) {
    int e = errno;
    std::fprintf(stderr, "zcrxd: bind %s: %s\n", path.c_str(), std::strerror(e));
    close(fd);
    return -e;
  }
  if (!opt_.socket_group.empty()) {
    group* g = getgrnam(opt_.socket_group.c_str());
    if (!g || chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) < 0) {
      std::fprintf(stderr, "zcrxd: socket group %s: %s\n", opt_.socket_group.c_str(),
                   g ? std::strerror(errno) : "no such group");
      close(fd);
      unlink(path.c_str());
      return -EINVAL;
    }
  }
  if (listen(fd, 64) < 0) {
    int e = errno;
    close(fd);
    unlink(path.c_str());
    return -e;
  }
  // What we created, to remove exactly that at exit.
  struct stat own {};
  if (lstat(path.c_str(), &own) == 0) {
    socket_dev_ = own.st_dev;
    socket_ino_ = own.st_ino;
  }
  listen_fd_ = fd;
  return 0;
}

// ---- datapath snapshot -------------------------------------------------------

void Control::republish_all() {
  for (uint32_t k = 0; k < qs_->size(); k++) republish(k);
}

void Control::republish(uint32_t k) {
  Provider& p = qs_->provider(k);
  auto s = std::make_unique<Snapshot>();
  for (auto& sess : sessions_)
    if (sess->dp && !sess->closing && ring_queue(*sess) == k) s->rings.push_back(sess->dp.get());
  s->real = p.bound();
  s->pool = p.pool();
  s->copy = p.copy_mode();  // the loop picks its delivery path per snapshot
  // Polled only while bound and the port runs (not paused for a restart,
  // not waiting for the other queues' areas).
  s->rx = p.bound() != nullptr && qs_->queue(k).port.started();
  std::vector<std::pair<FlowKey, uint32_t>> keys;
  for (auto& [bytes, g] : groups_) {
    if (!s->real || g.real != s->real) continue;  // not on the bound queue
    FlowGroupDp dg;
    for (auto& [sess, h] : g.members)
      if (!sess->closing) dg.members.push_back({sess->dp.get(), h});
    if (dg.members.empty()) continue;
    FlowKey k;
    std::memcpy(&k, bytes.data(), sizeof(k));
    keys.push_back({k, static_cast<uint32_t>(s->groups.size())});
    s->groups.push_back(std::move(dg));
  }
  s->flows = FlowTable(keys);
  polled_[k] = s->rx;
  qs_->queue(k).dp.publish(std::move(s));
  sync_injector();
}

void Control::assign_ring(Session& s, int k) {
  uint32_t from = ring_queue(s);
  s.queue = k;
  uint32_t to = ring_queue(s);
  if (from == to || !s.dp) return;
  // One CQ, one producer: the old datapath lets go (publish waits for its
  // quiescent point) before the new one may touch the ring, polling its
  // SQ from the start (a wakeup sent to the old one is lost with it).
  republish(from);
  s.dp->sq_reset_awake();
  republish(to);
}

int Control::check_ring_queue(const Session& s, int k, const char* what) {
  if (k < 0 || s.queue < 0 || s.queue == k) return 0;
  std::fprintf(stderr,
               "zcrxd: %s on rx queue %u refused (-EOPNOTSUPP): the ring's entries are on "
               "rx queue %u, and one ring has one CQ producer\n",
               what, qs_->queue(static_cast<uint32_t>(k)).port.queue(),
               qs_->queue(static_cast<uint32_t>(s.queue)).port.queue());
  return -EOPNOTSUPP;
}

void Control::wake_ring(Session& s) {
  if (s.dp && s.dp->claim_wake()) qs_->queue(ring_queue(s)).dp.wake_sq(s.dp->slot());
}

void Control::take_closed_pools() {
  for (uint32_t k = 0; k < qs_->size(); k++)
    if (AreaPool* p = qs_->provider(k).take_closed()) retire_pool(p);
}

// ---- sessions ------------------------------------------------------------------

void Control::accept_session() {
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
      // The connection stays queued and the socket readable: polling it
      // again at once would spin. Back off, 10 ms doubling to 1 s.
      if (accept_backoff_ms_ == 0)
        std::fprintf(stderr, "zcrxd: accept: %s with %zu sessions: accepting again later\n",
                     strerrorname_np(e), sessions_.size());
      accept_backoff_ms_ = accept_backoff_ms_ ? std::min(2 * accept_backoff_ms_, 1000) : 10;
      accept_resume_ = Clock::now() + std::chrono::milliseconds(accept_backoff_ms_);
    }
    return;
  }
  accept_backoff_ms_ = 0;
  auto s = std::make_unique<Session>();
  s->sock = fd;
  s->id = ++sessions_total_;
  ucred cred{};
  socklen_t cl = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
    s->pid = cred.pid;
    s->uid = cred.uid;
  }
  if (int rc = limits_.take_ring(s->uid)) {
    const bool total = rc == -ENFILE;
    log_refusal(*s, "connection", rc, total ? "--max-rings" : "--max-rings-per-uid",
                total ? limits_.config().max_rings : limits_.config().max_rings_per_uid);
    // The peer hears why on its first request; past a few such sessions
    // (or a second) the connection is just closed.
    if (refused_pending_ >= kMaxRefusedPending) {
      close(fd);
      return;
    }
    s->refuse = rc;
    s->refuse_until = Clock::now() + std::chrono::seconds(1);
    refused_pending_++;
  } else {
    s->counted = true;
  }
  ZLOG(control, DEBUG, "connection of pid %d uid %u is ring %" PRIu64 "\n", s->pid, s->uid,
       s->id);
  sessions_.push_back(std::move(s));
}

void Control::log_refusal(const Session& s, const char* what, int err, const char* limit,
                          uint64_t value) {
  ZLOG(control, WARNING, "%s of pid %d uid %u refused (%s): %s %" PRIu64 " reached\n", what,
       s.pid, s.uid, strerrorname_np(-err), limit, value);
}

uid_t Control::ifq_owner(const Ifq* real, uid_t fallback) const {
  for (auto& a : areas_)
    if (a->real == real) return a->owner;
  return fallback;
}

void Control::close_session(Session& s) {
  // 1. Out of the datapath: its sockets, ring and flows, then a quiescent
  // point.
  s.closing = true;
  close_sockets(s);
  for (uint32_t h = 0; h < kMaxFlowsPerRing; h++)
    if (s.flows[h].open) op_close_flow(s, h);
  republish(ring_queue(s));
  // What the ring's entries refused, kept past the ring (one line for it).
  const Rejects r = session_rejects(s);
  rejects_closed_.add(r);
  const uint64_t bad_rqes = r.rqe_bad_token + r.rqe_bad_index + r.rqe_no_ref + r.rqe_wrong_owner;
  if (bad_rqes || r.rq_clamped)
    ZLOG(control, WARNING,
         "ring of pid %d uid %u closed after %" PRIu64 " bad refill entries "
         "(bad_token=%" PRIu64 " bad_index=%" PRIu64 " no_ref=%" PRIu64 " wrong_owner=%" PRIu64
         ") and %" PRIu64 " clamped refill tails\n",
         s.pid, s.uid, bad_rqes, r.rqe_bad_token, r.rqe_bad_index, r.rqe_no_ref,
         r.rqe_wrong_owner, r.rq_clamped);
  if (!s.refuse)
    ZLOG(control, INFO, "ring %" PRIu64 " of pid %d uid %u closed%s\n", s.id, s.pid, s.uid,
         s.dp && s.dp->broken() ? " (corrupt)" : "");
  // 2. The kernel's ring teardown (may close and scrub the queue).
  if (s.ctx) engine_->terminate_ctx(s.ctx);
  s.ctx = nullptr;
  take_closed_pools();
  // 3. Every entry of the ring left the datapath: unmap what it used.
  for (Mapped& m : s.rqs) munmap(m.base, m.len);
  s.rqs.clear();
  for (const SpareArea& a : s.spare_areas) munmap(a.base, a.len);
  s.spare_areas.clear();
  s.events.reset();
  s.dp.reset();
  free_sockets(s);
  if (s.slot < slots_.size()) slots_[s.slot] = false;  // no snapshot holds the ring
  s.slot = UINT32_MAX;
  if (s.ring.base) munmap(s.ring.base, s.ring.len);
  if (s.ring_fd >= 0) close(s.ring_fd);
  s.eventfd.reset();
  if (s.sock >= 0) close(s.sock);
  s.sock = -1;
  // What the session was charged for.
  if (s.counted) limits_.put_ring(s.uid);
  s.counted = false;
  if (s.refuse) refused_pending_--;
  s.refuse = 0;
  limits_.put_region(s.uid, s.region_bytes);
  s.region_bytes = 0;
  for (auto& [real, owner] : s.entries) limits_.put_entry(real, owner, s.uid);
  s.entries.clear();
}

void Control::release_export(Export& e) {
  limits_.put_export();
  for (auto& s : sessions_)
    if (s->id == e.session && s->exports) s->exports--;
  engine_->release_box(e.box);
  e.box = nullptr;
  take_closed_pools();
  close(e.our_end);
  e.our_end = -1;
}

void Control::retire_pool(AreaPool* pool) {
  for (auto& a : areas_)
    if (a->pool.get() == pool) a->real = nullptr;
}

void Control::Rejects::add(const zcrx::core::IfqStats& st) {
  rqe_bad_token += st.rqe_bad_token;
  rqe_bad_index += st.rqe_bad_index;
  rqe_no_ref += st.rqe_no_ref;
  rqe_wrong_owner += st.rqe_wrong_owner;
  rq_clamped += st.rq_clamped;
}

void Control::Rejects::add(const Rejects& r) {
  rqe_bad_token += r.rqe_bad_token;
  rqe_bad_index += r.rqe_bad_index;
  rqe_no_ref += r.rqe_no_ref;
  rqe_wrong_owner += r.rqe_wrong_owner;
  rq_clamped += r.rq_clamped;
  rings_broken += r.rings_broken;
}

Control::Rejects Control::session_rejects(const Session& s) {
  Rejects r;
  if (!s.ctx) return r;
  for (uint32_t id = 0; id < core::kMaxZcrxPerCtx; id++)
    if (const Ifq* e = s.ctx->lookup(id)) r.add(e->stats());
  return r;
}

Control::Rejects Control::rejects() const {
  Rejects r = rejects_closed_;
  for (const auto& s : sessions_) r.add(session_rejects(*s));
  return r;
}

bool Control::ifq_in_use(const Ifq* real) const {
  if (real == nullptr) return false;
  for (const auto& s : sessions_) {
    if (!s->ctx || s->closing) continue;
    for (uint32_t id = 0; id < core::kMaxZcrxPerCtx; id++)
      if (Ifq* e = s->ctx->lookup(id); e && &e->target() == real) return true;
  }
  for (const auto& e : exports_)
    if (e->box && core::Engine::box_ifq(e->box) == real) return true;
  return false;
}

void Control::release_area_memory(AreaRec& a) {
  munmap(a.map.base, a.map.len);
  if (a.rq.base) {
    munmap(a.rq.base, a.rq.len);
    limits_.put_region(a.owner, a.rq.len);
  }
  if (a.charged) limits_.put_region(a.owner, a.charged);
  close(a.fd);
  a = AreaRec{};
}

void Control::housekeeping() {
  // Areas whose queue closed: free them once every buffer is back (scrub
  // returned what users held; the PMD gave back the rest on rebind).
  for (size_t i = 0; i < areas_.size();) {
    AreaRec& a = *areas_[i];
    // A queue left unpolled may still point at the pool (see port.h).
    const bool pool_done =
        a.real == nullptr && a.pool && a.pool->full() && !dev_.uses_pool(a.pool->pool());
    // A device-less area has no pool and no queue to close: it goes once
    // no ring entry and no export stands for its ifq (nothing here reads
    // its memory; the engine frees the ifq on its own).
    const bool nodev_done = !a.pool && !ifq_in_use(a.real);
    if (pool_done || nodev_done) {
      a.pool.reset();
      release_area_memory(a);
      areas_.erase(areas_.begin() + static_cast<long>(i));
      continue;
    }
    i++;
  }
  const auto now = Clock::now();
  for (auto& s : sessions_)
    if (s->refuse && s->sock >= 0 && now >= s->refuse_until) close_session(*s);
  for (auto& s : sessions_) {
    if (s->dp && s->dp->broken() && !s->reported_broken) {
      s->reported_broken = true;
      rejects_closed_.rings_broken++;
      ZLOG(control, WARNING,
           "ring %" PRIu64 " of pid %d uid %u corrupted its SQ/CQ indices: no longer served\n",
           s->id, s->pid, s->uid);
    }
  }
}

// ---- message dispatch ------------------------------------------------------------

void Control::handle_message(Session& s) {
  alignas(8) uint8_t buf[proto::kMaxMsgSize + 8];
  proto::RecvdMsg m;
  int rc = proto::recv_msg(s.sock, buf, sizeof(buf), m, proto::kMaxFds, MSG_DONTWAIT);
  if (rc == -EAGAIN || rc == -EINTR) return;
  if (rc < 0 || m.len == 0) {
    proto::close_fds(m);
    close_session(s);
    return;
  }
  proto::MsgHeader hdr{};
  int result = (m.truncated || m.ctrunc) ? -EINVAL : proto::validate_request(buf, m.len, &hdr);
  if (m.len < sizeof(proto::MsgHeader)) {
    // Not even a header: nothing to answer to.
    proto::close_fds(m);
    close_session(s);
    return;
  }
  std::memcpy(&hdr, buf, sizeof(hdr));
  if (hdr.op == proto::kOpSqWakeup) {
    // No reply (proto.h); a malformed one is ignored.
    proto::close_fds(m);
    if (result == 0) wake_ring(s);
    return;
  }
  if (s.refuse) {
    // Over a ring limit: this answer is all the session gets.
    proto::close_fds(m);
    proto::ReplyHeader rh = proto::make_reply_header(hdr, s.refuse, 0);
    proto::send_msg(s.sock, &rh, sizeof(rh), nullptr, 0);
    close_session(s);
    return;
  }
  const uint8_t* body = buf + sizeof(proto::MsgHeader);
  alignas(8) uint8_t reply[proto::kMaxMsgSize];
  size_t body_len = 0;
  int fds[proto::kMaxFds] = {-1, -1};
  unsigned nfds = 0;
  int in_fd = m.nfds ? m.fds[0] : -1;
  if (result == 0 && hdr.op != proto::kOpCreateRing && !s.ctx) result = -EBADFD;
  if (result == 0) {
    uint8_t* out = reply + sizeof(proto::ReplyHeader);
    switch (hdr.op) {
      case proto::kOpCreateRing: {
        proto::CreateRingReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::CreateRingReply o;
        result = op_create_ring(s, r, &o, &fds[0]);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
          nfds = 1;
        }
        break;
      }
      case proto::kOpRegisterIfq: {
        proto::RegisterIfqReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::RegisterIfqReply o{};
        result = op_register_ifq(s, r, in_fd, &o, fds, &nfds);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
        }
        break;
      }
      case proto::kOpExport: {
        proto::CtrlReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_export(s, r.ctrl, &fds[0]);
        if (result == 0) nfds = 1;
        break;
      }
      case proto::kOpCtrl: {
        proto::CtrlReq r;
        std::memcpy(&r, body, sizeof(r));
        result = engine_->ctrl(s.ctx, r.ctrl);
        break;
      }
      case proto::kOpOpenFlow: {
        proto::OpenFlowReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::OpenFlowReply o{};
        result = op_open_flow(s, r, &o.handle);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
        }
        break;
      }
      case proto::kOpCloseFlow: {
        proto::CloseFlowReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_close_flow(s, r.handle);
        break;
      }
      case proto::kOpRegisterEventfd:
        result = op_register_eventfd(s, in_fd);
        break;
      case proto::kOpUnregisterEventfd:
        result = op_unregister_eventfd(s);
        break;
      case proto::kOpSocket: {
        proto::SocketReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::SocketReply o{};
        result = op_socket(s, r, &o.handle);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
        }
        break;
      }
      case proto::kOpBind: {
        proto::BindReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_bind(s, r);
        break;
      }
      case proto::kOpListen: {
        proto::ListenReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_listen(s, r);
        break;
      }
      case proto::kOpSockName: {
        proto::SockNameReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::SockNameReply o{};
        result = op_sockname(s, r, &o);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
        }
        break;
      }
      case proto::kOpCloseSocket: {
        proto::CloseSocketReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_close_socket(s, r);
        break;
      }
      case proto::kOpRegisterTx: {
        proto::TxRegionReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_register_tx(s, r, in_fd);
        break;
      }
      default:
        result = -EINVAL;
    }
  }
  // What the consumer passed is ours to close: an export fd kept open here
  // would keep its box alive forever.
  proto::close_fds(m);
  if (result < 0) {
    body_len = 0;
    for (unsigned i = 0; i < nfds; i++) close(fds[i]);
    nfds = 0;
  }
  if (result < 0) refused_by_errno_[-result]++;
  proto::ReplyHeader rh = proto::make_reply_header(hdr, result, body_len);
  std::memcpy(reply, &rh, sizeof(rh));
  proto::send_msg(s.sock, reply, rh.hdr.len, fds, nfds);
  // Ring region fds stay open (they name the ring); the rest were copies
  // for the consumer.
  for (unsigned i = 0; i < nfds; i++)
    if (fds[i] != s.ring_fd) close(fds[i]);
}

void Control::run(int signal_fd, void (*stop_datapath)(void*), void* arg) {
  using clock = std::chrono::steady_clock;
  auto next_stats = clock::now() + std::chrono::seconds(opt_.stats_seconds);
  std::vector<pollfd> pfds;
  telemetry_set_handler([this](const char* cmd, const char* params, rte_tel_data* d) {
    return telemetry(cmd, params, d);
  });
  tel_call_.attach();
  for (;;) {
    pfds.clear();
    pfds.push_back({signal_fd, POLLIN, 0});
    const bool accepting = Clock::now() >= accept_resume_;
    pfds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    pfds.push_back({tel_call_.fd(), POLLIN, 0});
    for (auto& s : sessions_) pfds.push_back({s->sock, POLLIN, 0});
    for (auto& e : exports_) pfds.push_back({e->our_end, POLLRDHUP, 0});
    int n = poll(pfds.data(), pfds.size(), kHousekeepingMs);
    if (n < 0 && errno != EINTR) break;
    if (pfds[0].revents) {
      signalfd_siginfo si;
      if (read(signal_fd, &si, sizeof(si)) > 0) break;
    }
    if (pfds[1].revents & POLLIN) accept_session();
    size_t i = 3;
    size_t nsess = pfds.size() - 3 - exports_.size();
    for (size_t k = 0; k < nsess; k++, i++) {
      Session& s = *sessions_[k];
      if (pfds[i].revents & POLLIN) handle_message(s);
      else if (pfds[i].revents & (POLLHUP | POLLERR)) close_session(s);
    }
    for (size_t k = 0; k < exports_.size() && i < pfds.size(); k++, i++) {
      // Every copy of the exported descriptor is closed: the box goes.
      if (pfds[i].revents & (POLLHUP | POLLRDHUP | POLLERR)) release_export(*exports_[k]);
    }
    // Reap what closed.
    for (size_t k = 0; k < sessions_.size();)
      if (sessions_[k]->sock < 0) sessions_.erase(sessions_.begin() + static_cast<long>(k));
      else k++;
    for (size_t k = 0; k < exports_.size();)
      if (!exports_[k]->box) exports_.erase(exports_.begin() + static_cast<long>(k));
      else k++;
    housekeeping();
    sample_rates();
    // Telemetry last: it sees this iteration's changes.
    if (pfds[2].revents & POLLIN) tel_call_.serve();
    if (opt_.stats_seconds && clock::now() >= next_stats) {
      print_stats("stats");
      next_stats += std::chrono::seconds(opt_.stats_seconds);
    }
  }
  // No telemetry from here on: what it reads is being torn down.
  tel_call_.detach();
  telemetry_set_handler(nullptr);
  stop_datapath(arg);
  // The loops ended: every TCP connection goes (RST), with the niovs and
  // mbufs its engine held, before sessions and areas are torn down.
  for (uint32_t k = 0; k < qs_->size(); k++) qs_->queue(k).dp.tcp_shutdown();
  // What consumers still held when we stopped; the teardown that follows
  // reclaims it, so the final line balances (outstanding 0).
  std::printf("zcrxd: stopping held_by_consumers=%" PRIu64 " rings=%zu\n", outstanding(),
              sessions_.size());
  teardown();
  print_stats("final");
}

void Control::teardown() {
  for (auto& s : sessions_)
    if (s->sock >= 0) close_session(*s);
  sessions_.clear();
  for (auto& e : exports_)
    if (e->box) release_export(*e);
  exports_.clear();
  housekeeping();
}

int Control::release_areas() {
  // After the port closed: whatever the PMD cached is back too.
  housekeeping();
  int missing = 0;
  const bool none_held = outstanding() == 0;
  for (auto& a : areas_) {
    // An in-area pool's buffers in net_af_xdp's fill ring never come back
    // (area_pool.h): with the port closed and no ring or engine holding
    // one, the rest are exactly those, taken back and said.
    if (a->pool && a->pool->in_area() && !a->pool->full() && none_held) {
      const uint32_t kept = a->pool->take_back_after_close();
      std::printf("zcrxd: area %u: %u buffers the port kept at close taken back\n", a->id,
                  kept);
    }
    if (a->pool && !a->pool->full()) {
      missing += static_cast<int>(a->pool->num_niovs() - a->pool->available());
      std::fprintf(stderr, "zcrxd: area %p: %u buffers never came back\n", a->map.base,
                   a->pool->num_niovs() - a->pool->available());
    }
    a->pool.reset();
    release_area_memory(*a);
  }
  areas_.clear();
  return missing;
}

}  // namespace zcrxd
