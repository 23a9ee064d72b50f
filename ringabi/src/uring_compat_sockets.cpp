// SPDX-License-Identifier: MIT
// The socket table of the liburing compatibility layer (zcrx/compat/
// sockets.h): placeholder fds standing for zcrxd TCP sockets, what was
// asked of each before a ring existed, and the lock-free fd -> handle view
// io_uring_submit reads.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "uring_compat.h"
#include "zcrx/compat/sockets.h"

namespace zcrx::compat {
namespace {

constexpr int kMaxFd = ZCRX_URING_MAX_SOCKET_FD;
constexpr int32_t kNotOurs = -1;
// Adopted, no zcrxd socket (yet, or it failed): SQEs get an fd zcrxd
// refuses with -EBADF.
constexpr int32_t kNoHandle = -2;

struct Entry {
  bool used = false;
  bool v6 = false;  // the placeholder is AF_INET6: getsockname answers in kind
  bool bound = false;
  bool listening = false;
  uint32_t ip = 0;  // host byte order
  uint16_t port = 0;
  int backlog = 0;
  int handle = -1;
};

// Mutations under the mutex (control path); the handle view is what the
// datapath reads. Recursive: libzcrx's own close(2)s pass through the
// shim's close wrapper, which asks is_ours under the same lock.
std::recursive_mutex g_mu;
Entry g_entries[kMaxFd];
// relaxed is enough for the count: it only says "look in the table"; the
// acquire on the slot orders the handle's publication.
std::atomic<int> g_count{0};
std::atomic<int32_t> g_handle[kMaxFd];
zcrx_uring* g_ring = nullptr;
std::once_flag g_init_once;

void init_handles() {
  for (auto& h : g_handle) h.store(kNotOurs, std::memory_order_relaxed);
}

void publish(int fd, int32_t v) {
  // release: pairs with socket_handle_for_sqe's acquire.
  g_handle[fd].store(v, std::memory_order_release);
}

bool valid_fd(int fd) { return fd >= 0 && fd < kMaxFd; }

// Creates `e`'s socket in zcrxd and replays bind and listen.
int realize(Entry& e, zcrx::Ring& ring) {
  int h = ring.socket();
  if (h < 0) return h;
  e.handle = h;
  if (e.bound) {
    if (int r = ring.bind(h, e.ip, e.port)) return r;
  }
  if (e.listening) {
    if (int r = ring.listen(h, static_cast<uint32_t>(e.backlog))) return r;
  }
  return 0;
}

// The IPv4 address a bind names: 0 or -errno.
int ipv4_of(const sockaddr* addr, socklen_t len, uint32_t* ip, uint16_t* port) {
  if (addr == nullptr) return -EFAULT;
  if (len < static_cast<socklen_t>(sizeof(sa_family_t))) return -EINVAL;
  if (addr->sa_family == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
    sockaddr_in a;
    std::memcpy(&a, addr, sizeof(a));
    *ip = ntohl(a.sin_addr.s_addr);
    *port = ntohs(a.sin_port);
    return 0;
  }
  if (addr->sa_family == AF_INET6) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return -EINVAL;
    sockaddr_in6 a;
    std::memcpy(&a, addr, sizeof(a));
    *port = ntohs(a.sin6_port);
    if (IN6_IS_ADDR_UNSPECIFIED(&a.sin6_addr)) {
      *ip = 0;
      return 0;
    }
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
      uint32_t be;
      std::memcpy(&be, &a.sin6_addr.s6_addr[12], 4);
      *ip = ntohl(be);
      return 0;
    }
    return -EADDRNOTAVAIL;  // zcrxd serves IPv4 only
  }
  return -EAFNOSUPPORT;
}

}  // namespace

void sockets_attach_ring(zcrx_uring* u) {
  std::call_once(g_init_once, init_handles);
  std::lock_guard<std::recursive_mutex> l(g_mu);
  if (g_ring != nullptr) return;
  g_ring = u;
  for (int fd = 0; fd < kMaxFd; fd++) {
    Entry& e = g_entries[fd];
    if (!e.used || e.handle >= 0) continue;
    if (int r = realize(e, u->ring)) {
      std::fprintf(stderr, "libzcrx: socket fd %d cannot be set up in zcrxd: %s\n", fd,
                   std::strerror(-r));
      e.handle = -1;
      publish(fd, kNoHandle);
      continue;
    }
    publish(fd, e.handle);
  }
}

void sockets_detach_ring(zcrx_uring* u) {
  std::lock_guard<std::recursive_mutex> l(g_mu);
  if (g_ring != u) return;
  g_ring = nullptr;
  for (int fd = 0; fd < kMaxFd; fd++) {
    if (!g_entries[fd].used) continue;
    g_entries[fd].handle = -1;
    publish(fd, kNoHandle);
  }
}

int32_t socket_handle_for_sqe(int32_t fd) {
  if (g_count.load(std::memory_order_relaxed) == 0 || !valid_fd(fd)) return fd;
  // acquire: the handle was published with release after zcrxd made it.
  const int32_t h = g_handle[fd].load(std::memory_order_acquire);
  if (h == kNotOurs) return fd;
  // Both the handle and "no handle" are what the SQE must carry: a
  // placeholder's own number would name nothing (or another socket).
  return h == kNoHandle ? INT32_MAX : h;
}

