// SPDX-License-Identifier: MIT
// SEND from the program's own memory through the liburing-compatible API
// against the fake zcrxd: io_uring_submit copies the bytes into the TX
// region (zcrxd reads no program memory), so the program may reuse its
// buffer at once as with the kernel; a full region gives short and then
// zero-byte sends, and room comes back when the SEND's CQE is consumed.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "compat_fixture.h"

namespace {

std::vector<zcrx::uapi::io_uring_sqe> send_and_see(CompatRing& r, const void* buf, size_t len,
                                                   uint64_t data) {
  io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
  REQUIRE(sqe != nullptr);
  io_uring_prep_send(sqe, 1030, buf, len, 0);
  io_uring_sqe_set_data64(sqe, data);
  REQUIRE(io_uring_submit(&r.ring) == 1);
  std::vector<zcrx::uapi::io_uring_sqe> seen;
  REQUIRE(r.srv.drain_sq(0, seen) == 1);
  return seen;
}

void complete(CompatRing& r, uint64_t data, int32_t res) {
  zcrx::uapi::io_uring_cqe32 c{};
  c.cqe.user_data = data;
  c.cqe.res = res;
  REQUIRE(r.srv.post_raw(0, c));
  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&r.ring, &cqe) == 0);
  CHECK(io_uring_cqe_get_data64(cqe) == data);
  io_uring_cqe_seen(&r.ring, cqe);
}

}  // namespace

TEST_CASE("uring compat send: a SEND from a stack buffer reaches zcrxd byte for byte from the TX region") {
  CompatRing r;
  uint8_t buf[300];
  for (unsigned i = 0; i < sizeof(buf); i++) buf[i] = static_cast<uint8_t>(i * 13 + 1);
  const std::vector<uint8_t> want(buf, buf + sizeof(buf));
  auto seen = send_and_see(r, buf, sizeof(buf), 5);
  std::memset(buf, 0, sizeof(buf));  // the kernel copied at issue: so do we
  CHECK(seen[0].opcode == zcrx::uapi::kOpSend);
  CHECK(seen[0].len == 300);
  CHECK(seen[0].addr != reinterpret_cast<uintptr_t>(buf));
  CHECK(r.srv.tx_bytes(0, seen[0].addr, seen[0].len) == want);

  // A second one while the first is in flight does not overwrite it.
  std::vector<uint8_t> heap(5000, 0x5a);
  auto seen2 = send_and_see(r, heap.data(), heap.size(), 6);
  CHECK(seen2[0].len == 5000);
  CHECK(r.srv.tx_bytes(0, seen2[0].addr, 5000) == heap);
  CHECK(r.srv.tx_bytes(0, seen[0].addr, 300) == want);
}

TEST_CASE("uring compat send: a full TX region gives a short then a zero-byte send until a completion is consumed") {
  setenv("ZCRX_URING_TX_BYTES", "8192", 1);
  CompatRing r;
  std::vector<uint8_t> a(6000, 'a'), b(6000, 'b'), c(6000, 'c');
  auto sa = send_and_see(r, a.data(), a.size(), 1);  // the region is set up here
  unsetenv("ZCRX_URING_TX_BYTES");
  CHECK(sa[0].len == 6000);
  auto sb = send_and_see(r, b.data(), b.size(), 2);
  CHECK(sb[0].len == 8192 - 6000);  // short: what fits
  CHECK(r.srv.tx_bytes(0, sb[0].addr, sb[0].len) == std::vector<uint8_t>(2192, 'b'));
  auto sc = send_and_see(r, c.data(), c.size(), 3);
  CHECK(sc[0].len == 0);  // no room

  // A CQE of another request with the same ring gives nothing back.
  complete(r, 99, 0);
  CHECK(send_and_see(r, c.data(), c.size(), 4)[0].len == 0);

  complete(r, 1, 6000);  // the first SEND's bytes are zcrxd's: room again
  auto sd = send_and_see(r, c.data(), c.size(), 5);
  CHECK(sd[0].len == 6000);
  CHECK(r.srv.tx_bytes(0, sd[0].addr, 6000) == c);
  CHECK(r.srv.tx_bytes(0, sb[0].addr, sb[0].len) == std::vector<uint8_t>(2192, 'b'));
  complete(r, 2, 2192);
  complete(r, 5, 6000);
  auto se = send_and_see(r, a.data(), a.size(), 6);  // all free: the whole run
  CHECK(se[0].len == 6000);
}
