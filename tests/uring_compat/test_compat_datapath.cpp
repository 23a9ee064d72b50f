// SPDX-License-Identifier: MIT
// The liburing-compatible API end to end against the fake zcrxd: a
// registration over the program's anonymous memory leaves its own area and
// region pointers working (payload written by zcrxd read at area_ptr, RQEs
// written at region + offsets reaching zcrxd), completions read through
// the kernel's fields and macros, and socket fds turned into zcrxd's
// handles in the SQEs.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "compat_fixture.h"
#include "zcrx/compat/sockets.h"
#include "zcrx/ring_layout.h"

TEST_CASE("uring compat datapath: a RECV_ZC completion is read and refilled through the program's memory") {
  CompatRing r;
  UserMemory m;
  std::memset(m.area, 'X', UserMemory::kArea);  // what the program wrote is not kept
  Registration g(m);
  REQUIRE(io_uring_register_ifq(&r.ring, &g.reg) == 0);
  const zcrx::RqRegionLayout want = zcrx::rq_region_layout(16);
  CHECK(g.reg.rq_entries == 16);
  CHECK(g.reg.offsets.head == want.off.head);
  CHECK(g.reg.offsets.tail == want.off.tail);
  CHECK(g.reg.offsets.rqes == want.off.rqes);
  const uint64_t token = g.area.rq_area_token;
  CHECK(token != 0);
  CHECK((token & ~IORING_ZCRX_AREA_MASK) == 0);
  CHECK(static_cast<unsigned char*>(m.area)[0] == 0);  // zcrxd's memfd now

  io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
  REQUIRE(sqe != nullptr);
  io_uring_prep_rw(IORING_OP_RECV_ZC, sqe, 1030, nullptr, 0, 0);
  sqe->ioprio |= IORING_RECV_MULTISHOT;
  sqe->zcrx_ifq_idx = g.reg.zcrx_id;
  io_uring_sqe_set_data64(sqe, 7);
  CHECK(io_uring_submit(&r.ring) == 1);
  std::vector<zcrx::uapi::io_uring_sqe> seen;
  REQUIRE(r.srv.drain_sq(0, seen) == 1);
  CHECK(seen[0].opcode == zcrx::uapi::kOpRecvZc);
  CHECK(seen[0].fd == 1030);  // not a socket of the shim: as is
  CHECK(seen[0].ioprio == zcrx::uapi::kRecvMultishot);
  CHECK(seen[0].zcrx_ifq_idx == g.reg.zcrx_id);

  uint8_t payload[300];
  for (unsigned i = 0; i < sizeof(payload); i++) payload[i] = static_cast<uint8_t>(i * 7);
  REQUIRE(r.srv.post(0, g.reg.zcrx_id, 8192, payload, sizeof(payload), 7));
  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&r.ring, &cqe) == 0);
  REQUIRE(cqe != nullptr);
  CHECK(io_uring_cqe_get_data64(cqe) == 7);
  CHECK(cqe->res == 300);
  CHECK((cqe->flags & IORING_CQE_F_MORE) != 0);
  const auto* z = reinterpret_cast<const io_uring_zcrx_cqe*>(cqe + 1);
  const uint64_t off = z->off & ~IORING_ZCRX_AREA_MASK;
  CHECK((z->off & IORING_ZCRX_AREA_MASK) == token);
  CHECK(off == 8192);
  CHECK(std::memcmp(static_cast<char*>(m.area) + off, payload, sizeof(payload)) == 0);

  // The refill the way zcrx programs write it.
  auto* base = static_cast<char*>(m.region);
  auto* ktail = reinterpret_cast<__u32*>(base + g.reg.offsets.tail);
  auto* rqes = reinterpret_cast<io_uring_zcrx_rqe*>(base + g.reg.offsets.rqes);
  rqes[0].off = off | token;
  rqes[0].len = static_cast<__u32>(cqe->res);
  io_uring_smp_store_release(ktail, 1u);
  io_uring_cqe_seen(&r.ring, cqe);
  CHECK(io_uring_cq_ready(&r.ring) == 0);
  CHECK(io_uring_peek_cqe(&r.ring, &cqe) == -EAGAIN);
  std::vector<zcrx::uapi::io_uring_zcrx_rqe> rq;
  REQUIRE(r.srv.drain_rq(0, g.reg.zcrx_id, rq) == 1);
  CHECK(rq[0].off == (off | token));
  CHECK(r.srv.datapath_stats().bad_refills == 0);
}

