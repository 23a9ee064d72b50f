// SPDX-License-Identifier: MIT
// The C API's TCP sockets (zcrx/zcrx.h): the SQEs its prep helpers write
// (from C), and the control messages its calls send, as the fake server
// receives them.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "c_api_smoke.h"
#include "fake_server.h"
#include "zcrx/socket.h"
#include "zcrx/zcrx.h"

using zcrx::uapi::io_uring_sqe;
using namespace zcrx::proto;

namespace {

constexpr uint32_t kIp = (10u << 24) | (77u << 16) | 2u;  // 10.77.0.2

// Every byte of `sqe` outside the named fields is zero: compare with a
// zeroed SQE given the same fields.
void check_only(const io_uring_sqe& sqe, const io_uring_sqe& expect) {
  CHECK(std::memcmp(&sqe, &expect, sizeof(sqe)) == 0);
}

template <class T>
T body_as(const fake::SocketOp& op) {
  REQUIRE(op.len == sizeof(T));
  T t;
  std::memcpy(&t, op.body, sizeof(t));
  return t;
}

}  // namespace

TEST_CASE("c api sockets: the prep helpers from C write the kernel's SQE fields, nothing else") {
  io_uring_sqe sqe[8];
  std::memset(sqe, 0xa5, sizeof(sqe));  // nothing may be left over
  const char buf[8] = {};
  REQUIRE(c_api_prep_sockets(sqe, buf) == 0);

  io_uring_sqe e{};
  e.opcode = zcrx::uapi::kOpAccept;
  e.fd = 1030;
  e.ioprio = zcrx::uapi::kAcceptMultishot;
  e.user_data = 11;
  check_only(sqe[0], e);
  CHECK(sqe[0].ioprio == 1u << 0);  // IORING_ACCEPT_MULTISHOT
  e.ioprio = 0;
  e.user_data = 12;
  check_only(sqe[1], e);

  e = io_uring_sqe{};
  e.opcode = zcrx::uapi::kOpConnect;
  e.fd = 1031;
  // proto.h: addr3 = IPv4 (network byte order) | port (host order) << 32.
  e.addr3 = uint64_t{htonl(kIp)} | (uint64_t{5001} << 32);
  e.user_data = 13;
  check_only(sqe[2], e);
  unsigned char ip_bytes[4];
  std::memcpy(ip_bytes, &sqe[2].addr3, 4);  // the address as it lies in memory
  CHECK(ip_bytes[0] == 10);
  CHECK(ip_bytes[1] == 77);
  CHECK(ip_bytes[2] == 0);
  CHECK(ip_bytes[3] == 2);
  CHECK((sqe[2].addr3 >> 32) == 5001);
  CHECK(sqe[2].addr == 0);
  CHECK(sqe[2].off == 0);

  e = io_uring_sqe{};
  e.opcode = zcrx::uapi::kOpSend;
  e.fd = 1031;
  e.addr = reinterpret_cast<uintptr_t>(buf);
  e.len = 1000;
  e.user_data = 14;
  check_only(sqe[3], e);

  e = io_uring_sqe{};
  e.opcode = zcrx::uapi::kOpShutdown;
  e.fd = 1031;
  e.len = SHUT_WR;
  e.user_data = 15;
  check_only(sqe[4], e);

  e = io_uring_sqe{};
  e.opcode = zcrx::uapi::kOpClose;
  e.fd = 1031;
  e.user_data = 16;
  check_only(sqe[5], e);

  // ASYNC_CANCEL by fd (IORING_ASYNC_CANCEL_FD | ALL) and by user_data with ALL.
  e = io_uring_sqe{};
  e.opcode = zcrx::uapi::kOpAsyncCancel;
  e.fd = 1031;
  e.cancel_flags = (1u << 1) | (1u << 0);
  e.user_data = 17;
  check_only(sqe[6], e);
  e = io_uring_sqe{};
  e.opcode = zcrx::uapi::kOpAsyncCancel;
  e.fd = -1;
  e.addr = 13;
  e.cancel_flags = 1u << 0;
  e.user_data = 18;
  check_only(sqe[7], e);

  // The kernel's opcode numbers.
  CHECK(sqe[0].opcode == 13);  // IORING_OP_ACCEPT
  CHECK(sqe[2].opcode == 16);  // IORING_OP_CONNECT
  CHECK(sqe[3].opcode == 26);  // IORING_OP_SEND
  CHECK(sqe[4].opcode == 34);  // IORING_OP_SHUTDOWN
  CHECK(sqe[5].opcode == 19);  // IORING_OP_CLOSE
}

TEST_CASE("c api sockets: zcrx_accept_peer reads the peer from an ACCEPT CQE, none from an error") {
  uint32_t ip = 0;
  uint16_t port = 0;
  const uint64_t off = (uint64_t{kIp} << 32) | (uint64_t{40123} << 16);
  CHECK(c_api_accept_peer(1025, off, &ip, &port) == 1);
  CHECK(ip == kIp);
  CHECK(port == 40123);
  ip = 7;
  port = 7;
  CHECK(c_api_accept_peer(-ECONNABORTED, off, &ip, &port) == 0);
  CHECK(ip == 7);  // untouched
  CHECK(port == 7);
}

