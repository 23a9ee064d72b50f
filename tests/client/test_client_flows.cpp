// SPDX-License-Identifier: MIT
// libzcrx against the in-process fake server: every control flow, the
// SQ/CQ datapath, refill accounting and the handling of bad replies.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "fake_server.h"
#include "zcrx/client.h"
#include "zcrx/pattern.h"

using namespace zcrx;
using namespace zcrx::proto;

namespace {

int open_fd_count() {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) n += fcntl(fd, F_GETFD) >= 0;
  return n;
}

// A ring attached to a new fake session, created and with one registered
// ifq of 1 MiB.
struct Fixture {
  fake::Server srv;
  Ring ring;
  Ifq* ifq = nullptr;
  int id = -1;

  explicit Fixture(uint32_t sq = 8, uint32_t cq = 16, uint32_t rq = 16) {
    REQUIRE(ring.attach(srv.open_session()) == 0);
    REQUIRE(ring.create(sq, cq) == 0);
    IfqParams p;
    p.rq_entries = rq;
    p.area_len = 1 << 20;
    id = ring.register_ifq(p, &ifq);
    REQUIRE(id >= 0);
    REQUIRE(ifq != nullptr);
  }
};

/// The system calls the calling thread makes while `f` runs, as the
/// kernel counts them (tracepoint raw_syscalls:sys_enter), the counter's
/// own ioctl taken out; -1 where the tracepoint or perf is not available.
long long syscalls_during(const std::function<void()>& f) {
  long long id = -1;
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    std::string path = std::string(dir) + "/events/raw_syscalls/sys_enter/id";
    if (FILE* in = std::fopen(path.c_str(), "r")) {
      if (std::fscanf(in, "%lld", &id) != 1) id = -1;
      std::fclose(in);
    }
    if (id >= 0) break;
  }
  if (id < 0) return -1;
  perf_event_attr a{};
  a.type = PERF_TYPE_TRACEPOINT;
  a.size = sizeof(a);
  a.config = static_cast<uint64_t>(id);
  a.disabled = 1;
  const int fd = static_cast<int>(syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) return -1;
  auto count = [fd](const std::function<void()>& g) {
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    g();
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    long long n = -1;
    if (read(fd, &n, sizeof(n)) != sizeof(n)) n = -1;
    return n;
  };
  const long long own = count([] {});  // the DISABLE ioctl
  const long long n = count(f);
  close(fd);
  return n < 0 || own < 0 ? -1 : n - own;
}

uapi::io_uring_cqe32 cqe_at(uint64_t token, uint64_t offset, int32_t res) {
  uapi::io_uring_cqe32 c{};
  c.cqe.res = res;
  c.cqe.flags = uapi::kCqeFMore;
  c.zcqe.off = token | offset;
  return c;
}

}  // namespace

TEST_CASE("flow: create maps a validated region; a second create is -EEXIST") {
  fake::Server srv;
  Ring ring;
  CHECK(ring.create(8) == -ENOTCONN);
  REQUIRE(ring.attach(srv.open_session()) == 0);
  CHECK(ring.attach(0) == -EISCONN);
  REQUIRE(ring.create(5, 0) == 0);
  CHECK(ring.layout().sq_entries == 8);
  CHECK(ring.layout().cq_entries == 16);
  CHECK(ring.ring_fd() >= 0);
  CHECK(ring.create(8) == -EEXIST);
  CHECK(ring.cq_ready() == 0);
}

TEST_CASE("flow: errors from the server come back as its errno") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  IfqParams p;
  p.area_len = 4096;
  Ifq* q = nullptr;
  CHECK(ring.register_ifq(p, &q) == -EBADFD);  // no ring yet
  CHECK(ring.create(0) == -EINVAL);            // validated by the server
  REQUIRE(ring.create(8) == 0);
  p.rq_entries = 0;
  CHECK(ring.register_ifq(p, &q) == -EINVAL);
  CHECK(ring.flush_rq(3) == -ENXIO);
  CHECK(ring.export_ifq(3) == -ENXIO);
  CHECK(ring.close_flow(77) == -ENOENT);
  CHECK(ring.disable_eventfd() == -ENXIO);
}

