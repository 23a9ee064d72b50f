// SPDX-License-Identifier: MIT
// Messages with attached descriptors (SCM_RIGHTS) over SOCK_SEQPACKET.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zcrx/proto.h"

namespace zcrx::proto {
namespace {

// Room for more fds than any message may carry, so a few surplus ones are
// received (and closed) rather than reported as truncation. A sender that
// attaches even more gets MSG_CTRUNC; the kernel drops what did not fit.
constexpr unsigned kRecvFdRoom = 16;

}  // namespace

int send_msg(int sock, const void* buf, size_t len, const int* fds, unsigned nfds) {
  if (nfds > kMaxFds) return -EINVAL;
  iovec iov{const_cast<void*>(buf), len};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  if (nfds > 0) {
    mh.msg_control = ctl;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  if (static_cast<size_t>(n) != len) return -EMSGSIZE;
  return 0;
}

int recv_msg(int sock, void* buf, size_t cap, RecvdMsg& out, unsigned max_fds, int flags) {
  out = RecvdMsg{};
  if (max_fds > kMaxFds) max_fds = kMaxFds;
  iovec iov{buf, cap};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kRecvFdRoom)];
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof(ctl);
  ssize_t n;
  do {
    n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  out.len = static_cast<size_t>(n);
  out.truncated = (mh.msg_flags & MSG_TRUNC) != 0;
  out.ctrunc = (mh.msg_flags & MSG_CTRUNC) != 0;
  // A truncated message will be rejected, so none of its fds is kept.
  const bool keep = !out.truncated && !out.ctrunc;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    if (c->cmsg_len < CMSG_LEN(0)) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* data = CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      int fd;
      std::memcpy(&fd, data + i * sizeof(int), sizeof(int));
      if (keep && out.nfds < max_fds) {
        out.fds[out.nfds++] = fd;
      } else {
        close(fd);
        out.fds_closed++;
      }
    }
  }
  return 0;
}

void close_fds(RecvdMsg& m) {
  for (unsigned i = 0; i < m.nfds; i++) {
    close(m.fds[i]);
    m.fds[i] = -1;
  }
  m.nfds = 0;
}

}  // namespace zcrx::proto
