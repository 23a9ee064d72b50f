// SPDX-License-Identifier: MIT
// zcrxd serving several RX queues (--queue LIST): net_pcap with one file
// per RX queue, one consumer process per queue. Each consumer receives
// exactly its own file's packets once, byte-exact, while the other runs;
// a consumer SIGKILLed mid-stream does not disturb the other queue; every
// buffer comes back. The kernel's errno for a queue not served (-ERANGE)
// and for a queue already bound (-EEXIST), and -EOPNOTSUPP for a ring that
// would mix two queues. net_null with --queue 0-1: both datapaths receive.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "consumer.h"
#include "daemon.h"
#include "seq_checks.h"

using namespace itest;

namespace {

constexpr uint16_t kUdpPort = 9000;

// Connects, creates a ring and registers an ifq on RX queue `queue`.
// Returns the zcrx id or -errno.
int setup_on_queue(zcrx::Ring& ring, const std::string& socket, uint32_t queue,
                   zcrx::Ifq** ifq, uint32_t cq = 8192, size_t area_mb = 16) {
  return setup_master(ring, socket.c_str(), ifq, cq, area_mb, queue);
}

// 4 MiB and 256 RQ entries: registrations the errno test makes on `queue`.
zcrx::IfqParams small_params(uint32_t queue) {
  zcrx::IfqParams p;
  p.queue = queue;
  p.area_len = 4u << 20;
  p.rq_entries = 256;
  return p;
}

// What a consumer process reports through its pipe.
struct ChildReport {
  int32_t setup = 0;  // zcrx id or -errno
  uint64_t packets = 0;
  uint64_t bad_payloads = 0;
  uint64_t bad_offsets = 0;
  uint64_t errors = 0;
  uint64_t extra = 0;  // packets after the expected ones (duplicates)
  uint8_t once = 0;    // every expected seq exactly once
  uint8_t sized = 0;   // every payload of the expected size
};

// Forks a consumer that registers on `queue`, receives `n` datagrams to
// kUdpPort (seqs first..first+n-1, `size` bytes each), checks for more,
// reports and exits.
pid_t spawn_consumer(const std::string& socket, uint32_t queue, uint64_t n, uint64_t first,
                     int32_t size, int* report_fd) {
  return fork_child(
      [&](int out) {
        ChildReport rep;
        zcrx::Ring ring;
        zcrx::Ifq* ifq = nullptr;
        rep.setup = setup_on_queue(ring, socket, queue, &ifq);
        if (rep.setup >= 0 &&
            arm_udp(ring, static_cast<uint32_t>(rep.setup), kUdpPort, 7) >= 0) {
          RxResult r = receive(ring, ifq, 7, n, 60000);
          rep.packets = r.packets;
          rep.bad_payloads = r.bad_payloads;
          rep.bad_offsets = r.bad_offsets;
          rep.errors = r.errors;
          rep.once = exactly_once(r.seqs, first, n);
          rep.sized = all_sized(r.sizes, size);
          rep.extra = receive(ring, ifq, 7, 1, 300).packets;
        }
        return write(out, &rep, sizeof(rep)) == sizeof(rep) ? 0 : 1;
      },
      report_fd);
}

bool read_report(int fd, ChildReport* rep) {
  bool ok = read(fd, rep, sizeof(*rep)) == sizeof(*rep);
  close(fd);
  return ok;
}

// Counter `name` of zcrxd's "zcrxd: final queue=Q ..." line, or UINT64_MAX.
uint64_t queue_counter(const Daemon& d, int q, const std::string& name) {
  return d.line_counter("zcrxd: final queue=" + std::to_string(q) + " ", name);
}

void check_balanced(Daemon& d) {
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
  CHECK(d.output().find("per_queue=0:0,1:0") != std::string::npos);
}

}  // namespace