// ZCRX_REG_IMPORT as liburing's test/zcrx.c does it (export on one ring,
// import on another of the same process), then the importer's RECV_ZC read
// at the exporter's area pointer and refilled through the importer's own
// refill queue (zcrx_uring_rq_region).
TEST_CASE("uring compat import: the kernel's refusals, then RECV_ZC and refill on the importer") {
  CompatServer server;
  fake::Server& srv = server.srv;
  io_uring a{}, b{};
  REQUIRE(io_uring_queue_init(8, &a, kZcrxFlags) == 0);
  REQUIRE(io_uring_queue_init(8, &b, kZcrxFlags) == 0);
  UserMemory m;
  Registration g(m);
  REQUIRE(io_uring_register_ifq(&a, &g.reg) == 0);
  zcrx_ctrl ctrl{};
  ctrl.zcrx_id = g.reg.zcrx_id;
  ctrl.op = ZCRX_CTRL_EXPORT;
  REQUIRE(io_uring_register_zcrx_ctrl(&a, &ctrl) == 0);
  const int box = static_cast<int>(ctrl.zc_export.zcrx_fd);

  // import_zcrx's checks, in its order.
  io_uring_zcrx_ifq_reg imp{};
  imp.flags = ZCRX_REG_IMPORT;
  imp.if_idx = static_cast<__u32>(box);
  imp.event_desc = 1;
  CHECK(io_uring_register_ifq(&b, &imp) == -EINVAL);
  imp.event_desc = 0;
  imp.flags |= ZCRX_REG_NODEV;
  CHECK(io_uring_register_ifq(&b, &imp) == -EINVAL);
  imp.flags = ZCRX_REG_IMPORT;
  imp.if_idx = ~0u;  // fd -1
  CHECK(io_uring_register_ifq(&b, &imp) == -EBADF);
  int p[2];
  REQUIRE(pipe(p) == 0);
  imp.if_idx = static_cast<__u32>(p[0]);  // a file, but no zcrx box
  CHECK(io_uring_register_ifq(&b, &imp) == -EBADF);
  close(p[0]);
  close(p[1]);
  imp.if_idx = static_cast<__u32>(box);
  REQUIRE(io_uring_register_ifq(&b, &imp) == 0);
  close(box);  // the import holds the zcrx, as in the kernel
  const zcrx::RqRegionLayout want = zcrx::rq_region_layout(16);
  CHECK(imp.offsets.head == want.off.head);
  CHECK(imp.offsets.tail == want.off.tail);
  CHECK(imp.offsets.rqes == want.off.rqes);
  CHECK(imp.rq_entries == 0);  // an import reports only the id and offsets
  char* rq = static_cast<char*>(zcrx_uring_rq_region(&b, imp.zcrx_id));
  REQUIRE(rq != nullptr);
  CHECK(zcrx_uring_rq_region(&b, imp.zcrx_id + 100) == nullptr);
  CHECK(zcrx_uring_rq_region(nullptr, 0) == nullptr);

  uint8_t payload[200];
  for (unsigned i = 0; i < sizeof(payload); i++) payload[i] = static_cast<uint8_t>(i * 13 + 1);
  REQUIRE(srv.post(1, imp.zcrx_id, 3 * 4096, payload, sizeof(payload), 9));
  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&b, &cqe) == 0);
  CHECK(io_uring_cqe_get_data64(cqe) == 9);
  REQUIRE(cqe->res == static_cast<int>(sizeof(payload)));
  const auto* z = reinterpret_cast<const io_uring_zcrx_cqe*>(cqe + 1);
  const uint64_t off = z->off & ~IORING_ZCRX_AREA_MASK;
  CHECK(off == 3 * 4096);
  CHECK(std::memcmp(static_cast<char*>(m.area) + off, payload, sizeof(payload)) == 0);
  auto* ktail = reinterpret_cast<__u32*>(rq + imp.offsets.tail);
  auto* rqes = reinterpret_cast<io_uring_zcrx_rqe*>(rq + imp.offsets.rqes);
  rqes[0].off = z->off;
  rqes[0].len = static_cast<__u32>(cqe->res);
  io_uring_smp_store_release(ktail, 1u);
  io_uring_cqe_seen(&b, cqe);
  std::vector<zcrx::uapi::io_uring_zcrx_rqe> got;
  REQUIRE(srv.drain_rq(1, imp.zcrx_id, got) == 1);
  CHECK(got[0].off == z->off);
  CHECK(got[0].len == sizeof(payload));
  CHECK(srv.datapath_stats().bad_refills == 0);
  io_uring_queue_exit(&b);
  io_uring_queue_exit(&a);
}

