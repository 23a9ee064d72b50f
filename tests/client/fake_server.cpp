// SPDX-License-Identifier: MIT
#include "fake_server.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "zcrx/pattern.h"

using namespace zcrx;
using namespace zcrx::proto;

namespace fake {
namespace {

// The zcrxd half of the wakeup protocol in proto.h, in its fence-free
// form (ThreadSanitizer builds run this): a seq_cst RMW of the CQ tail
// after publishing it, then a seq_cst load of the bits; with
// kCqWakeTarget, only once the tail reached the consumer's target or the
// CQ is full. Clears the bits and returns true when the eventfd is due.
bool take_wakeup(void* ring_base, const RingRegionLayout& l) {
  auto* base = static_cast<char*>(ring_base);
  std::atomic_ref<uint32_t> flags(*reinterpret_cast<uint32_t*>(base + l.cq_off.flags));
  std::atomic_ref<uint32_t> tail_w(*reinterpret_cast<uint32_t*>(base + l.cq_off.tail));
  const uint32_t tail = tail_w.fetch_add(0, std::memory_order_seq_cst);
  const uint32_t f = flags.load(std::memory_order_seq_cst);
  if ((f & kCqNeedWakeup) == 0) return false;
  if ((f & kCqWakeTarget) && l.cq_off.resv1 != 0) {
    // relaxed: ordered by the seq_cst load of the bits that released it.
    const uint32_t target = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(
        base + l.cq_off.resv1)).load(std::memory_order_relaxed);
    const uint32_t head = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(
        base + l.cq_off.head)).load(std::memory_order_acquire);
    if (static_cast<int32_t>(tail - target) < 0 && tail - head < l.cq_entries) return false;
  }
  flags.fetch_and(~(kCqNeedWakeup | kCqWakeTarget), std::memory_order_relaxed);
  return true;
}

bool stat_of(int fd, dev_t* dev, ino_t* ino, off_t* size = nullptr) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  *dev = st.st_dev;
  *ino = st.st_ino;
  if (size) *size = st.st_size;
  return true;
}

// A shared memfd of `size` bytes mapped RW; -errno on failure.
int make_region(size_t size, void** base) {
  int fd = memfd_create("fake-region", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    close(fd);
    return -ENOMEM;
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return -ENOMEM;
  }
  *base = p;
  return fd;
}

// A read-only descriptor of the same memfd (what zcrxd hands to clones).
int reopen_read_only(int fd) {
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  return open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

}  // namespace

Area::~Area() {
  if (base) munmap(base, len);
  if (fd >= 0) close(fd);
}

Ifq::~Ifq() {
  if (rq_base) munmap(rq_base, rq_layout.size);
  if (rq_fd >= 0) close(rq_fd);
}

Session::~Session() {
  if (tx_map) munmap(const_cast<uint8_t*>(tx_map), tx_len);
  if (ring_base) munmap(ring_base, layout.size);
  if (ring_fd >= 0) close(ring_fd);
  if (efd >= 0) close(efd);
  if (sock >= 0) close(sock);
}

Server::~Server() {
  if (listen_fd_ >= 0) {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept
    if (acceptor_.joinable()) acceptor_.join();
    close(listen_fd_);
  }
  for (auto& s : sessions_) shutdown(s->sock, SHUT_RDWR);  // wakes recv
  for (auto& s : sessions_)
    if (s->thread.joinable()) s->thread.join();
  for (auto& e : exports_) close(e.our_end);
}

int Server::open_session() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -errno;
  add_session(sv[0]);
  return sv[1];
}

void Server::add_session(int sock) {
  auto s = std::make_unique<Session>();
  s->sock = sock;
  Session* raw = s.get();
  std::lock_guard lk(mu_);
  sessions_.push_back(std::move(s));
  raw->thread = std::thread([this, raw] { serve(raw); });
}

int Server::listen_on(const char* path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof(sa.sun_path)) return -ENAMETOOLONG;
  std::strcpy(sa.sun_path, path);
  int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (l < 0) return -errno;
  unlink(path);
  if (bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(l, 16) != 0) {
    int e = errno;
    close(l);
    return -e;
  }
  listen_fd_ = l;
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      add_session(c);
    }
  });
  return 0;
}

