// SPDX-License-Identifier: MIT
#include "tcp_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

namespace zcrxd {

namespace uapi = zcrx::uapi;
using uapi::io_uring_sqe;

TcpSocket* SocketTable::alloc(RingDp* ring) {
  if (open == kMaxSocketsPerRing) return nullptr;
  for (TcpSocket& s : socks) {
    if (s.state != SockState::free) continue;
    const uint32_t index = s.index;
    s = TcpSocket{};
    s.index = index;
    s.state = SockState::fresh;
    s.ring = ring;
    open++;
    return &s;
  }
  return nullptr;
}

void SocketTable::release(TcpSocket& s) {
  if (s.state == SockState::free) return;
  const uint32_t index = s.index;
  s = TcpSocket{};
  s.index = index;
  open--;
}

namespace {
// IORING_ACCEPT_DONTWAIT and IORING_ACCEPT_POLL_FIRST (the kernel's values).
constexpr uint16_t kAcceptDontwait = 1u << 1;
constexpr uint16_t kAcceptPollFirst = 1u << 2;
}  // namespace

int check_accept_sqe(const io_uring_sqe& sqe) {
  if (sqe.len || sqe.buf_index || sqe.file_index) return -EINVAL;
  if (sqe.ioprio & ~(uapi::kAcceptMultishot | kAcceptDontwait | kAcceptPollFirst)) return -EINVAL;
  if (sqe.rw_flags & ~static_cast<uint32_t>(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  return 0;
}

int check_connect_sqe(const io_uring_sqe& sqe, uint32_t* ip, uint16_t* port) {
  if (sqe.len || sqe.rw_flags || sqe.buf_index || sqe.file_index || sqe.ioprio) return -EINVAL;
  if (sqe.addr || sqe.off) return -EINVAL;  // zcrxd takes the peer inline only
  if (sqe.addr3 >> 48) return -EINVAL;
  *ip = __builtin_bswap32(static_cast<uint32_t>(sqe.addr3));
  *port = static_cast<uint16_t>(sqe.addr3 >> 32);
  return 0;
}

int check_send_sqe(const io_uring_sqe& sqe) {
  if (sqe.ioprio || sqe.addr2 || sqe.addr3 || sqe.file_index || sqe.buf_index) return -EINVAL;
  constexpr uint32_t kKnown = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_WAITALL;
  if (sqe.msg_flags & ~kKnown) return -EINVAL;
  return 0;
}

int check_shutdown_sqe(const io_uring_sqe& sqe) {
  if (sqe.off || sqe.addr || sqe.rw_flags || sqe.buf_index || sqe.file_index || sqe.ioprio)
    return -EINVAL;
  if (sqe.len > SHUT_RDWR) return -EINVAL;
  return 0;
}

int check_close_sqe(const io_uring_sqe& sqe) {
  if (sqe.off || sqe.addr || sqe.len || sqe.rw_flags || sqe.buf_index || sqe.file_index ||
      sqe.ioprio)
    return -EINVAL;
  return 0;
}

int check_recv_zc_sqe(const io_uring_sqe& sqe) {
  if (sqe.addr2 || sqe.addr || sqe.addr3 || sqe.flags || sqe.msg_flags) return -EINVAL;
  if (sqe.ioprio & ~(uapi::kRecvMultishot | kRecvPollFirst)) return -EINVAL;
  if (!(sqe.ioprio & uapi::kRecvMultishot)) return -EINVAL;
  return 0;
}

int tx_region_offset(uint64_t base, uint64_t region_len, uint64_t addr, uint32_t len,
                     uint64_t* off) {
  if (region_len == 0 || addr < base) return -EFAULT;
  const uint64_t o = addr - base;
  if (o > region_len || len > region_len - o) return -EFAULT;
  *off = o;
  return 0;
}

int check_socket_args(uint32_t domain, uint32_t type, uint32_t protocol, bool tcp_on) {
  if (domain != AF_INET || !tcp_on) return -EAFNOSUPPORT;
  if ((type & ~static_cast<uint32_t>(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM)
    return -ESOCKTNOSUPPORT;
  if (protocol != 0 && protocol != IPPROTO_TCP) return -EPROTONOSUPPORT;
  return 0;
}

}  // namespace zcrxd
