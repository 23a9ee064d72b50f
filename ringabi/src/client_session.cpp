// SPDX-License-Identifier: MIT
// libzcrx control path: the session with zcrxd, ring creation, ifq
// registration/clone/import/export, flows and the eventfd.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "zcrx/client.h"

namespace zcrx {
namespace {

using namespace proto;

// Largest region zcrxd may hand us: well above any valid geometry (a full
// 32k SQ + 64k CQE32 ring is ~4 MiB), low enough that a lying size cannot
// make us map absurd amounts.
constexpr uint64_t kMaxRegion = uint64_t{1} << 30;

// Checks that `fd` is a file of at least `end` bytes (a short memfd would
// make our mapping fault with SIGBUS on first touch).
bool file_covers(int fd, uint64_t end) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
         static_cast<uint64_t>(st.st_size) >= end;
}

constexpr bool is_pow2_u32(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

Ring::~Ring() {
  ifqs_.clear();
  if (tx_base_) munmap(tx_base_, tx_len_);
  if (ring_base_) munmap(ring_base_, layout_.size);
  if (ring_fd_ >= 0) close(ring_fd_);
  if (epfd_ >= 0) close(epfd_);
  if (efd_ >= 0) close(efd_);
  if (sock_ >= 0) close(sock_);
}

int Ring::connect(const char* path) {
  if (sock_ >= 0) return -EISCONN;
  std::string p = path ? std::string(path) : default_socket_path();
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (p.empty() || p.size() >= sizeof(sa.sun_path)) return -ENAMETOOLONG;
  std::memcpy(sa.sun_path, p.c_str(), p.size() + 1);
  int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  if (::connect(s, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) < 0) {
    int e = errno;
    close(s);
    return -e;
  }
  sock_ = s;
  return 0;
}

int Ring::attach(int sock) {
  if (sock_ >= 0) return -EISCONN;
  if (sock < 0) return -EBADF;
  sock_ = sock;
  return 0;
}

bool Ring::session_alive() const {
  if (sock_ < 0) return false;
  pollfd p{sock_, POLLRDHUP, 0};
  if (poll(&p, 1, 0) < 0) return true;  // EINTR and friends: no news
  return (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) == 0;
}

void Ring::wake_sq() {
  if (sock_ < 0) return;
  Request<SqWakeupReq> r{make_header(kOpSqWakeup, ++seq_), SqWakeupReq{0, 0}};
  ssize_t n;
  do {
    n = ::send(sock_, &r, sizeof(r), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
}

int Ring::call(uint16_t op, const void* req_body, size_t req_len, const int* fds_in,
               unsigned nfds_in, void* reply_body, size_t reply_len, int* fds_out,
               unsigned min_fds_out, unsigned max_fds_out) {
  for (unsigned i = 0; i < max_fds_out; i++) fds_out[i] = -1;
  if (sock_ < 0) return -ENOTCONN;
  if (control_stuck_) return -ETIMEDOUT;
  unsigned char buf[kMaxMsgSize];
  const MsgHeader h = make_header(op, ++seq_);
  if (h.len != sizeof(MsgHeader) + req_len || h.len > sizeof(buf)) return -EINVAL;
  std::memcpy(buf, &h, sizeof(h));
  std::memcpy(buf + sizeof(h), req_body, req_len);
  if (int r = send_msg(sock_, buf, h.len, fds_in, nfds_in)) return r;

  pollfd pfd{sock_, POLLIN, 0};
  int pr;
  do {
    pr = poll(&pfd, 1, control_timeout_ms_);
  } while (pr < 0 && errno == EINTR);
  if (pr < 0) return -errno;
  if (pr == 0) {
    control_stuck_ = true;
    return -ETIMEDOUT;
  }
  // One spare byte: an oversized reply shows up as a wrong length.
  unsigned char rbuf[kMaxMsgSize + 1];
  RecvdMsg m;
  if (int r = recv_msg(sock_, rbuf, sizeof(rbuf), m, max_fds_out)) return r;
  if (m.len == 0) return -ECONNRESET;  // zcrxd ended the session
  int32_t result = 0;
  if (m.truncated || m.ctrunc || validate_reply(rbuf, m.len, op, seq_, &result) != 0) {
    close_fds(m);
    return -EPROTO;
  }
  if (result < 0) {
    close_fds(m);
    return result;
  }
  if (m.nfds < min_fds_out || m.len != sizeof(ReplyHeader) + reply_len) {
    close_fds(m);
    return -EPROTO;
  }
  if (reply_len) std::memcpy(reply_body, rbuf + sizeof(ReplyHeader), reply_len);
  for (unsigned i = 0; i < m.nfds; i++) fds_out[i] = m.fds[i];
  return result;
}

int Ring::create(uint32_t sq_entries, uint32_t cq_entries) {
  if (sock_ < 0) return -ENOTCONN;
  if (ring_base_) return -EEXIST;
  CreateRingReq req{sq_entries, cq_entries, 0, 0};
  CreateRingReply rep{};
  int fd;
  int r = call(kOpCreateRing, &req, sizeof(req), nullptr, 0, &rep, sizeof(rep), &fd, 1, 1);
  if (r < 0) return r;
  RingRegionLayout l;
  l.sq_off = rep.sq_off;
  l.cq_off = rep.cq_off;
  l.sqes_off = rep.sqes_off;
  l.sq_entries = rep.sq_entries;
  l.cq_entries = rep.cq_entries;
  l.size = static_cast<size_t>(rep.size);
  if (rep.size == 0 || rep.size > kMaxRegion || rep.size % 4096 != 0 || rep.resv != 0 ||
      validate_ring_region(l, l.size) != 0 || !file_covers(fd, rep.size)) {
    close(fd);
    return -EPROTO;
  }
  void* base = mmap(nullptr, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    int e = errno;
    close(fd);
    return -e;
  }
  sq_ = sq_producer(base, l);
  cq_ = cq_consumer(base, l);
  if (sq_.state() != RingState::ok) {
    munmap(base, l.size);
    close(fd);
    sq_ = {};
    cq_ = {};
    return -EPROTO;
  }
  ring_base_ = base;
  ring_fd_ = fd;
  layout_ = l;
  return 0;
}

int Ring::add_ifq(const RegisterIfqReply& rep, int rq_fd, int area_fd, uint8_t* own_area,
                  size_t own_len, Ifq** out) {
  const auto& reg = rep.reg;
  const uint64_t token = rep.area.rq_area_token;
  uint32_t rx_buf_len = reg.rx_buf_len ? reg.rx_buf_len : 4096;
  if (rep.rq_region_size == 0 || rep.rq_region_size > kMaxRegion || rep.resv != 0 ||
      (token & ~uapi::kZcrxAreaMask) != 0 || !is_pow2_u32(rx_buf_len) ||
      validate_rq_region(reg.offsets, reg.rq_entries, rep.rq_region_size) != 0 ||
      !file_covers(rq_fd, rep.rq_region_size) || reg.zcrx_id > INT_MAX ||
      ifq(reg.zcrx_id) != nullptr)
    return -EPROTO;

  std::unique_ptr<Ifq> q(new Ifq);
  q->id_ = reg.zcrx_id;
  q->area_token_ = token;
  q->rx_buf_len_ = rx_buf_len;
  q->rq_entries_ = reg.rq_entries;
  if (area_fd >= 0) {
    const uint64_t off = rep.area.addr, len = rep.area.len;
    if (len == 0 || len > (uint64_t{1} << 40) || off % 4096 != 0 || len % 4096 != 0 ||
        off > UINT64_MAX - len || !file_covers(area_fd, off + len))
      return -EPROTO;
    // Another ring's area: we read payloads, never write them.
    void* a = mmap(nullptr, len, PROT_READ, MAP_SHARED, area_fd, static_cast<off_t>(off));
    if (a == MAP_FAILED) return -errno;
    q->area_ = static_cast<uint8_t*>(a);
    q->area_len_ = len;
    q->shared_ = true;
  } else {
    q->area_ = own_area;
    q->area_len_ = own_len;
  }
  void* rq = mmap(nullptr, rep.rq_region_size, PROT_READ | PROT_WRITE, MAP_SHARED, rq_fd, 0);
  if (rq == MAP_FAILED) {
    int e = errno;
    if (q->shared_) munmap(q->area_, q->area_len_);
    q->area_ = nullptr;  // an own area stays the caller's to undo
    return -e;
  }
  q->rq_base_ = rq;
  q->rq_size_ = rep.rq_region_size;
  q->rq_off_ = reg.offsets;
  q->rq_ = rq_producer(rq, reg.offsets, reg.rq_entries);
  if (q->rq_.state() != RingState::ok) {
    if (!q->shared_) q->area_ = nullptr;
    return -EPROTO;  // ~Ifq unmaps what it holds
  }
  q->rq_fd_ = rq_fd;
  *out = q.get();
  ifqs_.push_back(std::move(q));
  return static_cast<int>(reg.zcrx_id);
}

int Ring::register_ifq(const IfqParams& p, Ifq** out) {
  if (sock_ < 0) return -ENOTCONN;
  const size_t g = area_granule(p.hugetlb);
  if (p.area_len == 0 || p.area_len > SIZE_MAX - g) return -EINVAL;
  const size_t len = (p.area_len + g - 1) / g * g;
  const bool made = p.area_fd == kAreaMadeByZcrxd;
  if (made && p.hugetlb) return -EINVAL;  // zcrxd makes a plain memfd
  int afd = -1;
  if (made) {
    // zcrxd creates the area and sends it back (proto.h).
  } else if (p.area_fd >= 0) {
    afd = fcntl(p.area_fd, F_DUPFD_CLOEXEC, 0);
    if (afd < 0) return -errno;
    if (!file_covers(afd, len)) {
      close(afd);
      return -EINVAL;
    }
  } else {
    afd = create_area_fd(len, p.hugetlb);
    if (afd < 0) return afd;
  }
  RegisterIfqReq req{};
  req.reg.if_rxq = p.queue;
  req.reg.rq_entries = p.rq_entries;
  req.reg.rx_buf_len = p.rx_buf_len;
  req.area.addr = 0;
  req.area.len = len;
  req.area.flags = made ? kAreaFlagZcrxdMade : 0;
  req.port = p.port;
  if (p.nodev) {
    req.reg.flags = uapi::kZcrxRegNodev;
    req.reg.if_rxq = 0;
    req.port = 0;
  }
  const bool events = p.event_mask != 0 || p.event_stats;
  if (events) {
    // The kernel reads the descriptor through this pointer; zcrxd gets
    // the descriptor by value and only tests the pointer for zero.
    req.reg.event_desc = reinterpret_cast<uintptr_t>(&req.event);
    req.event.user_data = p.event_user_data;
    req.event.type_mask = p.event_mask;
    if (p.event_stats) {
      req.event.flags = uapi::kZcrxEventDescFlagStats;
      req.event.stats_offset = stats_offset_for(p.rq_entries);
    }
  }
  RegisterIfqReply rep{};
  int rq_fd;
  int r;
  if (made) {
    int fds[2];
    r = call(kOpRegisterIfq, &req, sizeof(req), nullptr, 0, &rep, sizeof(rep), fds, 2, 2);
    if (r < 0) return r;
    if (rep.area.flags != kAreaFlagZcrxdMade || rep.area.addr != 0 || rep.area.len != len) {
      close(fds[0]);
      close(fds[1]);
      return -EPROTO;
    }
    // Mapped read-only like a shared area (zcrxd sealed it against every
    // writer), but this ring registered it: not shared_area().
    r = add_ifq(rep, fds[0], fds[1], nullptr, 0, out);
    close(fds[1]);
    if (r < 0) {
      close(fds[0]);
      return r;
    }
    (*out)->shared_ = false;
    finish_register(p, req, *out);
    return r;
  }
  r = call(kOpRegisterIfq, &req, sizeof(req), &afd, 1, &rep, sizeof(rep), &rq_fd, 1, 1);
  if (r < 0) {
    close(afd);
    return r;
  }
  // zcrxd populated the pages and sealed the memfd against new writable
  // mappings (F_SEAL_FUTURE_WRITE): we read payloads, zcrxd writes them.
  void* base = mmap(nullptr, len, PROT_READ, MAP_SHARED, afd, 0);
  const int map_errno = errno;
  close(afd);  // zcrxd holds its own reference; the mapping keeps ours alive
  if (base == MAP_FAILED) {
    close(rq_fd);
    return -map_errno;  // the ifq stays registered until the ring closes
  }
  r = add_ifq(rep, rq_fd, -1, static_cast<uint8_t*>(base), len, out);
  if (r >= 0) {
    finish_register(p, req, *out);
    return r;
  }
  close(rq_fd);
  munmap(base, len);
  return r;
}

void Ring::finish_register(const IfqParams& p, const RegisterIfqReq& req, Ifq* q) {
  q->event_mask_ = req.event.type_mask;
  q->event_user_data_ = req.event.user_data;
  const uint64_t so = req.event.stats_offset;
  if (p.event_stats && so != 0 && so % alignof(uapi::zcrx_stats) == 0 &&
      so <= q->rq_size_ - sizeof(uapi::zcrx_stats))
    q->stats_ = reinterpret_cast<uapi::zcrx_stats*>(static_cast<char*>(q->rq_base_) + so);
}

int Ring::register_shared(uint32_t flags, int fd, uint32_t if_rxq, uint32_t rq_entries,
                          Ifq** out) {
  if (sock_ < 0) return -ENOTCONN;
  if (fd < 0) return -EBADF;
  RegisterIfqReq req{};
  req.reg.flags = flags;
  req.reg.if_rxq = if_rxq;
  req.reg.rq_entries = rq_entries;
  RegisterIfqReply rep{};
  int fds[2];
  int r = call(kOpRegisterIfq, &req, sizeof(req), &fd, 1, &rep, sizeof(rep), fds, 2, 2);
  if (r < 0) return r;
  r = add_ifq(rep, fds[0], fds[1], nullptr, 0, out);
  // The shared area stays mapped without its fd; the RQ fd is kept on
  // success (owned by the Ifq) and closed on failure.
  close(fds[1]);
  if (r < 0) close(fds[0]);
  return r;
}

int Ring::import_ifq(int export_fd, Ifq** out) {
  return register_shared(uapi::kZcrxRegImport, export_fd, 0, 0, out);
}

int Ring::clone_ifq(int src_ring_fd, uint32_t src_zcrx_id, uint32_t rq_entries, Ifq** out) {
  return register_shared(uapi::kZcrxIfqRegClone, src_ring_fd, src_zcrx_id, rq_entries, out);
}

Ifq* Ring::ifq(uint32_t id) const {
  for (const auto& q : ifqs_)
    if (q->id() == id) return q.get();
  return nullptr;
}

int Ring::export_ifq(uint32_t zcrx_id) {
  CtrlReq req{};
  req.ctrl.zcrx_id = zcrx_id;
  req.ctrl.op = uapi::ZCRX_CTRL_EXPORT;
  int fd;
  int r = call(kOpExport, &req, sizeof(req), nullptr, 0, nullptr, 0, &fd, 1, 1);
  return r < 0 ? r : fd;
}

int Ring::flush_rq(uint32_t zcrx_id) {
  CtrlReq req{};
  req.ctrl.zcrx_id = zcrx_id;
  req.ctrl.op = uapi::ZCRX_CTRL_FLUSH_RQ;
  return call(kOpCtrl, &req, sizeof(req), nullptr, 0, nullptr, 0, nullptr, 0, 0);
}

int Ring::arm_event(uint32_t zcrx_id, uint32_t type) {
  CtrlReq req{};
  req.ctrl.zcrx_id = zcrx_id;
  req.ctrl.op = uapi::ZCRX_CTRL_ARM_EVENT;
  req.ctrl.zc_arm_event.event_type = type;
  return call(kOpCtrl, &req, sizeof(req), nullptr, 0, nullptr, 0, nullptr, 0, 0);
}

int Ring::open_flow(uint32_t zcrx_id, const FlowSpec& f) {
  OpenFlowReq req{};
  req.zcrx_id = zcrx_id;
  req.kind = f.kind;
  req.ip_version = f.ip_version;
  std::memcpy(req.src_addr, f.src_addr, 16);
  std::memcpy(req.dst_addr, f.dst_addr, 16);
  req.src_port = f.src_port;
  req.dst_port = f.dst_port;
  OpenFlowReply rep{};
  int r = call(kOpOpenFlow, &req, sizeof(req), nullptr, 0, &rep, sizeof(rep), nullptr, 0, 0);
  if (r < 0) return r;
  // The handle travels in the SQE's signed fd field.
  if (rep.handle > INT_MAX || rep.resv != 0) return -EPROTO;
  return static_cast<int>(rep.handle);
}

int Ring::close_flow(uint32_t handle) {
  CloseFlowReq req{handle, 0};
  return call(kOpCloseFlow, &req, sizeof(req), nullptr, 0, nullptr, 0, nullptr, 0, 0);
}

int Ring::enable_eventfd() {
  if (efd_ >= 0) return -EBUSY;
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return -errno;
  // Edge-triggered: every eventfd write by zcrxd queues one event, which
  // one epoll_pwait2 consumes; the counter itself is never read (a sleep
  // costs one system call, not a poll and a read).
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) < 0) {
    const int e = errno;
    if (epfd >= 0) close(epfd);
    close(efd);
    return -e;
  }
  EventfdReq req{};
  int r = call(kOpRegisterEventfd, &req, sizeof(req), &efd, 1, nullptr, 0, nullptr, 0, 0);
  if (r < 0) {
    close(epfd);
    close(efd);
    return r;
  }
  efd_ = efd;
  epfd_ = epfd;
  return 0;
}

int Ring::disable_eventfd() {
  if (efd_ < 0) return -ENXIO;
  EventfdReq req{};
  int r = call(kOpUnregisterEventfd, &req, sizeof(req), nullptr, 0, nullptr, 0, nullptr, 0, 0);
  if (r < 0) return r;
  close(epfd_);
  epfd_ = -1;
  close(efd_);
  efd_ = -1;
  return 0;
}

int create_area_fd(size_t len, bool hugetlb) {
  if (len == 0 || len % area_granule(hugetlb) != 0) return -EINVAL;
  // Sealable: zcrxd seals it against shrinking and against writes from
  // anyone but itself once it has mapped it (see proto.h REGISTER_IFQ).
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | (hugetlb ? MFD_HUGETLB : 0);
  int fd = memfd_create("zcrx-area", flags);
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(len)) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int create_area(size_t len, bool hugetlb, void** base) {
  int fd = create_area_fd(len, hugetlb);
  if (fd < 0) return fd;
  // MAP_POPULATE: fault the pages in now, not on the first packet (and
  // report a hugepage shortage here rather than as SIGBUS later).
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return -e;
  }
  *base = p;
  return fd;
}

}  // namespace zcrx
