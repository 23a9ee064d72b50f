// SPDX-License-Identifier: MIT
// zcrxd's TCP sockets, DPDK-free: the socket table (handles, limits,
// reuse), the socket SQEs' field rules with the kernel's errnos, the TX
// region bounds, SOCKET's arguments, and RingDp handing socket SQEs to
// the stack (and refusing them without one), and ASYNC_CANCEL reaching
// socket requests after the flows' with the kernel's results.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ring_dp.h"
#include "tcp_socket.h"
#include "zcrx/proto.h"

using namespace zcrxd;
namespace uapi = zcrx::uapi;
using zcrx::proto::kSocketHandleBase;

namespace {

uapi::io_uring_sqe sqe_of(uint8_t op, int32_t fd) {
  uapi::io_uring_sqe s{};
  s.opcode = op;
  s.fd = fd;
  return s;
}

struct Region {
  zcrx::RingRegionLayout l;
  void* mem;
  zcrx::SqProducer sq;
  zcrx::CqConsumer cq;
  Region(uint32_t sq_entries, uint32_t cq_entries)
      : l(zcrx::ring_region_layout(sq_entries, cq_entries)),
        mem(std::aligned_alloc(4096, l.size)) {
    zcrx::init_ring_region(mem, l);
    sq = zcrx::sq_producer(mem, l);
    cq = zcrx::cq_consumer(mem, l);
  }
  ~Region() { std::free(mem); }
};

// Records what RingDp hands over and answers with the SQE's fd.
struct RecordingHandler : SocketSqeHandler {
  std::vector<uapi::io_uring_sqe> seen;
  void socket_sqe(RingDp& ring, SocketTable&, const uapi::io_uring_sqe& sqe) override {
    seen.push_back(sqe);
    ring.post(sqe.user_data, sqe.fd, 0, 0, 0);
  }
  // Cancels (as the stack would) each request of `cancellable` the match
  // names, once.
  std::vector<CancelMatch> cancels;
  std::vector<std::pair<uint64_t, int32_t>> cancellable;  // user_data, fd
  int32_t cancel_requests(RingDp& ring, SocketTable&, const CancelMatch& m,
                          int32_t found) override {
    cancels.push_back(m);
    int32_t n = 0;
    for (auto it = cancellable.begin(); it != cancellable.end();) {
      if (!m.matches(it->first, it->second) || (found + n && !ring.reserve(2)) ||
          (!m.all && n)) {
        ++it;
        continue;
      }
      ring.post(it->first, -ECANCELED, 0, 0, 0);
      it = cancellable.erase(it);
      n++;
    }
    return n;
  }
};

}  // namespace

TEST_CASE("the socket table hands out handles from kSocketHandleBase, bounded and reused") {
  auto t = std::make_unique<SocketTable>();
  RingDp* ring = reinterpret_cast<RingDp*>(t.get());  // compared, never used
  std::vector<TcpSocket*> got;
  for (uint32_t i = 0; i < kMaxSocketsPerRing; i++) {
    TcpSocket* s = t->alloc(ring);
    REQUIRE(s);
    CHECK(s->handle() == kSocketHandleBase + i);
    CHECK(s->state == SockState::fresh);
    CHECK(s->ring == ring);
    got.push_back(s);
  }
  CHECK(t->open == kMaxSocketsPerRing);
  CHECK(t->alloc(ring) == nullptr);  // full: SOCKET answers -EMFILE
  CHECK(t->get(kSocketHandleBase + 5) == got[5]);
  CHECK(t->get(kSocketHandleBase - 1) == nullptr);  // a flow handle's range
  CHECK(t->get(kSocketHandleBase + kMaxSocketsPerRing) == nullptr);
  CHECK(t->get(-1) == nullptr);
  // A released slot is free for the next socket, with nothing left over.
  got[5]->bound = true;
  got[5]->bound_port = 80;
  got[5]->send_n = 3;
  t->release(*got[5]);
  CHECK(t->get(kSocketHandleBase + 5) == nullptr);
  CHECK(t->open == kMaxSocketsPerRing - 1);
  TcpSocket* again = t->alloc(ring);
  REQUIRE(again == got[5]);
  CHECK(again->handle() == kSocketHandleBase + 5);
  CHECK_FALSE(again->bound);
  CHECK(again->bound_port == 0);
  CHECK(again->send_n == 0);
}