TEST_CASE("flow: open flow, prep RECV_ZC/NOP/cancel, submit publishes exact SQEs") {
  Fixture f;
  int flow = f.ring.open_flow(f.id, FlowSpec::udp(9000));
  REQUIRE(flow >= 0);
  // Another ring with its own ifq may not take the flow, nor may this ring
  // open it twice; a clone of the ifq on another ring joins its group.
  CHECK(f.ring.open_flow(f.id, FlowSpec::udp(9000)) == -EEXIST);
  {
    Ring other;
    REQUIRE(other.attach(f.srv.open_session()) == 0);
    REQUIRE(other.create(8) == 0);
    IfqParams p;
    p.area_len = 4096;
    Ifq* q = nullptr;
    int oid = other.register_ifq(p, &q);
    REQUIRE(oid >= 0);
    CHECK(other.open_flow(oid, FlowSpec::udp(9000)) == -EEXIST);
    CHECK(other.open_flow(oid, FlowSpec::udp(9001)) >= 0);
  }
  {
    Ring other;
    REQUIRE(other.attach(f.srv.open_session()) == 0);
    REQUIRE(other.create(8) == 0);
    Ifq* c = nullptr;
    int cid = other.clone_ifq(f.ring.ring_fd(), f.id, 16, &c);
    REQUIRE(cid >= 0);
    CHECK(other.open_flow(cid, FlowSpec::udp(9000)) >= 0);
  }
  prep_recv_zc(f.ring.get_sqe(), flow, f.id, 0, true, 11);
  prep_recv_zc(f.ring.get_sqe(), flow, f.id, 4096, false, 12);
  prep_nop(f.ring.get_sqe(), 13);
  prep_cancel(f.ring.get_sqe(), 11, 14);
  std::vector<uapi::io_uring_sqe> sqes;
  CHECK(f.srv.drain_sq(0, sqes) == 0);  // nothing visible before submit
  CHECK(f.ring.submit() == 4);
  REQUIRE(f.srv.drain_sq(0, sqes) == 4);
  CHECK(sqes[0].opcode == uapi::kOpRecvZc);
  CHECK(sqes[0].fd == flow);
  CHECK(sqes[0].zcrx_ifq_idx == static_cast<uint32_t>(f.id));
  CHECK(sqes[0].ioprio == uapi::kRecvMultishot);
  CHECK(sqes[0].len == 0);
  CHECK(sqes[0].user_data == 11);
  CHECK(sqes[1].ioprio == 0);
  CHECK(sqes[1].len == 4096);
  CHECK(sqes[2].opcode == uapi::kOpNop);
  CHECK(sqes[2].user_data == 13);
  CHECK(sqes[3].opcode == uapi::kOpAsyncCancel);
  CHECK(sqes[3].addr == 11);
  CHECK(sqes[3].user_data == 14);
  CHECK(f.ring.close_flow(static_cast<uint32_t>(flow)) == 0);
  CHECK(f.ring.close_flow(static_cast<uint32_t>(flow)) == -ENOENT);
}

TEST_CASE("flow: SQ full gives no SQE until zcrxd consumes") {
  Fixture f(4, 8);
  for (int i = 0; i < 4; i++) CHECK(f.ring.get_sqe() != nullptr);
  CHECK(f.ring.get_sqe() == nullptr);
  CHECK(f.ring.submit() == 4);
  CHECK(f.ring.get_sqe() == nullptr);
  std::vector<uapi::io_uring_sqe> sqes;
  CHECK(f.srv.drain_sq(0, sqes) == 4);
  CHECK(f.ring.get_sqe() != nullptr);
}

