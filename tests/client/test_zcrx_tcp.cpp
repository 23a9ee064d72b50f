// SPDX-License-Identifier: MIT
// The zcrx_tcp example as a separate process against the fake server, the
// test playing zcrxd's TCP datapath by hand: it reads each SQE zcrx_tcp
// submits and answers with the CQEs zcrxd would post (proto.h "TCP
// sockets"). Checked: the SQEs' fields, the stream check (a split header,
// a flipped byte), the re-arms a RECV_ZC needs after ending without
// F_MORE, EOF and reset handling, every buffer refilled, the client's
// SENDs carrying the stream from its TX region, and exit status 77 from a
// zcrxd without TCP.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "child_proc.h"
#include "fake_server.h"
#include "tcp_pattern.h"

using zcrx::uapi::io_uring_cqe32;
using zcrx::uapi::io_uring_sqe;

namespace {

const char* zcrx_tcp_bin() {
  const char* p = std::getenv("ZCRX_TCP_BIN");
  return p && *p ? p : "examples/zcrx_tcp/zcrx_tcp";
}

std::string tmp_path(const char* what) {
  return "/tmp/zcrx-tcp-test-" + std::to_string(getpid()) + "-" + what + ".sock";
}

bool wait_until(const std::function<bool()>& cond, int timeout_ms = 20000) {
  for (int i = 0; i < timeout_ms / 2; i++) {
    if (cond()) return true;
    usleep(2000);
  }
  return cond();
}

constexpr uint32_t kPeer = (10u << 24) | (77u << 16) | 1u;  // 10.77.0.1

// zcrxd's side of one session, played by the test.
struct Zcrxd {
  explicit Zcrxd(fake::Server& s) : srv(s) {}
  fake::Server& srv;
  std::vector<io_uring_sqe> pending;
  uint64_t next_buf = 0;    // area offsets handed out in turn
  uint64_t data_cqes = 0;
  uint64_t accept_ud = 0;   // the multishot ACCEPT's user_data

  // The next SQE zcrx_tcp submits.
  io_uring_sqe next_sqe() {
    REQUIRE(wait_until([&] {
      if (!pending.empty()) return true;
      // The session exists once zcrx_tcp connected (served counts it).
      if (srv.served[zcrx::proto::kOpCreateRing] == 0) return false;
      srv.drain_sq(0, pending);
      return !pending.empty();
    }));
    io_uring_sqe s = pending.front();
    pending.erase(pending.begin());
    return s;
  }

  void cqe(uint64_t user_data, int32_t res, uint32_t flags, uint64_t off = 0) {
    io_uring_cqe32 c{};
    c.cqe.user_data = user_data;
    c.cqe.res = res;
    c.cqe.flags = flags;
    c.zcqe.off = off;
    REQUIRE(srv.post_raw(0, c));
  }

  // One buffer of stream bytes [off, off + len) of `stream` (len <= 4096).
  void data(uint64_t user_data, uint64_t stream, uint64_t off, uint32_t len,
            uint32_t flags = zcrx::uapi::kCqeFMore, long flip_at = -1) {
    std::vector<uint8_t> b(len);
    tcp_pattern_fill(b.data(), len, stream, off);
    if (flip_at >= 0) b[static_cast<size_t>(flip_at)] ^= 0x40;
    REQUIRE(srv.post(0, 0, (next_buf++ % 256) * 4096, b.data(), len, user_data, flags));
    data_cqes++;
  }

  size_t refills() {
    std::vector<zcrx::uapi::io_uring_zcrx_rqe> rqes;
    return srv.drain_rq(0, 0, rqes);
  }
};

// The first connection: the ACCEPT SQE (on listener 1024) answered with
// `sock`, then its RECV_ZC SQE; returns that SQE's user_data.
uint64_t accept_one(Zcrxd& z, uint32_t sock = 1025) {
  const io_uring_sqe acc = z.next_sqe();
  CHECK(acc.opcode == zcrx::uapi::kOpAccept);
  CHECK(acc.fd == 1024);
  CHECK(acc.ioprio == zcrx::uapi::kAcceptMultishot);
  z.accept_ud = acc.user_data;
  z.cqe(acc.user_data, static_cast<int32_t>(sock), zcrx::uapi::kCqeFMore,
        (uint64_t{kPeer} << 32) | (uint64_t{40000} << 16));
  const io_uring_sqe rz = z.next_sqe();
  CHECK(rz.opcode == zcrx::uapi::kOpRecvZc);
  CHECK(rz.fd == static_cast<int32_t>(sock));
  CHECK(rz.zcrx_ifq_idx == 0);
  CHECK((rz.ioprio & zcrx::uapi::kRecvMultishot) != 0);
  CHECK(rz.len == 0);
  return rz.user_data;
}

// Expects the CLOSE of `sock` and completes it.
void expect_close(Zcrxd& z, uint32_t sock) {
  const io_uring_sqe cl = z.next_sqe();
  CHECK(cl.opcode == zcrx::uapi::kOpClose);
  CHECK(cl.fd == static_cast<int32_t>(sock));
  z.cqe(cl.user_data, 0, 0);
}

}  // namespace