TEST_CASE("two RX queues, one consumer process each: each receives exactly its file once, "
          "byte-exact, at the same time") {
  const uint64_t na = 4000, nb = 3000;
  const uint64_t first_b = 100001;
  std::string a = scratch_dir() + "/mq_a.pcap", b = scratch_dir() + "/mq_b.pcap";
  // The same UDP port on both queues: flows are per ifq, and only the
  // sizes and sequence numbers tell the files apart.
  REQUIRE(make_pcap(a, na, 1000, "9000"));
  REQUIRE(make_pcap(b, nb, 700, "9000", {"--first-seq", std::to_string(first_b)}));
  Daemon d(pcap_vdev({a, b}), {"--queue", "0,1", "--rx-gate", "1"});
  REQUIRE(d.ready());
  CHECK(d.output().find(" queues=0,1 ") != std::string::npos);
  CHECK(d.output().find(" queue=0 ") != std::string::npos);
  int fa = -1, fb = -1;
  pid_t ca = spawn_consumer(d.socket(), 0, na, 1, 1000, &fa);
  pid_t cb = spawn_consumer(d.socket(), 1, nb, first_b, 700, &fb);
  REQUIRE(ca > 0);
  REQUIRE(cb > 0);
  ChildReport ra, rb;
  REQUIRE(read_report(fa, &ra));
  REQUIRE(read_report(fb, &rb));
  int st = 0;
  waitpid(ca, &st, 0);
  waitpid(cb, &st, 0);
  for (const ChildReport* r : {&ra, &rb}) {
    CHECK(r->setup >= 0);
    CHECK(r->bad_payloads == 0);
    CHECK(r->bad_offsets == 0);
    CHECK(r->errors == 0);
    CHECK(r->once == 1);
    CHECK(r->sized == 1);
    CHECK(r->extra == 0);
  }
  CHECK(ra.packets == na);
  CHECK(rb.packets == nb);
  check_balanced(d);
  CHECK(d.final_counter("delivered") == na + nb);
  CHECK(queue_counter(d, 0, "delivered") == na);
  CHECK(queue_counter(d, 1, "delivered") == nb);
  CHECK(queue_counter(d, 0, "outstanding") == 0);
  CHECK(queue_counter(d, 1, "outstanding") == 0);
}

TEST_CASE("a consumer SIGKILLed mid-stream: the other queue's consumer still gets its whole "
          "file exactly once, and the killed one's buffers come back") {
  const uint64_t n = 20000, first_b = 500001;
  std::string a = scratch_dir() + "/mq_ka.pcap", b = scratch_dir() + "/mq_kb.pcap";
  REQUIRE(make_pcap(a, n, 512, "9000"));
  REQUIRE(make_pcap(b, n, 512, "9000", {"--first-seq", std::to_string(first_b)}));
  Daemon d(pcap_vdev({a, b}), {"--queue", "0,1", "--rx-gate", "1"});
  REQUIRE(d.ready());
  uint64_t held_by_child = 0;
  {
    // Queue 1's consumer never refills: it holds every buffer it receives.
    int held_fd = -1;
    pid_t kid = spawn_holding_consumer(
        [&](zcrx::Ring& ring, zcrx::Ifq** ifq) { return setup_on_queue(ring, d.socket(), 1, ifq); },
        kUdpPort, 500, &held_fd);
    REQUIRE(kid > 0);
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_on_queue(ring, d.socket(), 0, &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), kUdpPort, 2) >= 0);
    RxResult before = receive(ring, ifq, 2, 2000, 30000);
    CHECK(before.packets >= 2000);
    REQUIRE(read(held_fd, &held_by_child, sizeof(held_by_child)) == sizeof(held_by_child));
    CHECK(held_by_child >= 500);
    kill(kid, SIGKILL);
    int st = 0;
    waitpid(kid, &st, 0);
    close(held_fd);
    RxResult after = receive(ring, ifq, 2, n - before.packets, 60000);
    std::vector<uint64_t> seqs = before.seqs;
    seqs.insert(seqs.end(), after.seqs.begin(), after.seqs.end());
    CHECK(exactly_once(seqs, 1, n));  // no loss, no replay from a restart
    CHECK(before.bad_payloads == 0);
    CHECK(after.bad_payloads == 0);
    CHECK(after.bad_offsets == 0);
    CHECK(after.errors == 0);
    CHECK(all_sized(after.sizes, 512));
    CHECK(receive(ring, ifq, 2, 1, 300).packets == 0);
  }
  check_balanced(d);
  CHECK(queue_counter(d, 0, "delivered") == n);
  CHECK(queue_counter(d, 1, "reclaimed") >= held_by_child);
  CHECK(d.final_counter("delivered") ==
        d.final_counter("returned") + d.final_counter("reclaimed"));
}

