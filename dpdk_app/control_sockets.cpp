// SPDX-License-Identifier: MIT
// Control ops on TCP sockets (proto.h "TCP sockets"): SOCKET, BIND,
// LISTEN, SOCKNAME, CLOSE_SOCKET, REGISTER_TX, and a session's sockets going away. The
// socket table and the engine belong to the datapath of the ring's queue:
// each op runs there (Datapath::run_call) and control waits for it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "control.h"
#include "tcp_stack.h"

namespace zcrxd {

namespace proto = zcrx::proto;

TcpStack* Control::ring_tcp(Session& s) {
  // Sockets fix a ring without entries to the first queue (proto.h): an
  // entry on another queue is refused from then on (check_ring_queue).
  TcpStack* tcp = qs_->queue(ring_queue(s)).dp.tcp();
  if (tcp && s.queue < 0) assign_ring(s, 0);
  return tcp;
}

SocketTable* Control::ring_sockets(Session& s, TcpStack* tcp) {
  if (!s.socks) {
    s.socks = std::make_unique<SocketTable>();
    SocketTable* t = s.socks.get();
    RingDp* dp = s.dp.get();
    qs_->queue(ring_queue(s)).dp.run_call([&] { dp->set_sockets(t, tcp); });
  }
  return s.socks.get();
}

int Control::op_socket(Session& s, const proto::SocketReq& r, uint32_t* handle) {
  TcpStack* tcp = ring_tcp(s);
  if (int rc = check_socket_args(r.domain, r.type, r.protocol, tcp != nullptr)) return rc;
  SocketTable* t = ring_sockets(s, tcp);
  int rc = 0;
  RingDp* dp = s.dp.get();
  qs_->queue(ring_queue(s)).dp.run_call([&] { rc = tcp->op_socket(*dp, *t); });
  if (rc >= 0) *handle = static_cast<uint32_t>(rc);
  return rc < 0 ? rc : 0;
}

int Control::op_bind(Session& s, const proto::BindReq& r) {
  TcpStack* tcp = ring_tcp(s);
  if (!tcp || !s.socks) return -EBADF;
  int rc = 0;
  SocketTable* t = s.socks.get();
  qs_->queue(ring_queue(s)).dp.run_call(
      [&] { rc = tcp->op_bind(*t, r.handle, __builtin_bswap32(r.addr), r.port); });
  return rc;
}

int Control::op_listen(Session& s, const proto::ListenReq& r) {
  TcpStack* tcp = ring_tcp(s);
  if (!tcp || !s.socks) return -EBADF;
  int rc = 0;
  SocketTable* t = s.socks.get();
  qs_->queue(ring_queue(s)).dp.run_call([&] { rc = tcp->op_listen(*t, r.handle, r.backlog); });
  return rc;
}

int Control::op_sockname(Session& s, const proto::SockNameReq& r, proto::SockNameReply* out) {
  TcpStack* tcp = ring_tcp(s);
  if (!tcp || !s.socks) return -EBADF;
  int rc = 0;
  SocketTable* t = s.socks.get();
  qs_->queue(ring_queue(s)).dp.run_call([&] { rc = tcp->op_sockname(*t, r.handle, out); });
  return rc;
}

int Control::op_close_socket(Session& s, const proto::CloseSocketReq& r) {
  // A ring that never made a socket has none to close.
  if (!s.socks) return -EBADF;
  TcpStack* tcp = ring_tcp(s);
  if (!tcp) return -EBADF;
  int rc = 0;
  SocketTable* t = s.socks.get();
  qs_->queue(ring_queue(s)).dp.run_call([&] { rc = tcp->op_close(*t, r.handle); });
  return rc;
}

int Control::op_register_tx(Session& s, const proto::TxRegionReq& r, int fd) {
  TcpStack* tcp = ring_tcp(s);
  if (!tcp) return -EAFNOSUPPORT;
  if (fd < 0) return -EBADF;
  if (s.tx.base) return -EBUSY;
  // Sealed against shrinking before the size is checked (area_memfd.h's
  // order): the consumer cannot truncate it under a SEND's copy.
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) return -EINVAL;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return -EINVAL;
  if (static_cast<uint64_t>(st.st_size) < r.len) return -EFAULT;
  const int seals = fcntl(fd, F_GET_SEALS);
  const int mode = fcntl(fd, F_GETFL);
  // Memory its owner cannot write is no TX region (the kernel's rule for
  // buffers it pins for writing, mirrored).
  if (seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) || mode < 0 ||
      (mode & O_ACCMODE) != O_RDWR)
    return -EFAULT;
  void* p = mmap(nullptr, r.len, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return -ENOMEM;
  s.tx = {p, r.len};
  SocketTable* t = ring_sockets(s, tcp);
  qs_->queue(ring_queue(s)).dp.run_call([&] {
    t->tx = static_cast<const uint8_t*>(p);
    t->tx_base = r.base;
    t->tx_len = r.len;
  });
  return 0;
}

void Control::close_sockets(Session& s) {
  if (!s.socks) return;
  SocketTable* t = s.socks.get();
  RingDp* dp = s.dp.get();
  Datapath& d = qs_->queue(ring_queue(s)).dp;
  TcpStack* tcp = d.tcp();
  // Connections reset, listeners closed, niovs the engine held back in the
  // pool; the ring stops handing socket SQEs to the stack.
  d.run_call([&] {
    if (tcp) tcp->drop_ring(*t);
    if (dp) dp->set_sockets(nullptr, nullptr);
  });
}

void Control::free_sockets(Session& s) {
  if (s.tx.base) munmap(s.tx.base, s.tx.len);
  s.tx = {};
  s.socks.reset();
}

}  // namespace zcrxd