TEST_CASE("SOCKET's arguments have Linux's errnos") {
  CHECK(check_socket_args(AF_INET, SOCK_STREAM, 0, true) == 0);
  CHECK(check_socket_args(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP,
                          true) == 0);
  CHECK(check_socket_args(AF_INET, SOCK_STREAM, 0, false) == -EAFNOSUPPORT);  // no --ip
  CHECK(check_socket_args(AF_INET6, SOCK_STREAM, 0, true) == -EAFNOSUPPORT);
  CHECK(check_socket_args(AF_INET, SOCK_DGRAM, 0, true) == -ESOCKTNOSUPPORT);
  CHECK(check_socket_args(AF_INET, SOCK_STREAM, IPPROTO_UDP, true) == -EPROTONOSUPPORT);
}

TEST_CASE("socket SQE fields follow the kernel's prep checks") {
  SUBCASE("ACCEPT") {
    auto s = sqe_of(uapi::kOpAccept, 1024);
    CHECK(check_accept_sqe(s) == 0);
    s.ioprio = uapi::kAcceptMultishot;
    CHECK(check_accept_sqe(s) == 0);
    s.rw_flags = SOCK_CLOEXEC | SOCK_NONBLOCK;
    CHECK(check_accept_sqe(s) == 0);
    auto bad = s;
    bad.len = 1;
    CHECK(check_accept_sqe(bad) == -EINVAL);
    bad = s;
    bad.ioprio = 1u << 5;
    CHECK(check_accept_sqe(bad) == -EINVAL);
    bad = s;
    bad.rw_flags = 1;
    CHECK(check_accept_sqe(bad) == -EINVAL);
    bad = s;
    bad.file_index = 3;  // fixed files: not served
    CHECK(check_accept_sqe(bad) == -EINVAL);
  }
  SUBCASE("CONNECT carries the peer inline") {
    auto s = sqe_of(uapi::kOpConnect, 1024);
    // 10.77.0.1 in network byte order, port 5001 in host order above it.
    s.addr3 = uint64_t{__builtin_bswap32(0x0a4d0001)} | (uint64_t{5001} << 32);
    uint32_t ip = 0;
    uint16_t port = 0;
    REQUIRE(check_connect_sqe(s, &ip, &port) == 0);
    CHECK(ip == 0x0a4d0001);
    CHECK(port == 5001);
    auto bad = s;
    bad.addr = 0x1000;  // a sockaddr pointer: zcrxd reads no consumer memory
    CHECK(check_connect_sqe(bad, &ip, &port) == -EINVAL);
    bad = s;
    bad.off = 16;
    CHECK(check_connect_sqe(bad, &ip, &port) == -EINVAL);
    bad = s;
    bad.len = 1;
    CHECK(check_connect_sqe(bad, &ip, &port) == -EINVAL);
    bad = s;
    bad.addr3 |= uint64_t{1} << 50;
    CHECK(check_connect_sqe(bad, &ip, &port) == -EINVAL);
  }
  SUBCASE("SEND") {
    auto s = sqe_of(uapi::kOpSend, 1024);
    s.addr = 0x7000;
    s.len = 100;
    CHECK(check_send_sqe(s) == 0);
    s.msg_flags = MSG_NOSIGNAL | MSG_DONTWAIT;
    CHECK(check_send_sqe(s) == 0);
    auto bad = s;
    bad.ioprio = 1;  // IORING_RECVSEND_POLL_FIRST and friends: zero-copy send flags
    CHECK(check_send_sqe(bad) == -EINVAL);
    bad = s;
    bad.msg_flags = MSG_OOB;
    CHECK(check_send_sqe(bad) == -EINVAL);
    bad = s;
    bad.addr2 = 1;
    CHECK(check_send_sqe(bad) == -EINVAL);
  }
  SUBCASE("SHUTDOWN") {
    auto s = sqe_of(uapi::kOpShutdown, 1024);
    for (uint32_t how : {0u, 1u, 2u}) {
      s.len = how;
      CHECK(check_shutdown_sqe(s) == 0);
    }
    s.len = 3;
    CHECK(check_shutdown_sqe(s) == -EINVAL);
    s.len = SHUT_WR;
    s.addr = 1;
    CHECK(check_shutdown_sqe(s) == -EINVAL);
  }
  SUBCASE("CLOSE") {
    auto s = sqe_of(uapi::kOpClose, 1024);
    CHECK(check_close_sqe(s) == 0);
    s.file_index = 1;
    CHECK(check_close_sqe(s) == -EINVAL);
    s.file_index = 0;
    s.len = 1;
    CHECK(check_close_sqe(s) == -EINVAL);
  }
  SUBCASE("RECV_ZC on a socket: multishot, no pointers") {
    auto s = sqe_of(uapi::kOpRecvZc, 1024);
    s.ioprio = uapi::kRecvMultishot;
    CHECK(check_recv_zc_sqe(s) == 0);
    s.ioprio = 0;
    CHECK(check_recv_zc_sqe(s) == -EINVAL);
    s.ioprio = uapi::kRecvMultishot;
    s.addr = 1;
    CHECK(check_recv_zc_sqe(s) == -EINVAL);
  }
}

