// SPDX-License-Identifier: MIT
#include "fake_server.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

using namespace zcrx;
using namespace zcrx::proto;

namespace fake {
namespace {

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
  if (ring_base) munmap(ring_base, layout.size);
  if (ring_fd >= 0) close(ring_fd);
  if (efd >= 0) close(efd);
  if (sock >= 0) close(sock);
}

Server::~Server() {
  for (auto& s : sessions_) shutdown(s->sock, SHUT_RDWR);  // wakes recv
  for (auto& s : sessions_)
    if (s->thread.joinable()) s->thread.join();
  for (auto& e : exports_) close(e.our_end);
}

int Server::open_session() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -errno;
  auto s = std::make_unique<Session>();
  s->sock = sv[0];
  Session* raw = s.get();
  {
    std::lock_guard lk(mu_);
    sessions_.push_back(std::move(s));
  }
  raw->thread = std::thread([this, raw] { serve(raw); });
  return sv[1];
}

void Server::set_hook(std::function<void(int, const MsgHeader&)> h) {
  std::lock_guard lk(mu_);
  hook_ = std::move(h);
}

void Server::serve(Session* s) {
  unsigned char buf[kMaxMsgSize + 1];
  for (;;) {
    RecvdMsg m;
    if (recv_msg(s->sock, buf, sizeof(buf), m) != 0 || m.len == 0) return;
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
      const int fd = m.fds[0];
      std::shared_ptr<Area> area;
      uint32_t rq_entries = req.reg.rq_entries;
      bool shared = false;
      if (req.reg.flags == 0) {
        dev_t dev;
        ino_t ino;
        off_t size;
        if (!stat_of(fd, &dev, &ino, &size)) return -EBADF;
        if (static_cast<uint64_t>(size) < req.area.addr + req.area.len) return -EINVAL;
        area = std::make_shared<Area>();
        area->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        void* p = mmap(nullptr, req.area.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       static_cast<off_t>(req.area.addr));
        if (p == MAP_FAILED) return -ENOMEM;
        area->base = static_cast<uint8_t*>(p);
        area->len = req.area.len;
        area->token = uapi::area_token(++next_area_);
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
      auto q = std::make_unique<Ifq>();
      q->id = s->next_id++;
      q->area = area;
      q->rq_layout = rq_region_layout(rq);
      q->rq_fd = make_region(q->rq_layout.size, &q->rq_base);
      if (q->rq_fd < 0) return q->rq_fd;
      q->rq = rq_consumer(q->rq_base, q->rq_layout.off, rq);
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
      if (!find_ifq(s, req.ctrl.zcrx_id)) return -ENXIO;
      flushes++;
      return 0;
    }
    case kOpOpenFlow: {
      OpenFlowReq req;
      std::memcpy(&req, body, sizeof(req));
      if (!find_ifq(s, req.zcrx_id)) return -EINVAL;
      for (auto& other : sessions_)
        for (auto& f : other->flows)
          if (f.second == req.dst_port) return -EEXIST;
      uint32_t handle = 100 + static_cast<uint32_t>(s->flows.size());
      s->flows.emplace_back(handle, req.dst_port);
      reply(OpenFlowReply{handle, 0});
      return 0;
    }
    case kOpCloseFlow: {
      CloseFlowReq req;
      std::memcpy(&req, body, sizeof(req));
      for (size_t i = 0; i < s->flows.size(); i++)
        if (s->flows[i].first == req.handle) {
          s->flows.erase(s->flows.begin() + static_cast<long>(i));
          return 0;
        }
      return -ENOENT;
    }
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

bool Server::post(size_t si, uint32_t id, uint64_t offset, const uint8_t* payload, uint32_t len,
                  uint64_t user_data) {
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
  c.cqe.flags = uapi::kCqeFMore;
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
  auto* w = reinterpret_cast<uint32_t*>(static_cast<char*>(s.ring_base) + s.layout.cq_off.flags);
  std::atomic_ref<uint32_t> flags(*w);
  // seq_cst fence between our CQ tail store (post) and reading the bit:
  // the zcrxd half of the protocol in proto.h.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if ((flags.load(std::memory_order_relaxed) & kCqNeedWakeup) == 0 || s.efd < 0) return false;
  flags.fetch_and(~kCqNeedWakeup, std::memory_order_relaxed);
  uint64_t one = 1;
  return write(s.efd, &one, sizeof(one)) == sizeof(one);
}

}  // namespace fake
