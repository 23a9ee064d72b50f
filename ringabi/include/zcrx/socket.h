// SPDX-License-Identifier: MIT
// libzcrx: SQEs on zcrxd's TCP sockets, the io_uring way (proto.h "TCP
// sockets" has the rules and errnos). A server:
//
//   int ls = ring.socket();
//   ring.bind(ls, 0, 8000);
//   ring.listen(ls, 128);
//   zcrx::prep_accept(ring.get_sqe(), ls, /*multishot=*/true, kAccept);
//   ring.submit();
//   // a CQE with user_data kAccept: res is the new socket's handle
//   zcrx::prep_recv_zc(ring.get_sqe(), res, ifq->id(), 0, true, kData);
//   // CQEs with user_data kData: payload at ifq->data(cqe), refill it;
//   // res 0 without F_MORE: the peer closed
//
// and a client sends from its TX region:
//
//   ring.register_tx_region(1 << 20);
//   int s = ring.socket();
//   zcrx::prep_connect(ring.get_sqe(), s, ip, 8000, kConnect);
//   std::memcpy(ring.tx_region(), msg, n);
//   zcrx::prep_send(ring.get_sqe(), s, ring.tx_region(), n, kSend);
#pragma once

#include <cstdint>

#include "zcrx/client.h"
#include "zcrx/uapi.h"

namespace zcrx {

/// IORING_OP_ACCEPT on the listening socket `sock`; multishot keeps it armed
/// (one CQE per connection, F_MORE while armed).
inline void prep_accept(uapi::io_uring_sqe* sqe, int sock, bool multishot,
                        uint64_t user_data = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpAccept;
  sqe->fd = sock;
  sqe->ioprio = multishot ? uapi::kAcceptMultishot : 0;
  sqe->user_data = user_data;
}

/// The peer of an ACCEPT completion (host byte order); false for a CQE
/// that carries none (an error).
inline bool accept_peer(const uapi::io_uring_cqe32& c, uint32_t* ip, uint16_t* port) {
  if (c.cqe.res < 0) return false;
  *ip = static_cast<uint32_t>(c.zcqe.off >> 32);
  *port = static_cast<uint16_t>(c.zcqe.off >> 16);
  return true;
}

/// IORING_OP_CONNECT of `sock` to `ip`:`port` (host byte order), the
/// address inline in the SQE (proto.h).
inline void prep_connect(uapi::io_uring_sqe* sqe, int sock, uint32_t ip, uint16_t port,
                         uint64_t user_data = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpConnect;
  sqe->fd = sock;
  const uint32_t ip_be = __builtin_bswap32(ip);
  sqe->addr3 = uint64_t{ip_be} | (uint64_t{port} << 32);
  sqe->user_data = user_data;
}

/// IORING_OP_SEND of `len` bytes at `buf`, which must lie in the ring's TX
/// region (Ring::tx_region()); it may be reused once the CQE arrives.
inline void prep_send(uapi::io_uring_sqe* sqe, int sock, const void* buf, uint32_t len,
                      uint64_t user_data = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpSend;
  sqe->fd = sock;
  sqe->addr = reinterpret_cast<uintptr_t>(buf);
  sqe->len = len;
  sqe->user_data = user_data;
}

/// IORING_OP_SHUTDOWN: how = SHUT_RD, SHUT_WR or SHUT_RDWR.
inline void prep_shutdown(uapi::io_uring_sqe* sqe, int sock, int how, uint64_t user_data = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpShutdown;
  sqe->fd = sock;
  sqe->len = static_cast<uint32_t>(how);
  sqe->user_data = user_data;
}

/// IORING_OP_CLOSE of a socket handle.
inline void prep_close(uapi::io_uring_sqe* sqe, int sock, uint64_t user_data = 0) {
  *sqe = uapi::io_uring_sqe{};
  sqe->opcode = uapi::kOpClose;
  sqe->fd = sock;
  sqe->user_data = user_data;
}

}  // namespace zcrx