TEST_CASE("flow: payloads arrive byte-exact and every buffer is refilled once") {
  Fixture f(8, 64, 64);
  const uint32_t buf = f.ifq->rx_buf_len();
  REQUIRE(buf == 4096);
  uint64_t posted_bytes = 0;
  for (uint32_t i = 0; i < 40; i++) {
    uint8_t payload[1500];
    uint32_t len = 64 + i * 30;
    pattern::fill(payload, len, 1000 + i);
    REQUIRE(f.srv.post(0, f.id, uint64_t{i} * buf + 128, payload, len, 7));
    posted_bytes += len;
  }
  REQUIRE(f.ring.wait_cqe(40, WaitMode::busy_poll, 1000000000) == 40);
  uint64_t got = 0, seq_expect = 1000;
  unsigned bad = 0;
  f.ring.for_each_cqe([&](const uapi::io_uring_cqe32& c) {
    const uint8_t* p = f.ifq->data(c);
    REQUIRE(p != nullptr);
    size_t len = static_cast<size_t>(c.cqe.res);
    if (pattern::first_mismatch(p, len) != len || pattern::seq_of(p, len) != seq_expect) bad++;
    seq_expect++;
    got += len;
    CHECK(c.cqe.user_data == 7);
    CHECK((c.cqe.flags & uapi::kCqeFMore) != 0);
    CHECK(f.ifq->refill(c));
  });
  CHECK(bad == 0);
  CHECK(got == posted_bytes);
  CHECK(f.ring.cq_ready() == 0);
  std::vector<uapi::io_uring_zcrx_rqe> rqes;
  CHECK(f.srv.drain_rq(0, f.id, rqes) == 0);  // queued, not yet published
  CHECK(f.ifq->refills_queued() == 40);
  f.ifq->flush_refills();
  REQUIRE(f.srv.drain_rq(0, f.id, rqes) == 40);
  for (uint32_t i = 0; i < 40; i++) {
    CHECK(rqes[i].off == (f.ifq->area_token() | (uint64_t{i} * buf + 128)));
    CHECK(rqes[i].len == 64 + i * 30);
    CHECK(rqes[i].__pad == 0);
  }
}

TEST_CASE("bounds: data() and refill() reject CQEs outside this ifq's area") {
  Fixture f;
  const uint64_t tok = f.ifq->area_token();
  const uint64_t len = f.ifq->area_len();
  REQUIRE(len == (1u << 20));
  CHECK(f.ifq->data(cqe_at(tok, 0, 100)) == f.ifq->area());
  CHECK(f.ifq->data(cqe_at(tok, len - 4096, 4096)) == f.ifq->area() + len - 4096);
  SUBCASE("wrong token") {
    auto c = cqe_at(tok + uapi::area_token(1), 0, 100);
    CHECK(f.ifq->data(c) == nullptr);
    CHECK_FALSE(f.ifq->refill(c));
  }
  SUBCASE("offset past the end") {
    auto c = cqe_at(tok, len, 1);
    CHECK(f.ifq->data(c) == nullptr);
    CHECK_FALSE(f.ifq->refill(c));
  }
  SUBCASE("length past the end") {
    auto c = cqe_at(tok, len - 100, 101);
    CHECK(f.ifq->data(c) == nullptr);
  }
  SUBCASE("offset bits just under the token") {
    auto c = cqe_at(tok, (uint64_t{1} << uapi::kZcrxAreaShift) - 1, 1);
    CHECK(f.ifq->data(c) == nullptr);
  }
  SUBCASE("spans two rx buffers") {
    auto c = cqe_at(tok, 4000, 200);
    CHECK(f.ifq->data(c) == nullptr);
    CHECK_FALSE(f.ifq->refill(c));
  }
  SUBCASE("res zero or negative names no buffer") {
    CHECK(f.ifq->data(cqe_at(tok, 0, 0)) == nullptr);
    CHECK(f.ifq->data(cqe_at(tok, 0, -ENOBUFS)) == nullptr);
    CHECK_FALSE(f.ifq->refill(cqe_at(tok, 0, -ENOBUFS)));
  }
  f.ifq->flush_refills();
  std::vector<uapi::io_uring_zcrx_rqe> rqes;
  f.srv.drain_rq(0, f.id, rqes);
  CHECK(rqes.empty());
}

TEST_CASE("refill: a full RQ refuses more until zcrxd drains it") {
  Fixture f(8, 16, 8);
  REQUIRE(f.ifq->rq_entries() == 8);
  const uint64_t tok = f.ifq->area_token();
  for (uint32_t i = 0; i < 8; i++) CHECK(f.ifq->refill(cqe_at(tok, i * 4096, 10)));
  CHECK_FALSE(f.ifq->refill(cqe_at(tok, 8 * 4096, 10)));
  f.ifq->flush_refills();
  CHECK(f.ifq->rq_free() == 0);
  CHECK_FALSE(f.ifq->refill(cqe_at(tok, 8 * 4096, 10)));
  std::vector<uapi::io_uring_zcrx_rqe> rqes;
  CHECK(f.srv.drain_rq(0, f.id, rqes) == 8);
  CHECK(f.ifq->rq_free() == 8);
  CHECK(f.ifq->refill(cqe_at(tok, 8 * 4096, 10)));
  f.ifq->flush_refills();
  CHECK(f.srv.drain_rq(0, f.id, rqes) == 1);
  CHECK(rqes.back().off == (tok | 8 * 4096));
  CHECK(f.ring.flush_rq(f.id) == 0);
  CHECK(f.srv.flushes == 1);
}