TEST_CASE("c api sockets: control calls send the protocol's messages and return zcrxd's answers") {
  fake::Server srv;
  zcrx_ring* ring = nullptr;
  REQUIRE(zcrx_ring_new(&ring) == 0);
  REQUIRE(zcrx_attach(ring, srv.open_session()) == 0);
  CHECK(zcrx_socket(ring) == -EBADFD);  // no ring yet: nothing is sent
  CHECK(srv.socket_ops().empty());
  REQUIRE(zcrx_create(ring, 8, 16) == 0);

  const int s = zcrx_socket(ring);
  CHECK(s == static_cast<int>(kSocketHandleBase));
  CHECK(zcrx_bind(ring, s, kIp, 5001) == 0);
  CHECK(zcrx_bind(ring, s, kIp, 5002) == -EINVAL);  // bound already
  CHECK(zcrx_listen(ring, s, 128) == 0);
  zcrx_sockinfo n;
  std::memset(&n, 0xff, sizeof(n));
  CHECK(zcrx_sockname(ring, s, &n) == 0);
  CHECK(n.local_ip == kIp);  // host byte order again
  CHECK(n.local_port == 5001);
  CHECK(n.remote_ip == 0);
  CHECK(n.remote_port == 0);
  CHECK(n.state == 1);
  CHECK(zcrx_listen(ring, 4000, 1) == -EBADF);  // no such socket at zcrxd
  CHECK(zcrx_bind(ring, -1, 0, 1) == -EBADF);   // refused before sending

  const std::vector<fake::SocketOp> ops = srv.socket_ops();
  REQUIRE(ops.size() == 6);
  CHECK(ops[0].op == kOpSocket);
  const auto sr = body_as<SocketReq>(ops[0]);
  CHECK(sr.domain == AF_INET);
  CHECK(sr.type == SOCK_STREAM);
  CHECK(sr.protocol == IPPROTO_TCP);
  CHECK(sr.resv == 0);
  CHECK(ops[1].op == kOpBind);
  const auto br = body_as<BindReq>(ops[1]);
  CHECK(br.handle == kSocketHandleBase);
  CHECK(br.addr == htonl(kIp));  // network byte order on the wire
  CHECK(br.port == 5001);        // host byte order on the wire
  CHECK(br.resv0 == 0);
  CHECK(br.resv1 == 0);
  CHECK(ops[2].result == -EINVAL);
  CHECK(ops[3].op == kOpListen);
  const auto lr = body_as<ListenReq>(ops[3]);
  CHECK(lr.handle == kSocketHandleBase);
  CHECK(lr.backlog == 128);
  CHECK(ops[4].op == kOpSockName);
  CHECK(body_as<SockNameReq>(ops[4]).handle == kSocketHandleBase);
  CHECK(ops[5].op == kOpListen);
  CHECK(ops[5].result == -EBADF);
  zcrx_ring_free(ring);
}

TEST_CASE("c api sockets: the TX region is shared with zcrxd at the pointer a SEND names") {
  fake::Server srv;
  zcrx_ring* ring = nullptr;
  REQUIRE(zcrx_ring_new(&ring) == 0);
  REQUIRE(zcrx_attach(ring, srv.open_session()) == 0);
  REQUIRE(zcrx_create(ring, 8, 16) == 0);
  CHECK(zcrx_tx_region(ring) == nullptr);
  CHECK(zcrx_tx_region_len(ring) == 0);
  CHECK(zcrx_register_tx_region(ring, 0) == -EINVAL);
  CHECK(zcrx_register_tx_region(ring, (size_t{1} << 30) + 1) == -EINVAL);
  CHECK(srv.socket_ops().empty());  // both refused before sending

  REQUIRE(zcrx_register_tx_region(ring, 5000) == 0);
  CHECK(zcrx_tx_region_len(ring) == 8192);  // whole pages
  auto* tx = static_cast<uint8_t*>(zcrx_tx_region(ring));
  REQUIRE(tx != nullptr);
  const auto ops = srv.socket_ops();
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].op == kOpRegisterTx);
  const auto tr = body_as<TxRegionReq>(ops[0]);
  CHECK(tr.base == reinterpret_cast<uintptr_t>(tx));
  CHECK(tr.len == 8192);
  CHECK(tr.flags == 0);
  CHECK(tr.resv == 0);
  CHECK(zcrx_register_tx_region(ring, 4096) == -EBUSY);  // one per ring

  // What a SEND names is what zcrxd reads through its own mapping.
  const char msg[] = "zero-copy receive, copied send";
  std::memcpy(tx + 4000, msg, sizeof(msg));
  io_uring_sqe sqe{};
  zcrx_prep_send(reinterpret_cast<zcrx_sqe*>(&sqe), 1024, tx + 4000, sizeof(msg), 1);
  const std::vector<uint8_t> seen = srv.tx_bytes(0, sqe.addr, sqe.len);
  REQUIRE(seen.size() == sizeof(msg));
  CHECK(std::memcmp(seen.data(), msg, sizeof(msg)) == 0);
  CHECK(srv.tx_bytes(0, sqe.addr + 8192, 1).empty());  // past the region
  zcrx_ring_free(ring);
}

TEST_CASE("c api sockets: a zcrxd without TCP answers -EAFNOSUPPORT") {
  fake::Server srv;
  srv.tcp = false;
  zcrx_ring* ring = nullptr;
  REQUIRE(zcrx_ring_new(&ring) == 0);
  REQUIRE(zcrx_attach(ring, srv.open_session()) == 0);
  REQUIRE(zcrx_create(ring, 8, 16) == 0);
  CHECK(zcrx_socket(ring) == -EAFNOSUPPORT);
  CHECK(zcrx_listen(ring, 1024, 1) == -EAFNOSUPPORT);
  CHECK(zcrx_register_tx_region(ring, 4096) == -EAFNOSUPPORT);
  CHECK(zcrx_tx_region(ring) == nullptr);  // a refused region is not kept
  zcrx_ring_free(ring);
}