// Session closed (or its process died): like ring termination, every
// buffer its ifqs hold goes back to the free lists.
void Server::end_session(Session* s) {
  std::lock_guard lk(mu_);
  s->dead = true;
  s->requests.clear();
  for (auto& q : s->ifqs) {
    Area& a = *q->area;
    if (a.master == s) {  // the master ring is gone: no events, no stats
      a.master = nullptr;
      a.stats = nullptr;
    }
    for (uint32_t i = 0; i < a.owner.size(); i++)
      if (a.owner[i] == q.get()) {
        a.owner[i] = nullptr;
        a.free.push_back(i);
        dp_.reclaimed++;
      }
  }
}

void Server::set_hook(std::function<void(int, const MsgHeader&)> h) {
  std::lock_guard lk(mu_);
  hook_ = std::move(h);
}

void Server::serve(Session* s) {
  unsigned char buf[kMaxMsgSize + 1];
  for (;;) {
    RecvdMsg m;
    if (recv_msg(s->sock, buf, sizeof(buf), m) != 0 || m.len == 0) {
      end_session(s);
      return;
    }
    MsgHeader h{};
    if (m.len < sizeof(MsgHeader)) {  // garbage: end the session
      close_fds(m);
      shutdown(s->sock, SHUT_RDWR);
      return;
    }
    std::unique_lock lk(mu_);
    if (hook_) {
      auto hook = std::move(hook_);
      hook_ = nullptr;
      lk.unlock();
      std::memcpy(&h, buf, sizeof(h));
      close_fds(m);
      hook(s->sock, h);
      continue;
    }
    int res = m.truncated || m.ctrunc ? -EINVAL : validate_request(buf, m.len, &h);
    if (res == 0 && m.nfds < request_fds(h.op)) res = -EBADF;
    unsigned char body[kMaxMsgSize];
    size_t body_len = 0;
    int fds[kMaxFds] = {-1, -1};
    bool close_after[kMaxFds] = {false, false};
    unsigned nfds = 0;
    if (res == 0) {
      // Reuse `body` for the reply struct; handle() fills fds.
      res = handle(s, h, buf + sizeof(MsgHeader), m);
      if (res >= 0) {
        // handle() leaves the reply in the session scratch below.
        body_len = scratch_len_;
        std::memcpy(body, scratch_, body_len);
        nfds = scratch_nfds_;
        for (unsigned i = 0; i < nfds; i++) {
          fds[i] = scratch_fds_[i];
          close_after[i] = scratch_close_[i];
        }
      }
    }
    if (h.op < 16) served[h.op]++;
    lk.unlock();
    close_fds(m);
    unsigned char reply[kMaxMsgSize];
    ReplyHeader rh = make_reply_header(h, res, body_len);
    std::memcpy(reply, &rh, sizeof(rh));
    if (res >= 0) std::memcpy(reply + sizeof(rh), body, body_len);
    send_msg(s->sock, reply, rh.hdr.len, fds, res >= 0 ? nfds : 0);
    for (unsigned i = 0; i < nfds; i++)
      if (close_after[i]) close(fds[i]);
  }
}