TEST_CASE("a SEND's range must lie inside the TX region") {
  uint64_t off = 99;
  const uint64_t base = 0x7f0000000000, len = 1 << 20;
  CHECK(tx_region_offset(base, len, base, 1, &off) == 0);
  CHECK(off == 0);
  CHECK(tx_region_offset(base, len, base + len - 10, 10, &off) == 0);
  CHECK(off == len - 10);
  CHECK(tx_region_offset(base, len, base + len - 10, 11, &off) == -EFAULT);
  CHECK(tx_region_offset(base, len, base - 1, 1, &off) == -EFAULT);
  CHECK(tx_region_offset(base, len, base + len + 1, 0, &off) == -EFAULT);
  CHECK(tx_region_offset(base, len, UINT64_MAX, 0xffffffffu, &off) == -EFAULT);
  CHECK(tx_region_offset(0, 0, 0x1000, 1, &off) == -EFAULT);  // no region registered
}

TEST_CASE("RingDp hands socket SQEs to the stack, and refuses them without one") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  const uint8_t ops[] = {uapi::kOpAccept, uapi::kOpConnect, uapi::kOpSend, uapi::kOpShutdown,
                         uapi::kOpClose};
  // No stack (zcrxd without --ip): the opcodes are unknown, a socket
  // handle in RECV_ZC is no flow.
  for (uint8_t op : ops) {
    auto s = sqe_of(op, 1024);
    s.user_data = op;
    REQUIRE(r.sq.push(s));
  }
  auto rz = sqe_of(uapi::kOpRecvZc, 1024);
  rz.ioprio = uapi::kRecvMultishot;
  rz.user_data = 99;
  REQUIRE(r.sq.push(rz));
  CHECK(dp.poll_sq(16) == 6);
  dp.flush();
  uapi::io_uring_cqe32 c;
  for (uint8_t op : ops) {
    REQUIRE(r.cq.pop(c));
    CHECK(c.cqe.user_data == op);
    CHECK(c.cqe.res == -EINVAL);
  }
  REQUIRE(r.cq.pop(c));
  CHECK(c.cqe.user_data == 99);
  CHECK(c.cqe.res == -EINVAL);  // no zcrx id 0: the id is checked before the handle

  // With a stack: every socket opcode, and RECV_ZC on a socket handle, goes
  // there; RECV_ZC on a flow handle does not.
  auto table = std::make_unique<SocketTable>();
  RecordingHandler h;
  dp.set_sockets(table.get(), &h);
  for (uint8_t op : ops) REQUIRE(r.sq.push(sqe_of(op, 1030)));
  REQUIRE(r.sq.push(rz));
  auto flow_rz = rz;
  flow_rz.fd = 3;
  flow_rz.user_data = 7;
  REQUIRE(r.sq.push(flow_rz));
  CHECK(dp.poll_sq(16) == 7);
  dp.flush();
  REQUIRE(h.seen.size() == 6);
  for (size_t i = 0; i < 5; i++) CHECK(h.seen[i].opcode == ops[i]);
  CHECK(h.seen[5].opcode == uapi::kOpRecvZc);
  for (int i = 0; i < 6; i++) {
    REQUIRE(r.cq.pop(c));
    CHECK(c.cqe.res == (i < 5 ? 1030 : 1024));
  }
  REQUIRE(r.cq.pop(c));
  CHECK(c.cqe.user_data == 7);
  CHECK(c.cqe.res == -EINVAL);  // the flow path's own answer (no zcrx id 0)
}