TEST_CASE("uring compat datapath: for_each_cqe walks every ready CQE32 slot; cq_advance consumes them") {
  CompatRing r;
  UserMemory m;
  Registration g(m);
  REQUIRE(io_uring_register_ifq(&r.ring, &g.reg) == 0);
  const uint8_t byte = 0x5a;
  for (unsigned i = 0; i < 5; i++)
    REQUIRE(r.srv.post(0, g.reg.zcrx_id, 4096 * i, &byte, 1, 100 + i));
  REQUIRE(io_uring_submit_and_wait(&r.ring, 5) == 0);
  unsigned head, count = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&r.ring, head, cqe) {
    CHECK(cqe->user_data == 100 + count);
    const auto* z = reinterpret_cast<const io_uring_zcrx_cqe*>(cqe + 1);
    CHECK((z->off & ~IORING_ZCRX_AREA_MASK) == 4096 * count);
    count++;
  }
  CHECK(count == 5);
  io_uring_cq_advance(&r.ring, count);
  CHECK(io_uring_cq_ready(&r.ring) == 0);
  __kernel_timespec ts{0, 1000000};
  CHECK(io_uring_wait_cqe_timeout(&r.ring, &cqe, &ts) == -ETIME);
}

TEST_CASE("uring compat sockets: a socket made before the ring reaches zcrxd at setup; SQEs carry its handle") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  REQUIRE(zcrx_uring_socket_adopt(fd, AF_INET) == 0);
  CHECK(zcrx_uring_socket_is_ours(fd) == 1);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(7000);
  CHECK(zcrx_uring_socket_bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  CHECK(zcrx_uring_socket_bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == -EINVAL);
  CHECK(zcrx_uring_socket_listen(fd, 8) == 0);
  {
    CompatRing r;
    auto ops = r.srv.socket_ops();
    REQUIRE(ops.size() == 3);  // SOCKET, BIND, LISTEN at queue_init
    CHECK(ops[0].op == zcrx::proto::kOpSocket);
    CHECK(ops[1].op == zcrx::proto::kOpBind);
    CHECK(ops[2].op == zcrx::proto::kOpListen);
    sockaddr_in got{};
    socklen_t len = sizeof(got);
    CHECK(zcrx_uring_socket_name(fd, reinterpret_cast<sockaddr*>(&got), &len) == 0);
    CHECK(len == sizeof(got));
    CHECK(ntohs(got.sin_port) == 7000);

    io_uring_prep_multishot_accept(io_uring_get_sqe(&r.ring), fd, nullptr, nullptr, 0);
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(8080);
    peer.sin_addr.s_addr = htonl(0x0a4d0001);  // 10.77.0.1
    io_uring_prep_connect(io_uring_get_sqe(&r.ring), fd, reinterpret_cast<sockaddr*>(&peer),
                          sizeof(peer));
    CHECK(io_uring_submit(&r.ring) == 2);
    std::vector<zcrx::uapi::io_uring_sqe> sqes;
    REQUIRE(r.srv.drain_sq(0, sqes) == 2);
    const int handle = sqes[0].fd;
    CHECK(handle >= static_cast<int>(zcrx::proto::kSocketHandleBase));
    CHECK(sqes[0].ioprio == IORING_ACCEPT_MULTISHOT);
    CHECK(sqes[1].fd == handle);
    CHECK(sqes[1].addr == 0);
    CHECK(sqes[1].off == 0);
    CHECK(sqes[1].addr3 == (uint64_t{htonl(0x0a4d0001)} | (uint64_t{8080} << 32)));

    zcrx_uring_socket_forget(fd);
    CHECK(zcrx_uring_socket_is_ours(fd) == 0);
    io_uring_prep_close(io_uring_get_sqe(&r.ring), fd);
    CHECK(io_uring_submit(&r.ring) == 1);
    sqes.clear();
    REQUIRE(r.srv.drain_sq(0, sqes) == 1);
    CHECK(sqes[0].fd == fd);  // forgotten: no longer translated
  }
  close(fd);
}

