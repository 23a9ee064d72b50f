// SPDX-License-Identifier: MIT
// libzcrx-uring-sockets.so: socket/bind/listen/getsockname/close wrappers
// that send a kernel-zcrx program's TCP sockets to zcrxd (zcrx/compat/
// sockets.h), with no change to its source. LD_PRELOAD it, or link it
// before libc. AF_INET and AF_INET6 SOCK_STREAM sockets are zcrxd's;
// everything else (and every socket while ZCRX_URING_SOCKETS=0) goes to
// libc untouched.
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "zcrx/compat/sockets.h"

namespace {

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

using socket_fn = int (*)(int, int, int);
using bind_fn = int (*)(int, const sockaddr*, socklen_t);
using listen_fn = int (*)(int, int);
using getsockname_fn = int (*)(int, sockaddr*, socklen_t*);
using close_fn = int (*)(int);

bool enabled() {
  const char* v = std::getenv("ZCRX_URING_SOCKETS");
  return !(v && std::strcmp(v, "0") == 0);
}

// -errno to the libc convention.
int ret(int r) {
  if (r >= 0) return r;
  errno = -r;
  return -1;
}

}  // namespace

extern "C" int socket(int domain, int type, int protocol) {
  static const socket_fn real = next<socket_fn>("socket");
  const int fd = real(domain, type, protocol);
  if (fd < 0 || !enabled()) return fd;
  const int base_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if ((domain != AF_INET && domain != AF_INET6) || base_type != SOCK_STREAM) return fd;
  if (protocol != 0 && protocol != 6 /* IPPROTO_TCP */) return fd;
  // The kernel socket stays as the placeholder the program holds.
  if (int r = zcrx_uring_socket_adopt(fd, domain)) {
    static const close_fn real_close = next<close_fn>("close");
    real_close(fd);
    return ret(r);
  }
  return fd;
}

extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) {
  static const bind_fn real = next<bind_fn>("bind");
  if (!zcrx_uring_socket_is_ours(fd)) return real(fd, addr, len);
  return ret(zcrx_uring_socket_bind(fd, addr, len));
}

extern "C" int listen(int fd, int backlog) {
  static const listen_fn real = next<listen_fn>("listen");
  if (!zcrx_uring_socket_is_ours(fd)) return real(fd, backlog);
  return ret(zcrx_uring_socket_listen(fd, backlog));
}

extern "C" int getsockname(int fd, sockaddr* addr, socklen_t* len) {
  static const getsockname_fn real = next<getsockname_fn>("getsockname");
  if (!zcrx_uring_socket_is_ours(fd)) return real(fd, addr, len);
  return ret(zcrx_uring_socket_name(fd, addr, len));
}

extern "C" int close(int fd) {
  static const close_fn real = next<close_fn>("close");
  if (zcrx_uring_socket_is_ours(fd)) zcrx_uring_socket_forget(fd);
  const int r = real(fd);
  // An accepted socket is a zcrxd handle (>= 1024), no kernel fd: a kernel
  // fd of the same number (a program with over a thousand files open) is
  // closed as libc would, and the handle only when there is none.
  if (r < 0 && errno == EBADF && fd >= 1024 && enabled()) {
    if (zcrx_uring_socket_close_handle(fd) == 0) return 0;
    errno = EBADF;
  }
  return r;
}