TEST_CASE("export/import: the importer sees the exporter's area read-only, with its own RQ") {
  Fixture f;
  int efd = f.ring.export_ifq(f.id);
  REQUIRE(efd >= 0);
  Ring other;
  REQUIRE(other.attach(f.srv.open_session()) == 0);
  REQUIRE(other.create(8) == 0);
  Ifq* imp = nullptr;
  int iid = other.import_ifq(efd, &imp);
  REQUIRE(iid >= 0);
  close(efd);
  CHECK(imp->shared_area());
  CHECK(imp->area_token() == f.ifq->area_token());
  CHECK(imp->area_len() == f.ifq->area_len());
  uint8_t payload[300];
  pattern::fill(payload, sizeof(payload), 42);
  REQUIRE(f.srv.post(1, iid, 8192 + 64, payload, sizeof(payload), 1));
  REQUIRE(other.wait_cqe(1, WaitMode::busy_poll, 1000000000) == 1);
  uapi::io_uring_cqe32 c;
  REQUIRE(other.peek_cqes(&c, 1) == 1);
  const uint8_t* p = imp->data(c);
  REQUIRE(p != nullptr);
  CHECK(std::memcmp(p, payload, sizeof(payload)) == 0);
  // The same bytes through the exporter's own mapping: one area.
  CHECK(p != f.ifq->area() + 8192 + 64);
  CHECK(std::memcmp(f.ifq->area() + 8192 + 64, payload, sizeof(payload)) == 0);
  CHECK(imp->refill(c));
  imp->flush_refills();
  other.cq_advance(1);
  std::vector<uapi::io_uring_zcrx_rqe> rqes;
  CHECK(f.srv.drain_rq(0, f.id, rqes) == 0);  // not the exporter's RQ
  CHECK(f.srv.drain_rq(1, iid, rqes) == 1);
}

TEST_CASE("import: an fd that is no export is -EBADF; no fd leaks") {
  Fixture f;
  int before = open_fd_count();
  int pfd[2];
  REQUIRE(pipe(pfd) == 0);
  Ifq* q = nullptr;
  CHECK(f.ring.import_ifq(pfd[0], &q) == -EBADF);
  CHECK(f.ring.import_ifq(-1, &q) == -EBADF);
  close(pfd[0]);
  close(pfd[1]);
  CHECK(open_fd_count() == before);
}

TEST_CASE("clone: from another ring's region fd; own ring -EBADFD; unknown id -EINVAL") {
  Fixture f;
  Ring other;
  REQUIRE(other.attach(f.srv.open_session()) == 0);
  REQUIRE(other.create(8) == 0);
  Ifq* c = nullptr;
  CHECK(other.clone_ifq(f.ring.ring_fd(), f.id + 5, 16, &c) == -EINVAL);
  CHECK(f.ring.clone_ifq(f.ring.ring_fd(), f.id, 16, &c) == -EBADFD);
  int cid = other.clone_ifq(f.ring.ring_fd(), f.id, 16, &c);
  REQUIRE(cid >= 0);
  CHECK(c->shared_area());
  CHECK(c->area_token() == f.ifq->area_token());
  CHECK(other.ifq(cid) == c);
  CHECK(other.ifq(cid + 1) == nullptr);
  uint8_t payload[64];
  pattern::fill(payload, sizeof(payload), 5);
  REQUIRE(f.srv.post(1, cid, 0, payload, sizeof(payload), 2));
  REQUIRE(other.wait_cqe(1, WaitMode::busy_poll, 1000000000) == 1);
  unsigned seen = other.for_each_cqe([&](const uapi::io_uring_cqe32& cq) {
    const uint8_t* p = c->data(cq);
    REQUIRE(p != nullptr);
    CHECK(pattern::first_mismatch(p, 64) == 64);
    CHECK(pattern::seq_of(p, 64) == 5);
  });
  CHECK(seen == 1);
}