TEST_CASE("uring compat sockets: bind takes IPv4 and v4-mapped IPv6, refuses other addresses") {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  REQUIRE(zcrx_uring_socket_adopt(fd, AF_INET6) == 0);
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(7001);
  inet_pton(AF_INET6, "2001:db8::1", &sa.sin6_addr);
  CHECK(zcrx_uring_socket_bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == -EADDRNOTAVAIL);
  CHECK(zcrx_uring_socket_bind(fd, reinterpret_cast<sockaddr*>(&sa), 8) == -EINVAL);
  inet_pton(AF_INET6, "::ffff:10.77.0.2", &sa.sin6_addr);
  CHECK(zcrx_uring_socket_bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  sockaddr_in6 got{};
  socklen_t len = sizeof(got);
  CHECK(zcrx_uring_socket_name(fd, reinterpret_cast<sockaddr*>(&got), &len) == 0);
  CHECK(got.sin6_family == AF_INET6);
  CHECK(ntohs(got.sin6_port) == 7001);
  CHECK(IN6_IS_ADDR_V4MAPPED(&got.sin6_addr));
  zcrx_uring_socket_forget(fd);
  close(fd);
  CHECK(zcrx_uring_socket_adopt(5000, AF_INET) == -EMFILE);
}

TEST_CASE("uring compat datapath: io_uring_wait_cqes waits for wait_nr, -ETIME with fewer") {
  CompatRing r;
  UserMemory m;
  Registration g(m);
  REQUIRE(io_uring_register_ifq(&r.ring, &g.reg) == 0);
  const uint8_t byte = 0x7e;
  for (unsigned i = 0; i < 2; i++)
    REQUIRE(r.srv.post(0, g.reg.zcrx_id, 4096 * i, &byte, 1, 200 + i));
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec ts{0, 2000000};
  CHECK(io_uring_wait_cqes(&r.ring, &cqe, 3, &ts, nullptr) == -ETIME);
  CHECK(cqe == nullptr);
  CHECK(io_uring_cq_ready(&r.ring) == 2);
  REQUIRE(io_uring_wait_cqes(&r.ring, &cqe, 2, &ts, nullptr) == 0);
  REQUIRE(cqe != nullptr);
  CHECK(cqe->user_data == 200);
  sigset_t mask;
  sigemptyset(&mask);
  CHECK(io_uring_wait_cqes(&r.ring, &cqe, 1, &ts, &mask) == -EINVAL);
  __kernel_timespec bad{0, 1000000000};
  CHECK(io_uring_wait_cqes(&r.ring, &cqe, 1, &bad, nullptr) == -EINVAL);
  CHECK(io_uring_wait_cqes(&r.ring, &cqe, r.ring.cq.ring_entries + 1, &ts, nullptr) == -EINVAL);
}

TEST_CASE("uring compat datapath: io_uring_params keep the kernel's zero cq_off.resv1") {
  io_uring ring{};
  io_uring_params p{};
  p.flags = kZcrxFlags;
  CompatServer server;
  REQUIRE(io_uring_queue_init_params(8, &ring, &p) == 0);
  CHECK(p.cq_off.resv1 == 0);
  CHECK(p.cq_off.flags != 0);
  io_uring_queue_exit(&ring);
}