int Server::handle(Session* s, const MsgHeader& h, const unsigned char* body, RecvdMsg& m) {
  scratch_len_ = 0;
  scratch_nfds_ = 0;
  auto reply = [&](const auto& r) {
    static_assert(sizeof(r) <= sizeof(scratch_));
    std::memcpy(scratch_, &r, sizeof(r));
    scratch_len_ = sizeof(r);
  };
  auto give_fd = [&](int fd, bool close_it) {
    scratch_fds_[scratch_nfds_] = fd;
    scratch_close_[scratch_nfds_] = close_it;
    scratch_nfds_++;
  };
  auto find_ifq = [](Session* ss, uint32_t id) -> Ifq* {
    for (auto& q : ss->ifqs)
      if (q->id == id) return q.get();
    return nullptr;
  };

  if (h.op != kOpCreateRing && !s->ring_base) return -EBADFD;
  switch (h.op) {
    case kOpCreateRing: {
      CreateRingReq req;
      std::memcpy(&req, body, sizeof(req));
      if (s->ring_base) return -EEXIST;
      uint32_t sq = round_ring_entries(req.sq_entries, kMaxSqEntries);
      uint32_t cq = req.cq_entries ? round_ring_entries(req.cq_entries, kMaxCqEntries) : 2 * sq;
      s->layout = ring_region_layout(sq, cq);
      int fd = make_region(s->layout.size, &s->ring_base);
      if (fd < 0) return fd;
      init_ring_region(s->ring_base, s->layout);
      s->ring_fd = fd;
      stat_of(fd, &s->ring_dev, &s->ring_ino);
      CreateRingReply rep{};
      rep.sq_off = s->layout.sq_off;
      rep.cq_off = s->layout.cq_off;
      rep.sqes_off = s->layout.sqes_off;
      rep.sq_entries = sq;
      rep.cq_entries = cq;
      rep.size = s->layout.size;
      reply(rep);
      give_fd(fd, false);
      return 0;
    }
    case kOpRegisterIfq: {
      RegisterIfqReq req;
      std::memcpy(&req, body, sizeof(req));
      last_register_ = req;
      const int fd = m.fds[0];
      std::shared_ptr<Area> area;
      uint32_t rq_entries = req.reg.rq_entries;
      bool shared = false;
      if ((req.reg.flags & ~uapi::kZcrxRegNodev) == 0) {  // fresh (NODEV too)
        dev_t dev;
        ino_t ino;
        off_t size;
        if (!stat_of(fd, &dev, &ino, &size)) return -EBADF;
        if (static_cast<uint64_t>(size) < req.area.addr + req.area.len) return -EINVAL;
        // As zcrxd: the consumer must not be able to shrink the area.
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) return -EINVAL;
        area = std::make_shared<Area>();
        area->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        void* p = mmap(nullptr, req.area.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       static_cast<off_t>(req.area.addr));
        if (p == MAP_FAILED) return -ENOMEM;
        area->base = static_cast<uint8_t*>(p);
        area->len = req.area.len;
        area->token = uapi::area_token(++next_area_);
        const uint32_t nbufs = static_cast<uint32_t>(area->len / kBufSize);
        for (uint32_t i = 0; i < nbufs; i++) area->free.push_back(nbufs - 1 - i);
        area->owner.assign(nbufs, nullptr);
        areas_.push_back(area);
      } else {
        dev_t dev;
        ino_t ino;
        if (!stat_of(fd, &dev, &ino)) return -EBADF;
        Session* src = nullptr;
        for (auto& other : sessions_)
          if (other->ring_base && other->ring_dev == dev && other->ring_ino == ino)
            src = other.get();
        if (src) {  // clone
          if (src == s) return -EBADFD;
          Ifq* sq = find_ifq(src, req.reg.if_rxq);
          if (!sq) return -EINVAL;
          area = sq->area;
        } else {
          for (auto& e : exports_)
            if (e.dev == dev && e.ino == ino) area = e.area;
          if (!area) return -EBADF;
          if (req.reg.if_rxq != 0 || req.reg.rq_entries != 0) return -EINVAL;
          rq_entries = 64;  // an importer's own RQ; the kernel shares one
        }
        shared = true;
      }
      uint32_t rq = round_ring_entries(rq_entries, kMaxRqEntries);
      if (rq == 0) return -EINVAL;
      const uapi::zcrx_event_desc ev = req.reg.event_desc ? req.event : uapi::zcrx_event_desc{};
      if (ev.type_mask & ~uapi::kZcrxEventTypeMask) return -EINVAL;
      if (ev.flags & ~uapi::kZcrxEventDescFlagStats) return -EINVAL;
      auto q = std::make_unique<Ifq>();
      q->id = s->next_id++;
      q->area = area;
      q->rq_layout = rq_region_layout(rq);
      q->rq_fd = make_region(q->rq_layout.size, &q->rq_base);
      if (q->rq_fd < 0) return q->rq_fd;
      q->rq = rq_consumer(q->rq_base, q->rq_layout.off, rq);
      if (ev.flags & uapi::kZcrxEventDescFlagStats) {
        if (ev.stats_offset != stats_offset(q->rq_layout)) {
          munmap(q->rq_base, q->rq_layout.size);
          close(q->rq_fd);
          return -ERANGE;
        }
        area->stats = reinterpret_cast<uapi::zcrx_stats*>(static_cast<char*>(q->rq_base) +
                                                          ev.stats_offset);
      }
      if (!shared) {
        area->event_mask = ev.type_mask;
        area->event_user_data = ev.user_data;
        if (ev.type_mask != 0) area->master = s;
      }
      RegisterIfqReply rep{};
      rep.reg = req.reg;
      rep.reg.zcrx_id = q->id;
      rep.reg.offsets = q->rq_layout.off;
      rep.reg.rq_entries = rq;
      rep.reg.rx_buf_len = req.reg.rx_buf_len ? req.reg.rx_buf_len : 4096;
      rep.area = req.area;
      rep.area.rq_area_token = area->token;
      if (shared) {
        rep.area.addr = 0;
        rep.area.len = area->len;
      }
      rep.rq_region_size = q->rq_layout.size;
      reply(rep);
      give_fd(q->rq_fd, false);
      if (shared) give_fd(reopen_read_only(area->fd), true);
      s->ifqs.push_back(std::move(q));
      return 0;
    }
    case kOpExport: {
      CtrlReq req;
      std::memcpy(&req, body, sizeof(req));
      Ifq* q = find_ifq(s, req.ctrl.zcrx_id);
      if (!q) return -ENXIO;
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -ENOMEM;
      Export e;
      e.our_end = sv[0];
      e.area = q->area;
      stat_of(sv[1], &e.dev, &e.ino);  // the exported end names the box
      exports_.push_back(e);
      give_fd(sv[1], true);
      exports_made++;
      return 0;
    }
    case kOpCtrl: {
      CtrlReq req;
      std::memcpy(&req, body, sizeof(req));
      Ifq* q = find_ifq(s, req.ctrl.zcrx_id);
      if (!q) return -ENXIO;
      if (req.ctrl.op == uapi::ZCRX_CTRL_ARM_EVENT) {
        const uint32_t t = req.ctrl.zc_arm_event.event_type;
        if (t >= uapi::__ZCRX_EVENT_TYPE_LAST || !(q->area->event_fired & (1u << t)))
          return -EINVAL;
        q->area->event_fired &= ~(1u << t);
        arms++;
        return 0;
      }
      flushes++;
      return 0;
    }
    case kOpOpenFlow: {
      OpenFlowReq req;
      std::memcpy(&req, body, sizeof(req));
      last_open_flow_ = req;
      Ifq* q = find_ifq(s, req.zcrx_id);
      if (!q) return -EINVAL;
      // Rings may join a flow group of the same real ifq (same area), not
      // one of another ifq.
      for (auto& other : sessions_)
        for (auto& f : other->flows)
          if (f.port == req.dst_port &&
              (f.group != q->area.get() || other.get() == s))
            return -EEXIST;
      uint32_t handle = 100 + next_flow_++;
      s->flows.push_back(Session::Flow{handle, req.dst_port, q->area.get()});
      reply(OpenFlowReply{handle, 0});
      return 0;
    }
    case kOpCloseFlow: {
      CloseFlowReq req;
      std::memcpy(&req, body, sizeof(req));
      for (size_t i = 0; i < s->flows.size(); i++)
        if (s->flows[i].handle == req.handle) {
          s->flows.erase(s->flows.begin() + static_cast<long>(i));
          return 0;
        }
      return -ENOENT;
    }
    case kOpSocket:
    case kOpBind:
    case kOpListen:
    case kOpSockName:
    case kOpRegisterTx:
      return handle_socket_op(s, h, body, m);
    case kOpRegisterEventfd:
      if (s->efd >= 0) return -EBUSY;
      s->efd = fcntl(m.fds[0], F_DUPFD_CLOEXEC, 0);
      return 0;
    case kOpUnregisterEventfd:
      if (s->efd < 0) return -ENXIO;
      close(s->efd);
      s->efd = -1;
      return 0;
  }
  return -EINVAL;
}