TEST_CASE("eventfd: wait sleeps until zcrxd posts and wakes; timeout is -ETIME") {
  Fixture f;
  CHECK(f.ring.wait_cqe(1, WaitMode::eventfd, 1000) == -EINVAL);  // none registered
  REQUIRE(f.ring.enable_eventfd() == 0);
  CHECK(f.ring.enable_eventfd() == -EBUSY);
  CHECK(f.ring.wait_cqe(1, WaitMode::eventfd, 2000000) == -ETIME);
  CHECK(f.ring.wait_cqe(1, WaitMode::busy_poll, 2000000) == -ETIME);
  std::thread dp([&] {
    // Wait until the consumer asked for a wakeup, then post and wake it.
    uint8_t payload[32] = {};
    bool woke = false;
    for (int i = 0; i < 20000 && !woke; i++) {
      usleep(100);
      auto* w = reinterpret_cast<uint32_t*>(
          static_cast<char*>(f.srv.session(0).ring_base) + f.ring.layout().cq_off.flags);
      if (std::atomic_ref<uint32_t>(*w).load(std::memory_order_acquire) & kCqNeedWakeup) {
        f.srv.post(0, f.id, 0, payload, sizeof(payload), 9);
        woke = f.srv.maybe_wake(0);
      }
    }
    CHECK(woke);
  });
  int n = f.ring.wait_cqe(1, WaitMode::eventfd, 5000000000);
  dp.join();
  CHECK(n == 1);
  CHECK(f.ring.disable_eventfd() == 0);
  CHECK(f.ring.event_fd() == -1);
}

TEST_CASE("wait: each sleep is one system call, woken or timed out, eventfd or adaptive") {
  Fixture f;
  REQUIRE(f.ring.enable_eventfd() == 0);
  auto* flags = reinterpret_cast<uint32_t*>(static_cast<char*>(f.srv.session(0).ring_base) +
                                            f.ring.layout().cq_off.flags);
  int r = 0;
  long long calls = syscalls_during([&] { r = f.ring.wait_cqe(1, WaitMode::eventfd, 2000000); });
  if (calls < 0) {
    MESSAGE("SKIP: the kernel's syscall tracepoint cannot be counted here");
    return;
  }
  CHECK(r == -ETIME);
  CHECK(calls == 1);
  // Woken: the server sees the wakeup request, posts and writes the eventfd.
  uint64_t user_data = 10;
  auto wake_once = [&] {
    uint8_t payload[32] = {};
    bool woke = false;
    for (int i = 0; i < 20000 && !woke; i++) {
      usleep(100);
      if (std::atomic_ref<uint32_t>(*flags).load(std::memory_order_acquire) & kCqNeedWakeup) {
        f.srv.post(0, f.id, 0, payload, sizeof(payload), user_data);
        woke = f.srv.maybe_wake(0);
      }
    }
    CHECK(woke);
  };
  for (WaitMode mode : {WaitMode::eventfd, WaitMode::adaptive, WaitMode::eventfd}) {
    CAPTURE(static_cast<int>(mode));
    f.ring.set_spin_ns(10000);
    std::thread dp(wake_once);
    calls = syscalls_during([&] { r = f.ring.wait_cqe(1, mode, 5000000000); });
    dp.join();
    REQUIRE(r == 1);
    CHECK(calls == 1);
    uapi::io_uring_cqe32 c{};
    REQUIRE(f.ring.peek_cqes(&c, 1) == 1);
    CHECK(c.cqe.user_data == user_data);
    f.ring.cq_advance(1);
    user_data++;
  }
  // Without a timeout too (the clock is not read at all then).
  std::thread dp(wake_once);
  calls = syscalls_during([&] { r = f.ring.wait_cqe(1, WaitMode::eventfd, -1); });
  dp.join();
  CHECK(r == 1);
  CHECK(calls == 1);
}

