// SPDX-License-Identifier: MIT
// libzcrx: TCP sockets in zcrxd (control calls; the SQE helpers are in
// zcrx/socket.h) and the ring's TX region.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zcrx/client.h"

namespace zcrx {

using namespace proto;

int Ring::socket() {
  if (!ring_base_) return -EBADFD;
  SocketReq req{AF_INET, SOCK_STREAM, IPPROTO_TCP, 0};
  SocketReply rep{};
  int r = call(kOpSocket, &req, sizeof(req), nullptr, 0, &rep, sizeof(rep), nullptr, 0, 0);
  if (r < 0) return r;
  if (rep.handle < kSocketHandleBase || rep.handle > INT32_MAX || rep.resv != 0) return -EPROTO;
  return static_cast<int>(rep.handle);
}

int Ring::bind(int sock, uint32_t ip, uint16_t port) {
  if (sock < 0) return -EBADF;
  BindReq req{static_cast<uint32_t>(sock), htonl(ip), port, 0, 0};
  return call(kOpBind, &req, sizeof(req), nullptr, 0, nullptr, 0, nullptr, 0, 0);
}

int Ring::listen(int sock, uint32_t backlog) {
  if (sock < 0) return -EBADF;
  ListenReq req{static_cast<uint32_t>(sock), backlog};
  return call(kOpListen, &req, sizeof(req), nullptr, 0, nullptr, 0, nullptr, 0, 0);
}

int Ring::sockname(int sock, SockName* out) {
  if (sock < 0) return -EBADF;
  SockNameReq req{static_cast<uint32_t>(sock), 0};
  SockNameReply rep{};
  int r = call(kOpSockName, &req, sizeof(req), nullptr, 0, &rep, sizeof(rep), nullptr, 0, 0);
  if (r < 0) return r;
  out->local_ip = ntohl(rep.local_addr);
  out->remote_ip = ntohl(rep.remote_addr);
  out->local_port = rep.local_port;
  out->remote_port = rep.remote_port;
  out->state = rep.state;
  return 0;
}

int Ring::close_socket(int sock) {
  if (sock < 0) return -EBADF;
  CloseSocketReq req{static_cast<uint32_t>(sock), 0};
  return call(kOpCloseSocket, &req, sizeof(req), nullptr, 0, nullptr, 0, nullptr, 0, 0);
}

int Ring::register_tx_region(size_t len) {
  if (sock_ < 0) return -ENOTCONN;
  if (tx_base_) return -EBUSY;
  if (len == 0 || len > (size_t{1} << 30)) return -EINVAL;
  len = (len + 4095) & ~size_t{4095};
  int fd = memfd_create("zcrx-tx", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(len)) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return -e;
  }
  TxRegionReq req{reinterpret_cast<uintptr_t>(p), len, 0, 0};
  int r = call(kOpRegisterTx, &req, sizeof(req), &fd, 1, nullptr, 0, nullptr, 0, 0);
  close(fd);  // zcrxd holds its own reference; our mapping keeps the memory
  if (r < 0) {
    munmap(p, len);
    return r;
  }
  tx_base_ = static_cast<uint8_t*>(p);
  tx_len_ = len;
  return 0;
}

}  // namespace zcrx