bool Server::post_raw(size_t si, const uapi::io_uring_cqe32& c) {
  std::lock_guard lk(mu_);
  Session& s = *sessions_.at(si);
  auto cq = cq_producer(s.ring_base, s.layout);
  return cq.push(c);
}

bool Server::raise_event(size_t si, uint32_t id, uint32_t type) {
  std::lock_guard lk(mu_);
  Area* area = nullptr;
  for (auto& q : sessions_.at(si)->ifqs)
    if (q->id == id) area = q->area.get();
  const uint32_t bit = 1u << type;
  if (!area || !(area->event_mask & bit) || !area->master || area->master->dead ||
      (area->event_fired & bit))
    return false;
  uapi::io_uring_cqe32 c{};
  c.cqe.user_data = area->event_user_data;
  c.cqe.res = static_cast<int32_t>(type);
  auto cq = cq_producer(area->master->ring_base, area->master->layout);
  if (!cq.push(c)) return false;  // CQ full: stays armed
  area->event_fired |= bit;
  return true;
}

bool Server::report_copy(size_t si, uint32_t id, uint32_t bytes) {
  {
    std::lock_guard lk(mu_);
    for (auto& q : sessions_.at(si)->ifqs)
      if (q->id == id && q->area->stats) {
        q->area->stats->copy_count += 1;
        q->area->stats->copy_bytes += bytes;
      }
  }
  return raise_event(si, id, uapi::ZCRX_EVENT_COPY);
}

