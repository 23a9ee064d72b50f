// SPDX-License-Identifier: MIT
// The C API (zcrx/zcrx.h) over the fake server, and its C compilation.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "c_api_smoke.h"
#include "fake_server.h"
#include "zcrx/client.h"
#include "zcrx/pattern.h"
#include "zcrx/zcrx.h"

TEST_CASE("c api: errors from C: not connected, missing socket") {
  CHECK(c_api_not_connected() == -ENOENT);
}

TEST_CASE("c api: prep from C writes the kernel SQE layout") {
  zcrx::uapi::io_uring_sqe sqe{};
  std::memset(&sqe, 0xff, sizeof(sqe));
  REQUIRE(c_api_prep(&sqe) == 0);
  CHECK(sqe.opcode == zcrx::uapi::kOpRecvZc);
  CHECK(sqe.fd == 3);
  CHECK(sqe.zcrx_ifq_idx == 1);
  CHECK(sqe.ioprio == zcrx::uapi::kRecvMultishot);
  CHECK(sqe.user_data == 99);
  CHECK(sqe.addr == 0);  // zeroed, not left over
}

TEST_CASE("c api: the datagram-end flag is zcrxd's bit 16, above the kernel's CQE flags") {
  CHECK(ZCRX_CQE_F_DGRAM_END == zcrx::proto::kCqeFDatagramEnd);
  CHECK(ZCRX_CQE_F_DGRAM_END == (1u << zcrx::uapi::kCqeBufferShift));
  CHECK(c_api_datagram_end(ZCRX_CQE_F_MORE | ZCRX_CQE_F_DGRAM_END) == 1);
  CHECK(c_api_datagram_end(ZCRX_CQE_F_DGRAM_END) == 1);
  CHECK(c_api_datagram_end(ZCRX_CQE_F_MORE) == 0);
  CHECK(c_api_datagram_end(0) == 0);
  zcrx::uapi::io_uring_cqe32 c{};
  c.cqe.flags = zcrx::uapi::kCqeFMore | zcrx::proto::kCqeFDatagramEnd;
  CHECK(zcrx::is_datagram_end(c));
  c.cqe.flags = zcrx::uapi::kCqeFMore;
  CHECK_FALSE(zcrx::is_datagram_end(c));
  // Every kernel flag is below it.
  for (uint32_t f : {zcrx::uapi::kCqeFBuffer, zcrx::uapi::kCqeFMore, zcrx::uapi::kCqeFSockNonempty,
                     zcrx::uapi::kCqeFNotif, zcrx::uapi::kCqeFBufMore, zcrx::uapi::kCqeFSkip,
                     zcrx::uapi::kCqeF32}) {
    CHECK(f < (1u << 16));
    CHECK(c_api_datagram_end(f) == 0);
  }
}

TEST_CASE("c api: a receive round trip with refill") {
  fake::Server srv;
  zcrx_ring* ring = nullptr;
  REQUIRE(zcrx_ring_new(&ring) == 0);
  REQUIRE(zcrx_attach(ring, srv.open_session()) == 0);
  REQUIRE(zcrx_create(ring, 8, 16) == 0);
  CHECK(zcrx_ring_fd(ring) >= 0);
  zcrx_ifq_params p = ZCRX_IFQ_PARAMS_INIT;
  p.area_len = 1 << 20;
  p.rq_entries = 16;
  zcrx_ifq* ifq = nullptr;
  int id = zcrx_register_ifq(ring, &p, &ifq);
  REQUIRE(id >= 0);
  CHECK(zcrx_ifq_id(ifq) == static_cast<uint32_t>(id));
  int flow = zcrx_open_udp_flow(ring, id, 7000);
  REQUIRE(flow >= 0);
  CHECK(zcrx_open_raw_flow(ring, id + 1) == -EINVAL);  // no such zcrx id
  zcrx_prep_recv_zc(zcrx_get_sqe(ring), flow, id, 0, 1, 5);
  CHECK(zcrx_submit(ring) == 1);
  uint8_t payload[200];
  zcrx::pattern::fill(payload, sizeof(payload), 77);
  REQUIRE(srv.post(0, id, 4096, payload, sizeof(payload), 5));
  REQUIRE(zcrx_wait_cqe(ring, 1, 0, 1000000000) == 1);
  zcrx_cqe32 c[4];
  REQUIRE(zcrx_peek_cqes(ring, c, 4) == 1);
  CHECK(c[0].user_data == 5);
  CHECK(c[0].res == 200);
  CHECK((c[0].flags & ZCRX_CQE_F_MORE) != 0);
  const void* d = zcrx_ifq_data(ifq, &c[0]);
  REQUIRE(d != nullptr);
  CHECK(std::memcmp(d, payload, sizeof(payload)) == 0);
  CHECK(zcrx_ifq_refill(ifq, &c[0]) == 1);
  zcrx_cqe32 bad = c[0];
  bad.off ^= uint64_t{1} << 60;  // another area's token
  CHECK(zcrx_ifq_data(ifq, &bad) == nullptr);
  CHECK(zcrx_ifq_refill(ifq, &bad) == 0);
  zcrx_cq_advance(ring, 1);
  CHECK(zcrx_cq_ready(ring) == 0);
  zcrx_ifq_flush_refills(ifq);
  std::vector<zcrx::uapi::io_uring_zcrx_rqe> rqes;
  REQUIRE(srv.drain_rq(0, id, rqes) == 1);
  CHECK(rqes[0].off == c[0].off);
  CHECK(zcrx_flush_rq(ring, id) == 0);
  int efd = zcrx_export(ring, id);
  CHECK(efd >= 0);
  if (efd >= 0) close(efd);
  CHECK(zcrx_close_flow(ring, flow) == 0);
  zcrx_ring_free(ring);
}