socklen_t make_sockaddr(sockaddr_storage* ss, bool v6, uint32_t ip, uint16_t port) {
  *ss = sockaddr_storage{};
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (ip != 0) {
      a->sin6_addr.s6_addr[10] = 0xff;
      a->sin6_addr.s6_addr[11] = 0xff;
      const uint32_t be = htonl(ip);
      std::memcpy(&a->sin6_addr.s6_addr[12], &be, 4);
    }
    return sizeof(sockaddr_in6);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(ip);
  return sizeof(sockaddr_in);
}

bool socket_is_v6(int32_t fd) {
  if (g_count.load(std::memory_order_relaxed) == 0 || !valid_fd(fd)) return false;
  std::lock_guard<std::recursive_mutex> l(g_mu);
  return g_entries[fd].used && g_entries[fd].v6;
}

}  // namespace zcrx::compat

using namespace zcrx::compat;

extern "C" int zcrx_uring_socket_adopt(int fd, int domain) {
  std::call_once(g_init_once, init_handles);
  if (!valid_fd(fd)) return -EMFILE;
  std::lock_guard<std::recursive_mutex> l(g_mu);
  Entry& e = g_entries[fd];
  e = Entry{};
  if (domain != AF_INET && domain != AF_INET6) return -EAFNOSUPPORT;
  e.used = true;
  e.v6 = domain == AF_INET6;
  if (g_ring != nullptr) {
    int h = g_ring->ring.socket();
    if (h < 0) {
      e = Entry{};
      return h;
    }
    e.handle = h;
  }
  publish(fd, e.handle >= 0 ? e.handle : kNoHandle);
  g_count.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

extern "C" int zcrx_uring_socket_is_ours(int fd) {
  if (!valid_fd(fd) || g_count.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard<std::recursive_mutex> l(g_mu);
  return g_entries[fd].used ? 1 : 0;
}

extern "C" int zcrx_uring_socket_bind(int fd, const struct sockaddr* addr, socklen_t len) {
  if (!valid_fd(fd)) return -EBADF;
  std::lock_guard<std::recursive_mutex> l(g_mu);
  Entry& e = g_entries[fd];
  if (!e.used) return -EBADF;
  uint32_t ip;
  uint16_t port;
  if (int r = ipv4_of(addr, len, &ip, &port)) return r;
  if (e.bound) return -EINVAL;  // as Linux: bound already
  if (e.handle >= 0) {
    if (int r = g_ring->ring.bind(e.handle, ip, port)) return r;
  }
  e.bound = true;
  e.ip = ip;
  e.port = port;
  return 0;
}

extern "C" int zcrx_uring_socket_listen(int fd, int backlog) {
  if (!valid_fd(fd)) return -EBADF;
  std::lock_guard<std::recursive_mutex> l(g_mu);
  Entry& e = g_entries[fd];
  if (!e.used) return -EBADF;
  const int b = backlog < 0 ? 0 : backlog;
  if (e.handle >= 0) {
    if (int r = g_ring->ring.listen(e.handle, static_cast<uint32_t>(b))) return r;
  }
  e.listening = true;
  e.backlog = b;
  return 0;
}

extern "C" int zcrx_uring_socket_name(int fd, struct sockaddr* addr, socklen_t* len) {
  if (!valid_fd(fd)) return -EBADF;
  if (addr == nullptr || len == nullptr) return -EFAULT;
  std::lock_guard<std::recursive_mutex> l(g_mu);
  Entry& e = g_entries[fd];
  if (!e.used) return -EBADF;
  uint32_t ip = e.ip;
  uint16_t port = e.port;
  if (e.handle >= 0) {
    zcrx::Ring::SockName n;
    if (int r = g_ring->ring.sockname(e.handle, &n)) return r;
    ip = n.local_ip;
    port = n.local_port;
  }
  sockaddr_storage ss{};
  const socklen_t full = make_sockaddr(&ss, e.v6, ip, port);
  // As getsockname(2): truncated to *len, *len set to the full size.
  std::memcpy(addr, &ss, *len < full ? *len : full);
  *len = full;
  return 0;
}

extern "C" void zcrx_uring_socket_forget(int fd) {
  if (!valid_fd(fd)) return;
  std::lock_guard<std::recursive_mutex> l(g_mu);
  if (!g_entries[fd].used) return;
  // close(2) closes the socket: zcrxd's goes with its placeholder. Its
  // error (zcrxd closed it already, the session is gone) changes nothing
  // for the program: the fd is closed either way, as Linux's close is.
  if (g_entries[fd].handle >= 0 && g_ring != nullptr)
    (void)g_ring->ring.close_socket(g_entries[fd].handle);
  g_entries[fd] = Entry{};
  publish(fd, kNotOurs);
  g_count.fetch_sub(1, std::memory_order_relaxed);
}

extern "C" int zcrx_uring_socket_close_handle(int handle) {
  if (handle < static_cast<int>(zcrx::proto::kSocketHandleBase)) return -EBADF;
  std::call_once(g_init_once, init_handles);
  std::lock_guard<std::recursive_mutex> l(g_mu);
  if (g_ring == nullptr) return -EBADF;
  // A placeholder's socket is closed through its fd, never by its handle
  // (the program never saw that number: it names the fd's socket).
  for (const Entry& e : g_entries)
    if (e.used && e.handle == handle) return -EBADF;
  return g_ring->ring.close_socket(handle);
}
