// SPDX-License-Identifier: MIT
// A control session with zcrxd spoken to message by message, without
// libzcrx's checks, so that requests libzcrx would never build (bad
// framing, descriptors, flags) reach zcrxd and their errno can be checked.
#pragma once

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "zcrx/proto.h"

namespace itest {

struct RawSession {
  int sock = -1;  // -1 when the connect failed
  uint32_t seq = 0;
  // Descriptors of the last reply, owned until the next call (take_fd
  // takes one over).
  int fds[zcrx::proto::kMaxFds] = {-1, -1};
  unsigned nfds = 0;
  uint8_t body[zcrx::proto::kMaxMsgSize];  // the last reply's body

  explicit RawSession(const std::string& path) {
    sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path.c_str());
    if (connect(sock, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      close(sock);
      sock = -1;
    }
  }
  ~RawSession() {
    drop_fds();
    if (sock >= 0) close(sock);
  }
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;

  void drop_fds() {
    for (unsigned i = 0; i < nfds; i++)
      if (fds[i] >= 0) close(fds[i]);
    nfds = 0;
  }
  /// Sends `len` bytes as they are (with descriptors `in`). Returns the
  /// reply's result, -EPIPE when the session was closed instead, -EPROTO
  /// for a reply shorter than its header.
  int send_bytes(const void* msg, size_t len, const int* in = nullptr, unsigned nin = 0) {
    drop_fds();
    if (zcrx::proto::send_msg(sock, msg, len, in, nin)) return -EPIPE;
    alignas(8) uint8_t buf[zcrx::proto::kMaxMsgSize];
    zcrx::proto::RecvdMsg m;
    if (zcrx::proto::recv_msg(sock, buf, sizeof(buf), m) || m.len == 0) return -EPIPE;
    if (m.len < sizeof(zcrx::proto::ReplyHeader)) return -EPROTO;
    zcrx::proto::ReplyHeader rh;
    std::memcpy(&rh, buf, sizeof(rh));
    std::memcpy(body, buf + sizeof(rh), m.len - sizeof(rh));
    for (unsigned i = 0; i < m.nfds; i++) fds[i] = m.fds[i];
    nfds = m.nfds;
    return rh.result;
  }
  /// A well-framed request `op` with body `b` (and descriptor `fd`).
  template <class Body>
  int call(uint16_t op, const Body& b, int fd = -1) {
    zcrx::proto::Request<Body> r{zcrx::proto::make_header(op, ++seq), b};
    return send_bytes(&r, sizeof(r), fd >= 0 ? &fd : nullptr, fd >= 0 ? 1 : 0);
  }
  /// CREATE_RING with 64 SQ and 256 CQ entries.
  int create_ring() {
    return call(zcrx::proto::kOpCreateRing, zcrx::proto::CreateRingReq{64, 256, 0, 0});
  }
  /// Takes over descriptor `i` of the last reply (the caller closes it).
  int take_fd(unsigned i) {
    int fd = fds[i];
    fds[i] = -1;
    return fd;
  }
};

/// A sealable memfd of `len` bytes to register as an area, or -1.
inline int make_area(size_t len) {
  int fd = memfd_create("itest-area", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd >= 0 && ftruncate(fd, static_cast<off_t>(len)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace itest
