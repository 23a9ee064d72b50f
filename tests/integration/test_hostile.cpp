// SPDX-License-Identifier: MIT
// Hostile consumers, each in a process of its own, against a zcrxd that
// keeps serving a healthy consumer: whatever they do with their
// descriptors, shared memory and messages, zcrxd neither blocks nor
// crashes nor lets them write what they were given read-only, nor lets
// them take more than their share; it stops cleanly on SIGINT afterwards.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "consumer.h"
#include "daemon.h"
#include "hostile_tools.h"
#include "raw_session.h"
#include "seq_checks.h"

using namespace itest;
namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;

namespace {

// Waits up to `ms` for one byte from a child; false when none came.
bool child_ready(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  char c;
  return poll(&p, 1, ms) == 1 && read(fd, &c, 1) == 1;
}

int reap(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A NOP on a raw ring, with the SQ wakeup a consumer owes when zcrxd stopped
// polling its SQ (proto.h SQ_WAKEUP).
bool submit_nop(RawSession& s, RawRing& r, uint64_t user_data, bool wake = true) {
  uapi::io_uring_sqe nop{};
  nop.opcode = uapi::kOpNop;
  nop.user_data = user_data;
  zcrx::SqProducer sq = r.sq();
  if (!sq.push(nop)) return false;
  std::atomic_ref<uint32_t> flags(r.word(r.l.sq_off.flags));
  if (wake && (flags.fetch_or(0, std::memory_order_seq_cst) & uapi::kSqNeedWakeup))
    return send_no_reply(s, proto::kOpSqWakeup, proto::SqWakeupReq{0, 0});
  return true;
}

// A healthy master receiving UDP port 9000 from an endless pcap.
struct Healthy {
  zcrx::Ring ring;
  zcrx::Ifq* ifq = nullptr;
  int id = -1;
  explicit Healthy(const Daemon& d) {
    id = setup_master(ring, d.socket().c_str(), &ifq, 16384, 64);
    if (id >= 0 && arm_udp(ring, static_cast<uint32_t>(id), 9000, 7) < 0) id = -1;
  }
  // `n` more packets, byte-exact, within 10 s.
  void receives(uint64_t n) {
    RxResult r = receive(ring, ifq, 7, n, 10000);
    CHECK(r.packets >= n);
    CHECK(r.bad_payloads == 0);
    CHECK(r.errors == 0);
  }
};

std::string endless_pcap(const char* name, uint64_t frames = 2000) {
  std::string pcap = scratch_dir() + "/" + name + ".pcap";
  REQUIRE(make_pcap(pcap, frames, 512, "9000"));
  return pcap;
}

}  // namespace

TEST_CASE("a consumer that saturates a blocking eventfd stalls neither zcrxd nor the others") {
  Daemon d(pcap_vdev({endless_pcap("efd")}, true));
  REQUIRE(d.ready());
  Healthy h(d);
  REQUIRE(h.id >= 0);
  h.receives(1000);
  int ready = -1;
  pid_t child = fork_child(
      [&](int out) {
        RawSession s(d.socket());
        RawRing r;
        if (s.sock < 0 || r.create(s, 8, 16) != 0) return 10;
        int efd = eventfd(0, EFD_NONBLOCK);
        if (s.call(proto::kOpRegisterEventfd, proto::EventfdReq{0, 0}, efd) != 0) return 11;
        // The description is shared with zcrxd's copy: blocking from now
        // on, and one short of the count at which a write(2) of 1 blocks.
        fcntl(efd, F_SETFL, 0);
        uint64_t v = 0xfffffffffffffffeull;
        if (write(efd, &v, sizeof(v)) != sizeof(v)) return 12;
        r.word(r.l.cq_off.flags) |= proto::kCqNeedWakeup;
        if (!submit_nop(s, r, 1)) return 13;
        if (write(out, "r", 1) != 1) return 14;
        for (;;) pause();
      },
      &ready);
  REQUIRE(child > 0);
  REQUIRE(child_ready(ready, 10000));
  // zcrxd completed the NOP and signalled; the healthy consumer goes on.
  h.receives(3000);
  kill(child, SIGKILL);
  reap(child);
  close(ready);
  h.receives(100);
  CHECK(d.stop() == 0);  // SIGINT was enough: nothing is stuck
  CHECK(d.exit_outstanding() == 0);
}

TEST_CASE("an area truncated while it registers is refused, never a SIGBUS") {
  // net_ring with --inject: every frame is copied into the area of the
  // consumer receiving it, so a registered area is written at once.
  std::string pcap = endless_pcap("shrink", 500);
  Daemon d("net_ring0", {"--inject", pcap + ",loops=0"});
  REQUIRE(d.ready());
  constexpr int kTries = 40;
  constexpr size_t kLen = 32u << 20;
  int out = -1;
  pid_t child = fork_child(
      [&](int w) {
        uint32_t counts[3] = {0, 0, 0};  // registered, -EFAULT, anything else
        for (int i = 0; i < kTries; i++) {
          RawSession s(d.socket());
          RawRing r;
          if (s.sock < 0 || r.create(s, 8, 4096) != 0) return 10;
          int area = make_area(kLen);
          std::atomic<bool> stop{false};
          // Shrinks and grows the file until zcrxd seals it, and never grows
          // it once sealed: a registration that checked the size before
          // sealing is left with a 4 KiB file behind a 32 MiB mapping.
          auto sealed = [&] { return (fcntl(area, F_GET_SEALS) & F_SEAL_SHRINK) != 0; };
          std::thread toggler([&] {
            while (!stop.load(std::memory_order_relaxed)) {
              if (sealed() || ftruncate(area, 4096) != 0) break;
              if (sealed() || ftruncate(area, kLen) != 0) break;
            }
          });
          proto::RegisterIfqReq req{};
          req.reg.rq_entries = 256;
          req.area.len = kLen;
          int rc = s.call(proto::kOpRegisterIfq, req, area);
          stop = true;
          toggler.join();
          counts[rc == 0 ? 0 : rc == -EFAULT ? 1 : 2]++;
          if (rc == 0) {
            // Receive into it for a while: copies land in every niov.
            proto::OpenFlowReq f{};
            f.zcrx_id = 0;
            f.kind = proto::kFlowRaw;
            if (s.call(proto::kOpOpenFlow, f) < 0) return 11;
            uapi::io_uring_sqe sqe{};
            sqe.opcode = uapi::kOpRecvZc;
            sqe.ioprio = uapi::kRecvMultishot;
            sqe.fd = 0;
            sqe.user_data = 5;
            zcrx::SqProducer sq = r.sq();
            sq.push(sqe);
            std::atomic_ref<uint32_t> fl(r.word(r.l.sq_off.flags));
            if (fl.fetch_or(0, std::memory_order_seq_cst) & uapi::kSqNeedWakeup)
              send_no_reply(s, proto::kOpSqWakeup, proto::SqWakeupReq{0, 0});
            usleep(30000);
          }
          close(area);
        }
        if (write(w, counts, sizeof(counts)) != sizeof(counts)) return 12;
        return 0;
      },
      &out);
  REQUIRE(child > 0);
  uint32_t counts[3] = {9, 9, 9};
  CHECK(read(out, counts, sizeof(counts)) == sizeof(counts));
  close(out);
  CHECK(reap(child) == 0);
  MESSAGE("registered ", counts[0], " refused ", counts[1], " other ", counts[2]);
  CAPTURE(counts[0]);
  CAPTURE(counts[1]);
  CHECK(counts[0] + counts[1] == kTries);
  CHECK(counts[2] == 0);
  CHECK(kill(d.pid(), 0) == 0);  // zcrxd is alive
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("a clone or an importer cannot write the area, even through a reopened descriptor") {
  Daemon d(pcap_vdev({endless_pcap("ro")}, true));
  REQUIRE(d.ready());
  Healthy h(d);
  REQUIRE(h.id >= 0);
  const int export_fd = h.ring.export_ifq(static_cast<uint32_t>(h.id));
  REQUIRE(export_fd >= 0);
  for (bool clone : {true, false}) {
    CAPTURE(clone);
    int out = -1;
    pid_t child = fork_child(
        [&](int) {
          RawSession s(d.socket());
          if (s.sock < 0 || s.create_ring() != 0) return 10;
          proto::RegisterIfqReq req{};
          req.reg.flags = 1;  // the descriptor says clone or import
          if (clone) req.reg.rq_entries = 64;
          int rc = s.call(proto::kOpRegisterIfq, req, clone ? h.ring.ring_fd() : export_fd);
          if (rc < 0 || s.nfds != 2) return 11;
          proto::RegisterIfqReply rep;
          std::memcpy(&rep, s.body, sizeof(rep));
          int area = s.take_fd(1);
          char path[64];
          std::snprintf(path, sizeof(path), "/proc/self/fd/%d", area);
          int rw = open(path, O_RDWR);  // a new, writable description
          if (rw < 0) return 0;  // refused outright: fine too
          int fails = 0;
          void* w = mmap(nullptr, rep.area.len, PROT_READ | PROT_WRITE, MAP_SHARED, rw,
                         static_cast<off_t>(rep.area.addr));
          fails += w == MAP_FAILED;
          char x = 0x5a;
          fails += pwrite(rw, &x, 1, static_cast<off_t>(rep.area.addr)) < 0;
          fails += fallocate(rw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                             static_cast<off_t>(rep.area.addr), 4096) < 0;
          fails += ftruncate(rw, 4096) < 0;
          void* ro = mmap(nullptr, rep.area.len, PROT_READ, MAP_SHARED, rw,
                          static_cast<off_t>(rep.area.addr));
          fails += ro != MAP_FAILED && mprotect(ro, rep.area.len, PROT_READ | PROT_WRITE) < 0;
          return fails == 5 ? 0 : 20 + fails;
        },
        &out);
    REQUIRE(child > 0);
    close(out);
    CHECK(reap(child) == 0);
  }
  close(export_fd);
  h.receives(2000);  // every payload still byte-exact
  CHECK(d.stop() == 0);
}

TEST_CASE("exports are bounded per ring and in total; their descriptors come back") {
  Daemon d(pcap_vdev({endless_pcap("exp")}, true), {"--max-exports", "80"});
  REQUIRE(d.ready());
  Healthy h(d);
  REQUIRE(h.id >= 0);
  const int fds0 = fd_count(d.pid());
  std::vector<int> boxes;
  int err = 0;
  for (int i = 0; i < 1000 && !err; i++) {
    int fd = h.ring.export_ifq(static_cast<uint32_t>(h.id));
    if (fd < 0) err = fd;
    else boxes.push_back(fd);
  }
  CHECK(boxes.size() == 64);  // --max-exports-per-ring's default
  CHECK(err == -EMFILE);
  CHECK(fd_count(d.pid()) - fds0 <= 64 + 2);
  // Another ring (a clone of the master) gets what is left of the total.
  zcrx::Ring other;
  zcrx::Ifq* oq = nullptr;
  REQUIRE(open_ring(other, d.socket(), 256) == 0);
  const int oid = other.clone_ifq(h.ring.ring_fd(), static_cast<uint32_t>(h.id), 64, &oq);
  REQUIRE(oid >= 0);
  int more = 0;
  err = 0;
  for (int i = 0; i < 100 && !err; i++) {
    int fd = other.export_ifq(static_cast<uint32_t>(oid));
    if (fd < 0) err = fd;
    else {
      boxes.push_back(fd);
      more++;
    }
  }
  CHECK(more == 16);
  CHECK(err == -ENFILE);
  for (int fd : boxes) close(fd);
  // zcrxd sees every copy closed and releases the boxes.
  for (int i = 0; i < 50 && fd_count(d.pid()) > fds0 + 2; i++) usleep(100000);
  CHECK(fd_count(d.pid()) <= fds0 + 2);
  CHECK(h.ring.export_ifq(static_cast<uint32_t>(h.id)) >= 0);
  h.receives(500);
  CHECK(d.stop() == 0);
  CHECK(d.output().find("refused (EMFILE): --max-exports-per-ring 64") != std::string::npos);
  CHECK(d.output().find("refused (ENFILE): --max-exports 80") != std::string::npos);
}

TEST_CASE("connections are bounded per uid (EMFILE) and in total (ENFILE)") {
  // A socket another uid may reach.
  std::string dir = scratch_dir() + "/open";
  REQUIRE(mkdir(dir.c_str(), 0755) == 0);
  REQUIRE(chmod(scratch_dir().c_str(), 0755) == 0);
  const std::string sock = dir + "/z.sock";
  Daemon d("net_null0", {"--socket", sock, "--socket-mode", "0666", "--max-rings", "24",
                         "--max-rings-per-uid", "16"});
  REQUIRE(d.ready());
  std::vector<std::unique_ptr<RawSession>> mine;
  for (int i = 0; i < 16; i++) {
    mine.push_back(std::make_unique<RawSession>(sock));
    CHECK(mine.back()->create_ring() == 0);
  }
  RawSession over(sock);
  CHECK(over.create_ring() == -EMFILE);
  int out = -1;
  pid_t child = fork_child(
      [&](int w) {
        if (setgid(65534) != 0 || setuid(65534) != 0) return 10;
        std::vector<std::unique_ptr<RawSession>> theirs;
        int results[9];
        for (int i = 0; i < 9; i++) {
          theirs.push_back(std::make_unique<RawSession>(sock));
          results[i] = theirs.back()->create_ring();
        }
        return write(w, results, sizeof(results)) == sizeof(results) ? 0 : 11;
      },
      &out);
  REQUIRE(child > 0);
  int results[9] = {};
  CHECK(read(out, results, sizeof(results)) == sizeof(results));
  close(out);
  CHECK(reap(child) == 0);
  for (int i = 0; i < 8; i++) CHECK(results[i] == 0);
  CHECK(results[8] == -ENFILE);
  mine.pop_back();  // one ring closed: one connection more
  for (int i = 0; i < 20; i++) {
    RawSession again(sock);
    if (again.create_ring() == 0) break;
    usleep(50000);
  }
  CHECK(d.stop() == 0);
  CHECK(d.output().find("refused (EMFILE): --max-rings-per-uid 16") != std::string::npos);
  CHECK(d.output().find("refused (ENFILE): --max-rings 24") != std::string::npos);
}

TEST_CASE("out of descriptors, zcrxd backs off accepting instead of spinning") {
  Daemon d("net_null0");
  REQUIRE(d.ready());
  const int base = fd_count(d.pid());
  rlimit before{};
  REQUIRE(prlimit(d.pid(), RLIMIT_NOFILE, nullptr, &before) == 0);
  rlimit tight{static_cast<rlim_t>(base + 4), before.rlim_max};
  REQUIRE(prlimit(d.pid(), RLIMIT_NOFILE, &tight, nullptr) == 0);
  std::vector<std::unique_ptr<RawSession>> conns;
  for (int i = 0; i < 20; i++) conns.push_back(std::make_unique<RawSession>(d.socket()));
  usleep(300000);
  // The control thread is zcrxd's main thread (the datapath spins on its own).
  const long t0 = thread_cpu_ticks(d.pid(), d.pid());
  usleep(1000000);
  const long t1 = thread_cpu_ticks(d.pid(), d.pid());
  REQUIRE(t0 >= 0);
  CAPTURE(t1 - t0);
  CHECK(t1 - t0 < sysconf(_SC_CLK_TCK) / 5);  // well under a fifth of a CPU
  conns.clear();
  REQUIRE(prlimit(d.pid(), RLIMIT_NOFILE, &before, nullptr) == 0);
  bool served = false;
  for (int i = 0; i < 40 && !served; i++) {
    RawSession s(d.socket());
    served = s.create_ring() == 0;
    if (!served) usleep(100000);
  }
  CHECK(served);
  CHECK(d.stop() == 0);
  CHECK(d.output().find("zcrxd: accept: EMFILE") != std::string::npos);
}

TEST_CASE("large idle rings cost zcrxd neither memory nor polling; their budget is bounded") {
  Daemon d("net_null0", {"--stats", "1", "--sq-idle-ms", "20"});
  REQUIRE(d.ready());
  const long rss0 = status_kb(d.pid(), "VmRSS");
  std::vector<std::unique_ptr<RawSession>> conns;
  std::vector<std::unique_ptr<RawRing>> rings;
  int err = 0;
  while (!err && conns.size() < 300) {
    conns.push_back(std::make_unique<RawSession>(d.socket()));
    rings.push_back(std::make_unique<RawRing>());
    err = rings.back()->create(*conns.back(), zcrx::kMaxSqEntries, zcrx::kMaxCqEntries);
  }
  const size_t made = conns.size() - (err ? 1 : 0);
  const uint64_t ring_bytes = zcrx::ring_region_layout(zcrx::kMaxSqEntries,
                                                       zcrx::kMaxCqEntries).size;
  // --max-region-mb-per-uid's default (1 GiB) holds this many 4 MiB rings.
  CHECK(made == (uint64_t{1024} << 20) / ring_bytes);
  CHECK(err == -ENOMEM);
  const long rss1 = status_kb(d.pid(), "VmRSS");
  CAPTURE(rss0);
  CAPTURE(rss1);
  CHECK(rss1 - rss0 < 64 * 1024);  // far below made * 4 MiB
  // Idle: none of the SQs is polled any more.
  REQUIRE(d.wait_output(3000, "rings_awake=0 "));
  RawRing& r = *rings.front();
  CHECK((r.word(r.l.sq_off.flags) & uapi::kSqNeedWakeup) != 0);
  // An SQE without the wakeup stays where it is...
  REQUIRE(submit_nop(*conns.front(), r, 42, /*wake=*/false));
  usleep(200000);
  zcrx::CqConsumer cq = r.cq();
  CHECK(cq.available() == 0);
  // ...and SQ_WAKEUP brings it in.
  REQUIRE(send_no_reply(*conns.front(), proto::kOpSqWakeup, proto::SqWakeupReq{0, 0}));
  for (int i = 0; i < 100 && cq.available() == 0; i++) usleep(10000);
  uapi::io_uring_cqe32 c{};
  REQUIRE(cq.pop(c));
  CHECK(c.cqe.user_data == 42);
  CHECK(c.cqe.res == 0);
  conns.clear();
  rings.clear();
  CHECK(d.stop() == 0);
  CHECK(d.output().find("refused (ENOMEM): --max-region-mb-per-uid 1024") != std::string::npos);
}

TEST_CASE("garbage in a refill queue is skipped, counted and reported; the ring keeps working") {
  Daemon d(pcap_vdev({endless_pcap("rqe")}, true));
  REQUIRE(d.ready());
  {
    RawSession s(d.socket());
    RawRing ring;
    REQUIRE(ring.create(s, 8, 4096) == 0);
    int area = make_area(16u << 20);
    proto::RegisterIfqReq req{};
    req.reg.rq_entries = 64;
    req.area.len = 16u << 20;
    REQUIRE(s.call(proto::kOpRegisterIfq, req, area) == 0);
    close(area);
    proto::RegisterIfqReply rep;
    std::memcpy(&rep, s.body, sizeof(rep));
    int rq_fd = s.take_fd(0);
    void* rq = mmap(nullptr, rep.rq_region_size, PROT_READ | PROT_WRITE, MAP_SHARED, rq_fd, 0);
    REQUIRE(rq != MAP_FAILED);
    auto* base = static_cast<uint8_t*>(rq);
    auto* rqes = reinterpret_cast<uapi::io_uring_zcrx_rqe*>(base + rep.reg.offsets.rqes);
    auto& tail = *reinterpret_cast<uint32_t*>(base + rep.reg.offsets.tail);
    const uint64_t token = rep.area.rq_area_token;
    // 16 wrong tokens, 16 indices past the area, 16 buffers never delivered.
    for (uint32_t i = 0; i < 16; i++) rqes[i] = {token ^ (uint64_t{1} << 50), 0, 0};
    for (uint32_t i = 16; i < 32; i++) rqes[i] = {token | (uint64_t{1} << 40), 0, 0};
    for (uint32_t i = 32; i < 48; i++) rqes[i] = {token | (uint64_t{i} << 12), 0, 0};
    std::atomic_ref<uint32_t>(tail).store(48, std::memory_order_release);
    usleep(200000);
    // A tail far past the ring: read as one full ring, as the kernel does.
    std::atomic_ref<uint32_t>(tail).store(48 + 1000, std::memory_order_release);
    usleep(200000);
    // The ring still answers.
    REQUIRE(submit_nop(s, ring, 5));
    zcrx::CqConsumer cq = ring.cq();
    for (int i = 0; i < 100 && cq.available() == 0; i++) usleep(10000);
    CHECK(cq.available() == 1);
    munmap(rq, rep.rq_region_size);
    close(rq_fd);
  }
  REQUIRE(d.wait_output(3000, "bad refill entries"));
  CHECK(d.stop() == 0);
  CHECK(d.line_counter("zcrxd: final rejects", "rqe_bad_token") >= 16);
  CHECK(d.line_counter("zcrxd: final rejects", "rqe_bad_index") >= 16);
  CHECK(d.line_counter("zcrxd: final rejects", "rqe_no_ref") >= 16);
  CHECK(d.line_counter("zcrxd: final rejects", "rq_clamped") >= 1);
  CHECK(d.exit_outstanding() == 0);
}

TEST_CASE("a ring whose SQ tail runs past the ring is marked broken, logged once with its pid and uid, and counted") {
  Daemon d(pcap_vdev({endless_pcap("broken")}, true));
  REQUIRE(d.ready());
  {
    RawSession s(d.socket());
    RawRing ring;
    REQUIRE(ring.create(s, 8, 64) == 0);
    // More SQEs than the ring holds: an index no producer can write.
    std::atomic_ref<uint32_t>(ring.word(ring.l.sq_off.tail))
        .store(ring.l.sq_entries + 100, std::memory_order_release);
    send_no_reply(s, proto::kOpSqWakeup, proto::SqWakeupReq{0, 0});
    const std::string line = "ring 1 of pid " + std::to_string(getpid()) + " uid " +
                             std::to_string(getuid()) + " corrupted its SQ/CQ indices";
    REQUIRE(d.wait_output(5000, line.c_str()));
    // Once: a later wakeup of the broken ring is not reported again.
    send_no_reply(s, proto::kOpSqWakeup, proto::SqWakeupReq{0, 0});
    usleep(300000);
  }
  CHECK(d.stop() == 0);
  size_t n = 0;
  for (size_t at = d.output().find("corrupted its SQ/CQ"); at != std::string::npos;
       at = d.output().find("corrupted its SQ/CQ", at + 1))
    n++;
  CHECK(n == 1);
  CHECK(d.line_counter("zcrxd: final rejects", "rings_broken") == 1);
  CHECK(d.exit_outstanding() == 0);
}