TEST_CASE("wait: bad min is -EINVAL; a corrupt CQ tail is -EPROTO") {
  Fixture f(8, 16);
  CHECK(f.ring.wait_cqe(0, WaitMode::busy_poll, 0) == -EINVAL);
  CHECK(f.ring.wait_cqe(17, WaitMode::busy_poll, 0) == -EINVAL);
  auto* tail = reinterpret_cast<uint32_t*>(static_cast<char*>(f.srv.session(0).ring_base) +
                                           f.ring.layout().cq_off.tail);
  std::atomic_ref<uint32_t>(*tail).store(17, std::memory_order_release);  // > CQ size
  CHECK(f.ring.wait_cqe(1, WaitMode::busy_poll, 1000) == -EPROTO);
  CHECK(f.ring.cq_ready() == 0);
  CHECK(f.ring.cq_state() == RingState::corrupt);
}

TEST_CASE("session: destroying the ring ends the session") {
  fake::Server srv;
  int s = srv.open_session();
  {
    Ring ring;
    REQUIRE(ring.attach(s) == 0);
    REQUIRE(ring.create(8) == 0);
  }
  // The server thread returns on EOF; its socket end now reads EOF too.
  for (int i = 0; i < 1000 && srv.session(0).thread.joinable(); i++) {
    char b;
    if (recv(srv.session(0).sock, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0) break;
    usleep(1000);
  }
  char b;
  CHECK(recv(srv.session(0).sock, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0);
}

TEST_CASE("session: session_alive turns false when zcrxd hangs up") {
  fake::Server srv;
  Ring ring;
  CHECK_FALSE(ring.session_alive());
  REQUIRE(ring.attach(srv.open_session()) == 0);
  REQUIRE(ring.create(8) == 0);
  CHECK(ring.session_alive());
  srv.set_hook([](int sock, const MsgHeader&) { shutdown(sock, SHUT_RDWR); });
  CHECK(ring.flush_rq(0) == -ECONNRESET);
  CHECK_FALSE(ring.session_alive());
}

TEST_CASE("datapath: RECV_ZC on a closed flow is -EBADF, without multishot -EINVAL; NOP and cancel complete") {
  Fixture f(8, 64, 16);
  int flow = f.ring.open_flow(f.id, FlowSpec::raw());
  REQUIRE(flow >= 0);
  prep_recv_zc(f.ring.get_sqe(), flow + 1000, f.id, 0, true, 1);
  prep_recv_zc(f.ring.get_sqe(), flow, f.id, 0, false, 2);
  prep_nop(f.ring.get_sqe(), 3);
  prep_recv_zc(f.ring.get_sqe(), flow, f.id, 0, true, 4);
  prep_cancel(f.ring.get_sqe(), 4, 5);
  prep_cancel(f.ring.get_sqe(), 4, 6);  // already gone
  CHECK(f.ring.submit() == 6);
  uint64_t seq = 1;
  f.srv.pump(0, &seq);
  REQUIRE(f.ring.wait_cqe(6, WaitMode::busy_poll, 1000000000) == 6);
  uapi::io_uring_cqe32 c[6];
  REQUIRE(f.ring.peek_cqes(c, 6) == 6);
  f.ring.cq_advance(6);
  CHECK(c[0].cqe.user_data == 1);
  CHECK(c[0].cqe.res == -EBADF);
  CHECK(c[1].cqe.res == -EINVAL);
  CHECK(c[2].cqe.user_data == 3);
  CHECK(c[2].cqe.res == 0);
  CHECK(c[3].cqe.user_data == 4);
  CHECK(c[3].cqe.res == -ECANCELED);
  CHECK((c[3].cqe.flags & uapi::kCqeFMore) == 0);
  CHECK(c[4].cqe.user_data == 5);
  CHECK(c[4].cqe.res == 0);
  CHECK(c[5].cqe.res == -ENOENT);
}

TEST_CASE("datapath: pattern deliveries through pump, refilled buffers go back to the free list") {
  Fixture f(8, 64, 64);
  int flow = f.ring.open_flow(f.id, FlowSpec::udp(5000));
  REQUIRE(flow >= 0);
  prep_recv_zc(f.ring.get_sqe(), flow, f.id, 0, true, 9);
  f.ring.submit();
  uint64_t seq = 1;
  uint64_t got = 0, bad = 0;
  for (int round = 0; round < 50; round++) {
    f.srv.pump(32, &seq);
    f.ring.for_each_cqe([&](const uapi::io_uring_cqe32& c) {
      const uint8_t* p = f.ifq->data(c);
      REQUIRE(p != nullptr);
      size_t len = static_cast<size_t>(c.cqe.res);
      bad += pattern::first_mismatch(p, len) != len;
      got++;
      CHECK(f.ifq->refill(c));
    });
    f.ifq->flush_refills();
  }
  f.srv.pump(0, &seq);  // drains the last refills
  auto d = f.srv.datapath_stats();
  CHECK(got == d.delivered);
  CHECK(got == seq - 1);
  CHECK(bad == 0);
  CHECK(d.refilled == d.delivered);
  CHECK(d.bad_refills == 0);
  CHECK(d.outstanding == 0);
}

TEST_CASE("area: sizes, sealing, and hugetlb where the machine has free huge pages") {
  void* base = nullptr;
  CHECK(create_area(0, false, &base) == -EINVAL);
  CHECK(create_area(4095, false, &base) == -EINVAL);
  CHECK(create_area(4096, true, &base) == -EINVAL);  // hugetlb needs 2 MiB units
  int fd = create_area(8192, false, &base);
  REQUIRE(fd >= 0);
  static_cast<uint8_t*>(base)[8191] = 0xab;  // mapped RW, whole length
  // zcrxd seals it against shrinking under the NIC.
  CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
  CHECK(ftruncate(fd, 4096) == -1);
  CHECK(errno == EPERM);
  munmap(base, 8192);
  close(fd);

  long free_huge = 0;
  if (FILE* f = fopen("/proc/meminfo", "r")) {
    char line[128];
    while (fgets(line, sizeof(line), f))
      if (sscanf(line, "HugePages_Free: %ld", &free_huge) == 1) break;
    fclose(f);
  }
  fd = create_area(2u << 20, true, &base);
  if (free_huge > 0) {
    REQUIRE(fd >= 0);
    munmap(base, 2u << 20);
    close(fd);
  } else {
    MESSAGE("no free huge pages: the hugetlb area must fail cleanly");
    CHECK(fd == -ENOMEM);
  }
}

TEST_CASE("area: a caller's area fd is used when sealable; an unsealable one is -EINVAL") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  REQUIRE(ring.create(8) == 0);
  IfqParams p;
  p.area_len = 64 << 10;
  Ifq* q = nullptr;
  p.area_fd = memfd_create("no-seals", MFD_CLOEXEC);
  REQUIRE(p.area_fd >= 0);
  REQUIRE(ftruncate(p.area_fd, 64 << 10) == 0);
  CHECK(ring.register_ifq(p, &q) == -EINVAL);
  close(p.area_fd);
  p.area_fd = memfd_create("sealable", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  REQUIRE(p.area_fd >= 0);
  REQUIRE(ftruncate(p.area_fd, 32 << 10) == 0);
  CHECK(ring.register_ifq(p, &q) == -EINVAL);  // smaller than area_len: refused locally
  REQUIRE(ftruncate(p.area_fd, 64 << 10) == 0);
  uint8_t* mine = static_cast<uint8_t*>(
      mmap(nullptr, 64 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, p.area_fd, 0));
  REQUIRE(mine != MAP_FAILED);
  int id = ring.register_ifq(p, &q);
  REQUIRE(id >= 0);
  close(p.area_fd);  // the ring holds its own reference
  uint8_t payload[100];
  pattern::fill(payload, sizeof(payload), 3);
  REQUIRE(srv.post(0, id, 4096, payload, sizeof(payload), 1));
  REQUIRE(ring.wait_cqe(1, WaitMode::busy_poll, 1000000000) == 1);
  uapi::io_uring_cqe32 c;
  REQUIRE(ring.peek_cqes(&c, 1) == 1);
  REQUIRE(q->data(c) != nullptr);
  // The same memory through the caller's own mapping.
  CHECK(std::memcmp(mine + 4096, payload, sizeof(payload)) == 0);
  munmap(mine, 64 << 10);
}

TEST_CASE("cq batches: for_each_cqe visits every completion once, in order, across batches") {
  Fixture f(8, 256, 256);
  const uint32_t buf = f.ifq->rx_buf_len();
  const uint32_t total = 3 * Ring::kCqeBatch + 5;  // several batches and a partial one
  REQUIRE(total * buf <= f.ifq->area_len());
  for (uint32_t i = 0; i < total; i++) {
    uint8_t payload[64];
    pattern::fill(payload, sizeof(payload), i);
    REQUIRE(f.srv.post(0, f.id, uint64_t{i} * buf + 64, payload, sizeof(payload), 100 + i));
  }
  // A completion naming memory outside the area: prefetch ignores it, data() rejects it.
  REQUIRE(f.srv.post_raw(0, cqe_at(f.ifq->area_token(), f.ifq->area_len() + 4096, 64)));
  REQUIRE(f.ring.wait_cqe(total + 1, WaitMode::busy_poll, 1000000000) == static_cast<int>(total + 1));
  uint32_t seen = 0, bad = 0, rejected = 0;
  unsigned n = f.ring.for_each_cqe(*f.ifq, [&](const uapi::io_uring_cqe32& c) {
    const uint8_t* p = f.ifq->data(c);
    if (!p) {
      rejected++;
      return;
    }
    if (c.cqe.user_data != 100 + seen || pattern::first_mismatch(p, 64) != 64 ||
        pattern::seq_of(p, 64) != seen)
      bad++;
    seen++;
    CHECK(f.ifq->refill(c));
  });
  CHECK(n == total + 1);
  CHECK(seen == total);
  CHECK(bad == 0);
  CHECK(rejected == 1);
  CHECK(f.ring.cq_ready() == 0);
  // Every slot went back to the server: the CQ head moved over all of them.
  auto* head = reinterpret_cast<uint32_t*>(static_cast<char*>(f.srv.session(0).ring_base) +
                                           f.ring.layout().cq_off.head);
  CHECK(std::atomic_ref<uint32_t>(*head).load(std::memory_order_acquire) == total + 1);
  f.ifq->flush_refills();
  std::vector<uapi::io_uring_zcrx_rqe> rqes;
  REQUIRE(f.srv.drain_rq(0, f.id, rqes) == total);
  for (uint32_t i = 0; i < total; i++)
    CHECK(rqes[i].off == (f.ifq->area_token() | (uint64_t{i} * buf + 64)));
}

TEST_CASE("adaptive: needs the eventfd; spins, then sleeps until zcrxd wakes it") {
  Fixture f;
  CHECK(f.ring.wait_cqe(1, WaitMode::adaptive, 1000) == -EINVAL);  // none registered
  REQUIRE(f.ring.enable_eventfd() == 0);
  auto* flags = reinterpret_cast<uint32_t*>(static_cast<char*>(f.srv.session(0).ring_base) +
                                            f.ring.layout().cq_off.flags);
  // Spinning only: the timeout comes before the spin ends, no wakeup asked.
  f.ring.set_spin_ns(1000000000);
  CHECK(f.ring.wait_cqe(1, WaitMode::adaptive, 2000000) == -ETIME);
  CHECK((std::atomic_ref<uint32_t>(*flags).load(std::memory_order_acquire) & kCqNeedWakeup) == 0);
  // Ready completions return at once whatever the mode.
  uint8_t payload[32] = {};
  REQUIRE(f.srv.post(0, f.id, 0, payload, sizeof(payload), 5));
  CHECK(f.ring.wait_cqe(1, WaitMode::adaptive, 0) == 1);
  f.ring.cq_advance(1);
  // A short spin, then a sleep: the server sees the wakeup request, posts, wakes.
  f.ring.set_spin_ns(100000);
  std::thread dp([&] {
    bool woke = false;
    for (int i = 0; i < 20000 && !woke; i++) {
      usleep(100);
      if (std::atomic_ref<uint32_t>(*flags).load(std::memory_order_acquire) & kCqNeedWakeup) {
        f.srv.post(0, f.id, 4096, payload, sizeof(payload), 6);
        woke = f.srv.maybe_wake(0);
      }
    }
    CHECK(woke);
  });
  int n = f.ring.wait_cqe(1, WaitMode::adaptive, 5000000000);
  dp.join();
  CHECK(n == 1);
  uapi::io_uring_cqe32 c{};
  REQUIRE(f.ring.peek_cqes(&c, 1) == 1);
  CHECK(c.cqe.user_data == 6);
}