TEST_CASE("ASYNC_CANCEL reaches socket requests after flow requests, with the kernel's results") {
  Region r(16, 64);
  RingDp dp(r.mem, r.l);
  auto table = std::make_unique<SocketTable>();
  RecordingHandler h;
  dp.set_sockets(table.get(), &h);
  // A flow request (user_data 5, flow 0) and three socket requests; 5 is
  // also a socket request's user_data.
  auto* ifq = reinterpret_cast<zcrx::core::Ifq*>(uintptr_t{0x1000});
  dp.set_entry(0, ifq, ifq);
  dp.set_flow(0, ifq);
  auto rz = sqe_of(uapi::kOpRecvZc, 0);
  rz.ioprio = uapi::kRecvMultishot;
  rz.user_data = 5;
  REQUIRE(r.sq.push(rz));
  REQUIRE(dp.poll_sq(16) == 1);
  h.cancellable = {{5, 1030}, {6, 1030}, {7, 1031}};
  auto cancel = [](uint64_t target, uint32_t flags, int32_t fd, uint64_t ud) {
    auto s = sqe_of(uapi::kOpAsyncCancel, fd);
    s.addr = target;
    s.cancel_flags = flags;
    s.user_data = ud;
    return s;
  };
  // One by user_data: the flow's request is first; the stack is not asked.
  REQUIRE(r.sq.push(cancel(5, 0, -1, 50)));
  // Again: only the socket's 5 is left.
  REQUIRE(r.sq.push(cancel(5, 0, -1, 51)));
  // FD with ALL: every request left on 1030 (6).
  REQUIRE(r.sq.push(cancel(0, uapi::kAsyncCancelFd | uapi::kAsyncCancelAll, 1030, 52)));
  // FD with ANY: -EINVAL, nothing asked of anyone.
  REQUIRE(r.sq.push(cancel(0, uapi::kAsyncCancelFd | uapi::kAsyncCancelAny, 1031, 53)));
  // ALL for a user_data nobody has: 0 (the number), not -ENOENT.
  REQUIRE(r.sq.push(cancel(99, uapi::kAsyncCancelAll, -1, 54)));
  // One for a user_data nobody has: -ENOENT.
  REQUIRE(r.sq.push(cancel(99, 0, -1, 55)));
  // ANY: what is left (7).
  REQUIRE(r.sq.push(cancel(0, uapi::kAsyncCancelAny, -1, 56)));
  CHECK(dp.poll_sq(16) == 7);
  dp.flush();
  const std::pair<uint64_t, int32_t> want[] = {
      {5, -ECANCELED}, {50, 0}, {5, -ECANCELED}, {51, 0}, {6, -ECANCELED}, {52, 1},
      {53, -EINVAL},   {54, 0}, {55, -ENOENT},   {7, -ECANCELED}, {56, 1}};
  uapi::io_uring_cqe32 c;
  for (const auto& w : want) {
    REQUIRE(r.cq.pop(c));
    CHECK(c.cqe.user_data == w.first);
    CHECK(c.cqe.res == w.second);
    CHECK((c.cqe.flags & uapi::kCqeFMore) == 0);
  }
  CHECK_FALSE(r.cq.pop(c));
  CHECK(h.cancellable.empty());
  // Asked for every cancel but the first (the flow matched it) and the
  // -EINVAL one; the match it was given.
  REQUIRE(h.cancels.size() == 5);
  CHECK(h.cancels[0].user_data == 5);
  CHECK_FALSE(h.cancels[0].all);
  CHECK(h.cancels[1].by_fd);
  CHECK(h.cancels[1].fd == 1030);
  CHECK(h.cancels[1].all);
  CHECK(h.cancels[4].any);
  CHECK(dp.armed_count() == 0);
}

TEST_CASE("the ACCEPT completion's peer encoding is what accept_peer() reads") {
  const uint64_t off = accept_peer_off(0x0a4d0001, 40000);
  CHECK((off >> 32) == 0x0a4d0001);
  CHECK(((off >> 16) & 0xffff) == 40000);
  CHECK((off & 0xffff) == 0);
}