TEST_CASE("zcrx_tcp server: verifies a stream, re-arms RECV_ZC, closes at EOF, refills all") {
  fake::Server srv;
  const std::string path = tmp_path("srv");
  REQUIRE(srv.listen_on(path.c_str()) == 0);
  child::Proc p;
  child::spawn(p, zcrx_tcp_bin(), {"--socket", path, "--listen", "10.77.0.2:5001",
                                   "--connections", "1", "--bytes", "20000", "--busy-poll",
                                   "--quiet", "--area-mb", "2", "--rq-entries", "512",
                                   "--cq-entries", "1024", "--timeout", "30"});
  Zcrxd z(srv);
  const uint64_t ud = accept_one(z);
  // Stream 0 (the only one --connections 1 allows): its 8-byte header
  // split over two CQEs.
  z.data(ud, 0, 0, 3);
  z.data(ud, 0, 3, 4093);
  // Data without F_MORE: the request ended, zcrx_tcp must arm it again.
  z.data(ud, 0, 4096, 4096, 0);
  io_uring_sqe re = z.next_sqe();
  CHECK(re.opcode == zcrx::uapi::kOpRecvZc);
  CHECK(re.fd == 1025);
  const uint64_t ud2 = re.user_data;
  z.data(ud2, 0, 8192, 4096);
  // A request that ends with an error other than a reset (no buffers):
  // armed again too.
  z.cqe(ud2, -ENOBUFS, 0);
  re = z.next_sqe();
  CHECK(re.opcode == zcrx::uapi::kOpRecvZc);
  z.data(re.user_data, 0, 12288, 4096);
  z.data(re.user_data, 0, 16384, 20000 - 16384);
  z.cqe(re.user_data, 0, 0);  // EOF
  expect_close(z, 1025);
  child::finish(p, 30);
  INFO("output: ", p.text);
  CHECK(child::exit_code(p) == 0);
  CHECK(child::result_value(p, "connections") == 1);
  CHECK(child::result_value(p, "bytes") == 20000);
  CHECK(child::result_value(p, "bad_bytes") == 0);
  CHECK(child::result_value(p, "errors") == 0);
  CHECK(child::result_value(p, "rearms") == 2);
  CHECK(child::result_value(p, "outstanding") == 0);
  CHECK(z.refills() == z.data_cqes);
}

TEST_CASE("zcrx_tcp server: a flipped byte, a short stream and a reset are each a failure") {
  fake::Server srv;
  const std::string path = tmp_path("bad");
  REQUIRE(srv.listen_on(path.c_str()) == 0);
  child::Proc p;
  child::spawn(p, zcrx_tcp_bin(), {"--socket", path, "--listen", "0.0.0.0:5001",
                                   "--connections", "3", "--bytes", "8192", "--busy-poll",
                                   "--quiet", "--area-mb", "2", "--cq-entries", "1024",
                                   "--timeout", "30"});
  Zcrxd z(srv);
  // Connection 1, stream 0: one byte flipped at stream offset 5000.
  uint64_t ud = accept_one(z, 1025);
  z.data(ud, 0, 0, 4096);
  z.data(ud, 0, 4096, 4096, zcrx::uapi::kCqeFMore, 5000 - 4096);
  z.cqe(ud, 0, 0);
  expect_close(z, 1025);
  // Connection 2, stream 1: EOF after 4096 of 8192 bytes. The ACCEPT is
  // still armed (F_MORE): no new SQE, the next CQE under its user_data.
  z.cqe(z.accept_ud, 1026, zcrx::uapi::kCqeFMore, uint64_t{kPeer} << 32);
  io_uring_sqe rz = z.next_sqe();
  CHECK(rz.opcode == zcrx::uapi::kOpRecvZc);
  CHECK(rz.fd == 1026);
  z.data(rz.user_data, 1, 0, 4096);
  z.cqe(rz.user_data, 0, 0);
  expect_close(z, 1026);
  // Connection 3, stream 2: reset half-way. The ACCEPT ended (no F_MORE):
  // zcrx_tcp arms it again.
  z.cqe(z.accept_ud, 1027, 0, uint64_t{kPeer} << 32);
  io_uring_sqe a = z.next_sqe();
  io_uring_sqe b = z.next_sqe();
  if (a.opcode != zcrx::uapi::kOpAccept) std::swap(a, b);
  CHECK(a.opcode == zcrx::uapi::kOpAccept);
  CHECK(a.ioprio == zcrx::uapi::kAcceptMultishot);
  CHECK(b.opcode == zcrx::uapi::kOpRecvZc);
  CHECK(b.fd == 1027);
  z.data(b.user_data, 2, 0, 4096);
  z.cqe(b.user_data, -ECONNRESET, 0);
  expect_close(z, 1027);
  child::finish(p, 30);
  INFO("output: ", p.text);
  CHECK(child::exit_code(p) == 1);
  CHECK(child::result_value(p, "connections") == 0);
  CHECK(child::result_value(p, "ended") == 3);
  CHECK(child::result_value(p, "errors") == 3);
  CHECK(child::result_value(p, "bad_bytes") == 1);
  CHECK(child::result_value(p, "resets") == 1);
  CHECK(child::result_value(p, "bytes") == 8192 + 4096 + 4096);
  CHECK(child::result_value(p, "outstanding") == 0);
  CHECK(p.text.find("\"problem\":\"got 4096 bytes, expected 8192\"") != std::string::npos);
  CHECK(z.refills() == z.data_cqes);
}