TEST_CASE("net_pcap infinite_rx on two queues with --rx-gate: both replay their own file") {
  // Each queue is set up once, on its area's pool, before the port starts:
  // infinite_rx cannot set a queue up again after a stop.
  const uint64_t n = 500;
  std::string a = scratch_dir() + "/mq_ia.pcap", b = scratch_dir() + "/mq_ib.pcap";
  REQUIRE(make_pcap(a, n, 256, "9000"));
  REQUIRE(make_pcap(b, n, 300, "9000", {"--first-seq", "7001"}));
  Daemon d(pcap_vdev({a, b}, true), {"--queue", "0,1", "--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring r0, r1;
    zcrx::Ifq *i0 = nullptr, *i1 = nullptr;
    int id0 = setup_on_queue(r0, d.socket(), 0, &i0);
    int id1 = setup_on_queue(r1, d.socket(), 1, &i1);
    REQUIRE(id0 >= 0);
    REQUIRE(id1 >= 0);
    REQUIRE(arm_udp(r0, static_cast<uint32_t>(id0), kUdpPort, 1) >= 0);
    REQUIRE(arm_udp(r1, static_cast<uint32_t>(id1), kUdpPort, 1) >= 0);
    RxResult g0 = receive(r0, i0, 1, 3 * n, 20000);
    RxResult g1 = receive(r1, i1, 1, 3 * n, 20000);
    CHECK(g0.packets >= 3 * n);  // the file, replayed
    CHECK(g1.packets >= 3 * n);
    CHECK(g0.bad_payloads == 0);
    CHECK(g1.bad_payloads == 0);
    CHECK(all_sized(g0.sizes, 256));  // never the other queue's frames
    CHECK(all_sized(g1.sizes, 300));
    CHECK(std::all_of(g1.seqs.begin(), g1.seqs.end(),
                      [&](uint64_t s) { return s >= 7001 && s < 7001 + n; }));
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("several queues: the kernel's errno for a queue not served or already bound; "
          "a ring never mixes two queues (-EOPNOTSUPP)") {
  std::string a = scratch_dir() + "/mq_ea.pcap", b = scratch_dir() + "/mq_eb.pcap";
  REQUIRE(make_pcap(a, 10, 100, "9000"));
  REQUIRE(make_pcap(b, 10, 100, "9000"));
  Daemon d(pcap_vdev({a, b}), {"--queue", "0,1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring x, y, z;
    zcrx::Ifq* ifq = nullptr;
    REQUIRE(open_ring(x, d.socket(), 256) == 0);
    zcrx::IfqParams p = small_params(5);  // the port has 2 RX queues: out of range
    CHECK(x.register_ifq(p, &ifq) == -ERANGE);
    p.queue = 0;
    int x0 = x.register_ifq(p, &ifq);
    REQUIRE(x0 >= 0);
    p.queue = 1;  // x's CQ is served by queue 0's datapath
    CHECK(x.register_ifq(p, &ifq) == -EOPNOTSUPP);

    REQUIRE(open_ring(y, d.socket(), 256) == 0);
    p.queue = 0;  // bound to x's area
    CHECK(y.register_ifq(p, &ifq) == -EEXIST);
    p.queue = 1;
    int y1 = y.register_ifq(p, &ifq);
    REQUIRE(y1 >= 0);
    // A clone or an import of queue 0 into y (queue 1) would mix them.
    CHECK(y.clone_ifq(x.ring_fd(), static_cast<uint32_t>(x0), 256, &ifq) == -EOPNOTSUPP);
    int exp = x.export_ifq(static_cast<uint32_t>(x0));
    REQUIRE(exp >= 0);
    CHECK(y.import_ifq(exp, &ifq) == -EOPNOTSUPP);
    // A ring without entries may take either; then it is bound to it.
    REQUIRE(open_ring(z, d.socket(), 256) == 0);
    CHECK(z.import_ifq(exp, &ifq) >= 0);
    CHECK(z.clone_ifq(y.ring_fd(), static_cast<uint32_t>(y1), 256, &ifq) == -EOPNOTSUPP);
    CHECK(z.clone_ifq(x.ring_fd(), static_cast<uint32_t>(x0), 256, &ifq) >= 0);
    close(exp);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);

  // A queue the device has but zcrxd does not serve: -ERANGE as well.
  Daemon one("net_null0", {"--queue", "1"});
  REQUIRE(one.ready());
  {
    zcrx::Ring r;
    zcrx::Ifq* ifq = nullptr;
    REQUIRE(open_ring(r, one.socket(), 256) == 0);
    zcrx::IfqParams p = small_params(0);
    CHECK(r.register_ifq(p, &ifq) == -ERANGE);
    p.queue = 1;
    CHECK(r.register_ifq(p, &ifq) >= 0);
  }
  CHECK(one.stop() == 0);
  CHECK(one.exit_outstanding() == 0);
  CHECK(one.exit_missing() == 0);
}

TEST_CASE("net_null with --queue 0-1: both datapaths receive, a queue rebinds while the "
          "other receives, every buffer back") {
  Daemon d("net_null0,size=128", {"--queue", "0-1"});
  REQUIRE(d.ready());
  CHECK(d.output().find(" queues=0,1 ") != std::string::npos);
  {
    auto r0 = std::make_unique<zcrx::Ring>();  // destroyed mid-test
    zcrx::Ring r1;
    zcrx::Ifq *i0 = nullptr, *i1 = nullptr;
    int id0 = setup_on_queue(*r0, d.socket(), 0, &i0, 4096, 8);
    int id1 = setup_on_queue(r1, d.socket(), 1, &i1, 4096, 8);
    REQUIRE(id0 >= 0);
    REQUIRE(id1 >= 0);
    // net_null frames are not UDP: a raw flow takes them whole.
    REQUIRE(arm_raw(*r0, static_cast<uint32_t>(id0), 3) >= 0);
    REQUIRE(arm_raw(r1, static_cast<uint32_t>(id1), 3) >= 0);
    RxResult g0 = receive(*r0, i0, 3, 1000, 20000);
    RxResult g1 = receive(r1, i1, 3, 1000, 20000);
    CHECK(g0.packets >= 1000);
    CHECK(g1.packets >= 1000);
    CHECK(g0.bad_offsets == 0);
    CHECK(g1.bad_offsets == 0);
    CHECK(g0.errors == 0);
    CHECK(g1.errors == 0);
    CHECK(all_sized(g1.sizes, 128));
    // Queue 0's ring goes away and a new one binds queue 0 again (a port
    // restart here): queue 1 keeps receiving throughout.
    r0.reset();  // the session closes: queue 0's ifq closes
    RxResult mid = receive(r1, i1, 3, 1000, 20000);
    CHECK(mid.packets >= 1000);
    zcrx::Ring r2;
    zcrx::Ifq* i2 = nullptr;
    int id2 = setup_on_queue(r2, d.socket(), 0, &i2, 4096, 8);
    REQUIRE(id2 >= 0);
    REQUIRE(arm_raw(r2, static_cast<uint32_t>(id2), 4) >= 0);
    RxResult g2 = receive(r2, i2, 4, 1000, 20000);
    RxResult after = receive(r1, i1, 3, 1000, 20000);
    CHECK(g2.packets >= 1000);
    CHECK(g2.bad_offsets == 0);
    CHECK(after.packets >= 1000);
    CHECK(after.errors == 0);
  }
  check_balanced(d);
  CHECK(queue_counter(d, 0, "delivered") >= 2000);
  CHECK(queue_counter(d, 1, "delivered") >= 3000);
}