bool Server::post(size_t si, uint32_t id, uint64_t offset, const uint8_t* payload, uint32_t len,
                  uint64_t user_data, uint32_t flags) {
  std::shared_ptr<Area> area;
  {
    std::lock_guard lk(mu_);
    Session& s = *sessions_.at(si);
    for (auto& q : s.ifqs)
      if (q->id == id) area = q->area;
  }
  if (!area || offset + len > area->len) return false;
  std::memcpy(area->base + offset, payload, len);
  uapi::io_uring_cqe32 c{};
  c.cqe.user_data = user_data;
  c.cqe.res = static_cast<int32_t>(len);
  c.cqe.flags = flags;
  c.zcqe.off = area->token | offset;
  return post_raw(si, c);
}

size_t Server::drain_rq(size_t si, uint32_t id, std::vector<uapi::io_uring_zcrx_rqe>& out) {
  std::lock_guard lk(mu_);
  Session& s = *sessions_.at(si);
  for (auto& q : s.ifqs) {
    if (q->id != id) continue;
    size_t n = 0;
    uapi::io_uring_zcrx_rqe e;
    while (q->rq.pop(e)) {
      out.push_back(e);
      n++;
    }
    return n;
  }
  return 0;
}

size_t Server::drain_sq(size_t si, std::vector<uapi::io_uring_sqe>& out) {
  std::lock_guard lk(mu_);
  Session& s = *sessions_.at(si);
  auto sq = sq_consumer(s.ring_base, s.layout);
  size_t n = 0;
  uapi::io_uring_sqe e;
  while (sq.pop(e)) {
    out.push_back(e);
    n++;
  }
  return n;
}

bool Server::maybe_wake(size_t si) {
  std::lock_guard lk(mu_);
  Session& s = *sessions_.at(si);
  if (s.efd < 0 || !take_wakeup(s.ring_base, s.layout)) return false;
  uint64_t one = 1;
  return write(s.efd, &one, sizeof(one)) == sizeof(one);
}

}  // namespace fake

// ---- datapath stand-in -------------------------------------------------------