TEST_CASE("zcrx_tcp client: CONNECT inline, the stream in SENDs from the TX region, SHUT_WR, EOF") {
  fake::Server srv;
  const std::string path = tmp_path("cli");
  REQUIRE(srv.listen_on(path.c_str()) == 0);
  child::Proc p;
  constexpr uint32_t kBytes = 10000;
  child::spawn(p, zcrx_tcp_bin(), {"--socket", path, "--connect", "10.77.0.1:5002", "--bytes",
                                   std::to_string(kBytes), "--chunk-kb", "4", "--busy-poll",
                                   "--quiet", "--area-mb", "1", "--sq-entries", "64", "--cq-entries", "256",
                                   "--timeout", "30"});
  Zcrxd z(srv);
  const io_uring_sqe co = z.next_sqe();
  CHECK(co.opcode == zcrx::uapi::kOpConnect);
  CHECK(co.fd == 1024);
  CHECK(co.addr3 == (uint64_t{htonl(kPeer)} | (uint64_t{5002} << 32)));
  CHECK(co.addr == 0);
  z.cqe(co.user_data, 0, 0);
  uint64_t off = 0;
  while (off < kBytes) {
    const io_uring_sqe se = z.next_sqe();
    REQUIRE(se.opcode == zcrx::uapi::kOpSend);
    CHECK(se.fd == 1024);
    CHECK(se.len == std::min<uint64_t>(4096, kBytes - off));
    const std::vector<uint8_t> got = srv.tx_bytes(0, se.addr, se.len);
    REQUIRE(got.size() == se.len);  // inside the registered TX region
    CHECK(tcp_pattern_count_mismatches(got.data(), got.size(), 0, off) == 0);
    off += se.len;
    z.cqe(se.user_data, static_cast<int32_t>(se.len), 0);
  }
  const io_uring_sqe sh = z.next_sqe();
  CHECK(sh.opcode == zcrx::uapi::kOpShutdown);
  CHECK(sh.len == SHUT_WR);
  z.cqe(sh.user_data, 0, 0);
  const io_uring_sqe rz = z.next_sqe();
  CHECK(rz.opcode == zcrx::uapi::kOpRecvZc);
  CHECK(rz.fd == 1024);
  z.cqe(rz.user_data, 0, 0);  // the peer read it all and closed
  expect_close(z, 1024);
  child::finish(p, 30);
  INFO("output: ", p.text);
  CHECK(child::exit_code(p) == 0);
  CHECK(child::result_value(p, "connections") == 1);
  CHECK(child::result_value(p, "bytes") == kBytes);
  CHECK(child::result_value(p, "errors") == 0);
  const auto ops = srv.socket_ops();
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].op == zcrx::proto::kOpRegisterTx);
  CHECK(ops[1].op == zcrx::proto::kOpSocket);
}

TEST_CASE("zcrx_tcp: a zcrxd without a TCP endpoint is exit 77, said so") {
  fake::Server srv;
  srv.tcp = false;
  const std::string path = tmp_path("notcp");
  REQUIRE(srv.listen_on(path.c_str()) == 0);
  child::Proc p;
  child::spawn(p, zcrx_tcp_bin(), {"--socket", path, "--listen", "10.77.0.2:5001", "--quiet",
                                   "--area-mb", "1", "--sq-entries", "64", "--cq-entries", "256"});
  child::finish(p, 30);
  CHECK(child::exit_code(p) == 77);
}