namespace fake {
namespace {

bool post_cqe(CqProducer& cq, uint64_t user_data, int32_t res, uint32_t flags, uint64_t off = 0) {
  uapi::io_uring_cqe32 c{};
  c.cqe.user_data = user_data;
  c.cqe.res = res;
  c.cqe.flags = flags;
  c.zcqe.off = off;
  return cq.push(c);
}

}  // namespace

size_t Server::armed() {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (auto& s : sessions_) n += s->dead ? 0 : s->requests.size();
  return n;
}

DatapathStats Server::datapath_stats() {
  std::lock_guard lk(mu_);
  DatapathStats d = dp_;
  d.outstanding = 0;
  for (auto& a : areas_) d.outstanding += a->owner.size() - a->free.size();
  return d;
}

unsigned Server::pump(unsigned budget, uint64_t* seq, uint64_t corrupt_seq) {
  std::lock_guard lk(mu_);
  // SQs and RQs first, as zcrxd's lcore does each loop iteration.
  for (auto& sp : sessions_) {
    Session& s = *sp;
    if (s.dead || !s.ring_base) continue;
    auto sq = sq_consumer(s.ring_base, s.layout);
    auto cq = cq_producer(s.ring_base, s.layout);
    uapi::io_uring_sqe e;
    while (sq.pop(e)) {
      if (e.opcode == uapi::kOpRecvZc) {
        Ifq* q = nullptr;
        for (auto& qq : s.ifqs)
          if (qq->id == e.zcrx_ifq_idx) q = qq.get();
        bool flow_ok = false;
        for (auto& f : s.flows) flow_ok |= static_cast<int32_t>(f.handle) == e.fd;
        if (!flow_ok)
          dp_.cq_full += !post_cqe(cq, e.user_data, -EBADF, 0);
        else if (!q || !(e.ioprio & uapi::kRecvMultishot))
          dp_.cq_full += !post_cqe(cq, e.user_data, -EINVAL, 0);
        else
          s.requests.push_back(Session::Request{e.user_data, q, e.len, e.len != 0});
      } else if (e.opcode == uapi::kOpNop) {
        dp_.cq_full += !post_cqe(cq, e.user_data, 0, 0);
      } else if (e.opcode == uapi::kOpAsyncCancel) {
        int32_t res = -ENOENT;
        for (size_t i = 0; i < s.requests.size(); i++)
          if (s.requests[i].user_data == e.addr) {
            dp_.cq_full += !post_cqe(cq, e.addr, -ECANCELED, 0);
            s.requests.erase(s.requests.begin() + static_cast<long>(i));
            res = 0;
            break;
          }
        dp_.cq_full += !post_cqe(cq, e.user_data, res, 0);
      } else {
        dp_.cq_full += !post_cqe(cq, e.user_data, -EINVAL, 0);
      }
    }
    for (auto& q : s.ifqs) {
      Area& a = *q->area;
      uapi::io_uring_zcrx_rqe r;
      while (q->rq.pop(r)) {
        uint64_t off = uapi::area_offset_of(r.off);
        uint64_t idx = off / kBufSize;
        if ((r.off & uapi::kZcrxAreaMask) != a.token || idx >= a.owner.size() ||
            a.owner[idx] != q.get()) {
          dp_.bad_refills++;
          continue;
        }
        a.owner[idx] = nullptr;
        a.free.push_back(static_cast<uint32_t>(idx));
        dp_.refilled++;
      }
    }
  }
  // Deliveries, one per armed request per round.
  unsigned delivered = 0;
  for (bool progress = true; budget > 0 && progress;) {
    progress = false;
    for (auto& sp : sessions_) {
      Session& s = *sp;
      if (s.dead || !s.ring_base) continue;
      auto cq = cq_producer(s.ring_base, s.layout);
      bool posted = false;
      for (size_t i = 0; i < s.requests.size() && budget > 0;) {
        auto& r = s.requests[i];
        Area& a = *r.ifq->area;
        const uint32_t parts = split_parts < 1 ? 1 : split_parts;
        if (cq.free_slots(parts) < parts) {
          dp_.cq_full++;
          break;
        }
        if (a.free.size() < parts) {
          i++;
          continue;
        }
        uint32_t len = fixed_len ? fixed_len : 64 + static_cast<uint32_t>(*seq % 1400);
        if (r.limited && len > r.len_left) len = r.len_left;
        // The datagram, then one buffer and one CQE per part, as zcrxd
        // delivers one larger than a buffer; the last CQE ends it.
        std::vector<uint8_t> dgram(len);
        pattern::fill(dgram.data(), len, *seq);
        if (*seq == corrupt_seq) dgram[len - 1] ^= 0x5a;
        const uint32_t step = (len + parts - 1) / parts;
        for (uint32_t at = 0; at < len;) {
          const uint32_t n = len - at < step ? len - at : step;
          const uint32_t idx = a.free.back();
          const uint64_t off = uint64_t{idx} * kBufSize + kPayloadOffset;
          std::memcpy(a.base + off, dgram.data() + at, n);
          at += n;
          const uint32_t flags = uapi::kCqeFMore | (at == len ? proto::kCqeFDatagramEnd : 0u);
          post_cqe(cq, r.user_data, static_cast<int32_t>(n), flags, a.token | off);
          a.free.pop_back();
          a.owner[idx] = r.ifq;
          dp_.delivered++;
        }
        (*seq)++;
        budget--;
        delivered++;
        posted = progress = true;
        if (r.limited) {
          r.len_left -= len;
          if (r.len_left == 0) {
            dp_.cq_full += !post_cqe(cq, r.user_data, 0, 0);
            s.requests.erase(s.requests.begin() + static_cast<long>(i));
            continue;
          }
        }
        i++;
      }
      if (posted && s.efd >= 0) {
        if (take_wakeup(s.ring_base, s.layout)) {
          uint64_t one = 1;
          (void)!write(s.efd, &one, sizeof(one));
        }
      }
    }
  }
  return delivered;
}

}  // namespace fake
