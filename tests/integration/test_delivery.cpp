// SPDX-License-Identifier: MIT
// zcrxd on net_pcap with a known packet set: every packet reaches its
// flow's consumer exactly once with intact bytes; len-limited RECV_ZC ends
// with a final CQE; clones and importers in other processes share the
// queue and each flow goes only to its owner; every buffer comes back.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>

#include "consumer.h"
#include "daemon.h"
#include "pcap_write.h"
#include "rx_checks.h"
#include "seq_checks.h"

using namespace itest;

namespace {

void check_balanced(Daemon& d) {
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

}  // namespace

TEST_CASE("one consumer receives every packet exactly once, byte-exact") {
  const uint64_t n = 3000;
  std::string pcap = scratch_dir() + "/once.pcap";
  REQUIRE(make_pcap(pcap, n, 1200, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 42) >= 0);
    RxResult r = receive(ring, ifq, 42, n, 30000);
    check_clean_receive(r, n);
    CHECK(exactly_once(r.seqs, 1, n));
    CHECK(all_sized(r.sizes, 1200));
    // Nothing more arrives (no duplicates) and a cancel ends the request.
    RxResult extra = receive(ring, ifq, 42, 1, 300);
    CHECK(extra.packets == 0);
    zcrx::prep_cancel(ring.get_sqe(), 42, 43);
    ring.submit();
    bool cancelled = false, acked = false;
    for (int i = 0; i < 100 && !(cancelled && acked); i++) {
      ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 10'000'000);
      ring.for_each_cqe([&](const zcrx::uapi::io_uring_cqe32& c) {
        if (c.cqe.user_data == 42 && c.cqe.res == -ECANCELED && !(c.cqe.flags & zcrx::uapi::kCqeFMore))
          cancelled = true;
        if (c.cqe.user_data == 43 && c.cqe.res == 0) acked = true;
      });
    }
    CHECK(cancelled);
    CHECK(acked);
  }
  check_balanced(d);
  CHECK(d.final_counter("delivered") == n);
  CHECK(d.final_counter("refilled") == n);
  // Cycle accounting: the loop ran, delivering n packets was busy work,
  // busy cycles are a part of all cycles and busy_pct is their share.
  const uint64_t busy = d.final_counter("busy_cycles");
  const uint64_t total = d.final_counter("total_cycles");
  CHECK(total != UINT64_MAX);
  CHECK(busy > 0);
  CHECK(busy <= total);
  CHECK(d.final_counter("tsc_hz") > 0);
  CHECK(d.output().find(" busy_pct=") != std::string::npos);
}

TEST_CASE("IPv6 with a VLAN tag: payloads located and delivered exactly once") {
  const uint64_t n = 500;
  std::string pcap = scratch_dir() + "/v6.pcap";
  REQUIRE(make_pcap(pcap, n, 333, "7000", {"--ipv6", "--vlan", "12"}));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 7000, 1) >= 0);
    RxResult r = receive(ring, ifq, 1, n, 30000);
    CHECK(r.bad_payloads == 0);
    CHECK(exactly_once(r.seqs, 1, n));
    CHECK(all_sized(r.sizes, 333));
  }
  check_balanced(d);
}

TEST_CASE("len-limited RECV_ZC delivers len bytes then a final CQE with res 0") {
  std::string pcap = scratch_dir() + "/len.pcap";
  REQUIRE(make_pcap(pcap, 100, 1000, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 5, 10500) >= 0);
    RxResult r = receive(ring, ifq, 5, 1000, 30000);
    CHECK(r.ended);
    CHECK(r.end_res == 0);
    CHECK(r.bytes == 10500);
    REQUIRE(r.packets == 11);
    CHECK(r.sizes.back() == 500);  // cut at the limit
    CHECK(r.bad_payloads == 0);    // a cut payload is a prefix of the pattern
    for (uint64_t i = 0; i < 11; i++) CHECK(r.seqs[i] == i + 1);
  }
  check_balanced(d);
}

// A child process: clone (mode 'c') or import (mode 'i') the master's ifq,
// receive `want` packets of UDP `port`, check they are exactly the seqs
// pcap_gen sent to that port. Exit status 0 on success.
int child_consumer(const std::string& socket, char mode, int src_fd, uint32_t src_id,
                   uint16_t port, int slot, int nports, uint64_t want) {
  zcrx::Ring ring;
  if (open_ring(ring, socket, 4096)) return 10;
  zcrx::Ifq* ifq = nullptr;
  int id = mode == 'c' ? ring.clone_ifq(src_fd, src_id, 4096, &ifq)
                       : ring.import_ifq(src_fd, &ifq);
  if (id < 0 || !ifq || !ifq->shared_area()) return 11;
  if (arm_udp(ring, static_cast<uint32_t>(id), port, 9) < 0) return 12;
  RxResult r = receive(ring, ifq, 9, want, 30000);
  if (r.bad_payloads || r.bad_offsets || r.errors) return 13;
  std::vector<uint64_t> expect;
  for (uint64_t s = 1; expect.size() < want; s++)
    if (static_cast<int>((s - 1) % nports) == slot) expect.push_back(s);
  std::sort(r.seqs.begin(), r.seqs.end());
  if (r.seqs != expect) return 14;
  return 0;
}

TEST_CASE("clone and import in other processes share the queue; flows steer to their owner") {
  const uint64_t per_port = 1000;
  std::string pcap = scratch_dir() + "/share.pcap";
  REQUIRE(make_pcap(pcap, 3 * per_port, 700, "9000,9001,9002"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "3"});
  REQUIRE(d.ready());
  {
    zcrx::Ring master;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(master, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    int exp = master.export_ifq(static_cast<uint32_t>(id));
    REQUIRE(exp >= 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
      kids[k] = fork();
      if (kids[k] == 0) {
        int rc = k == 0 ? child_consumer(d.socket(), 'c', master.ring_fd(), static_cast<uint32_t>(id),
                                         9001, 1, 3, per_port)
                        : child_consumer(d.socket(), 'i', exp, 0, 9002, 2, 3, per_port);
        _exit(rc);
      }
    }
    close(exp);
    REQUIRE(arm_udp(master, static_cast<uint32_t>(id), 9000, 3) >= 0);
    RxResult r = receive(master, ifq, 3, per_port, 30000);
    CHECK(r.bad_payloads == 0);
    std::vector<uint64_t> expect;
    for (uint64_t s = 1; s <= 3 * per_port; s += 3) expect.push_back(s);
    std::sort(r.seqs.begin(), r.seqs.end());
    CHECK(r.seqs == expect);
    for (pid_t k : kids) {
      int st = 0;
      REQUIRE(waitpid(k, &st, 0) == k);
      CHECK(WIFEXITED(st));
      CHECK(WEXITSTATUS(st) == 0);
    }
    // A flow on the same port from the same ring is refused.
    CHECK(master.open_flow(static_cast<uint32_t>(id), zcrx::FlowSpec::udp(9000)) == -EEXIST);
  }
  check_balanced(d);
  CHECK(d.final_counter("delivered") == 3 * per_port);
  CHECK(d.final_counter("dropped_no_flow") == 0);
}

TEST_CASE("a SIGKILLed clone's buffers are reclaimed while the master keeps receiving") {
  std::string pcap = scratch_dir() + "/kill.pcap";
  REQUIRE(make_pcap(pcap, 1000, 512, "9000,9001"));
  Daemon d(pcap_vdev({pcap}, true), {"--rx-gate", "2"});
  REQUIRE(d.ready());
  uint64_t held_by_child = 0;
  {
    zcrx::Ring master;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(master, d.socket().c_str(), &ifq, 4096, 32);
    REQUIRE(id >= 0);
    // A clone that never refills: it holds every buffer it receives.
    int held_fd = -1;
    pid_t kid = spawn_holding_consumer(
        [&](zcrx::Ring& ring, zcrx::Ifq** cifq) {
          if (int rc = open_ring(ring, d.socket(), 512)) return rc;
          return ring.clone_ifq(master.ring_fd(), static_cast<uint32_t>(id), 1024, cifq);
        },
        9001, 400, &held_fd);
    REQUIRE(kid > 0);
    REQUIRE(arm_udp(master, static_cast<uint32_t>(id), 9000, 2) >= 0);
    RxResult before = receive(master, ifq, 2, 2000, 30000);
    CHECK(before.packets >= 2000);
    REQUIRE(read(held_fd, &held_by_child, sizeof(held_by_child)) == sizeof(held_by_child));
    CHECK(held_by_child >= 400);  // every CQE it reaped: none refilled
    kill(kid, SIGKILL);
    int st = 0;
    waitpid(kid, &st, 0);
    close(held_fd);
    RxResult after = receive(master, ifq, 2, 5000, 30000);
    CHECK(after.packets >= 5000);
    CHECK(after.bad_payloads == 0);
    CHECK(before.bad_payloads == 0);
    CHECK(after.errors == 0);
  }
  check_balanced(d);
  // The clone's held buffers came back by reclaim, the rest by refill:
  // the totals balance.
  CHECK(d.final_counter("reclaimed") >= held_by_child);
  CHECK(d.final_counter("delivered") ==
        d.final_counter("returned") + d.final_counter("reclaimed"));
}

TEST_CASE("rings joining one flow group share it by flow: each flow to one ring, each packet once") {
  // 8 flows (source ports) x 100 packets to UDP 9000; seq = flow * 1000 + i.
  std::vector<UdpFrame> frames;
  for (uint64_t i = 0; i < 100; i++)
    for (uint16_t fl = 0; fl < 8; fl++)
      frames.push_back({static_cast<uint16_t>(41000 + fl), 9000, fl * 1000u + i, 300});
  std::string pcap = scratch_dir() + "/group.pcap";
  REQUIRE(write_pcap(pcap, frames));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "2"});
  REQUIRE(d.ready());
  {
    zcrx::Ring master;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(master, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    // A clone in another process joins the group and reports its seqs.
    int seqs_fd = -1;
    pid_t kid = fork_child(
        [&](int out) {
          zcrx::Ring ring;
          zcrx::Ifq* cifq = nullptr;
          if (open_ring(ring, d.socket(), 4096)) return 10;
          int cid = ring.clone_ifq(master.ring_fd(), static_cast<uint32_t>(id), 4096, &cifq);
          if (cid < 0 || arm_udp(ring, static_cast<uint32_t>(cid), 9000, 1) < 0) return 11;
          RxResult r = receive(ring, cifq, 1, 800, 3000);
          if (r.bad_payloads || r.errors) return 12;
          uint64_t n = r.seqs.size();
          if (write(out, &n, sizeof(n)) != sizeof(n)) return 13;
          if (n && write(out, r.seqs.data(), n * 8) != static_cast<ssize_t>(n * 8)) return 13;
          return 0;
        },
        &seqs_fd);
    REQUIRE(kid > 0);
    REQUIRE(arm_udp(master, static_cast<uint32_t>(id), 9000, 1) >= 0);
    RxResult r = receive(master, ifq, 1, 800, 3000);
    CHECK(r.bad_payloads == 0);
    uint64_t n = 0;
    REQUIRE(read(seqs_fd, &n, sizeof(n)) == sizeof(n));
    std::vector<uint64_t> theirs(n);
    size_t got = 0;
    while (got < n * 8) {
      ssize_t k = read(seqs_fd, reinterpret_cast<char*>(theirs.data()) + got, n * 8 - got);
      REQUIRE(k > 0);
      got += static_cast<size_t>(k);
    }
    int st = 0;
    REQUIRE(waitpid(kid, &st, 0) == kid);
    CHECK(WEXITSTATUS(st) == 0);
    close(seqs_fd);
    std::set<uint64_t> mine_flows, their_flows;
    for (uint64_t s : r.seqs) mine_flows.insert(s / 1000);
    for (uint64_t s : theirs) their_flows.insert(s / 1000);
    CHECK(mine_flows.size() + their_flows.size() == 8);  // no flow split
    CHECK_FALSE(mine_flows.empty());                     // both rings get flows
    CHECK_FALSE(their_flows.empty());
    std::vector<uint64_t> all = r.seqs;
    all.insert(all.end(), theirs.begin(), theirs.end());
    std::sort(all.begin(), all.end());
    std::vector<uint64_t> expect;
    for (uint16_t fl = 0; fl < 8; fl++)
      for (uint64_t i = 0; i < 100; i++) expect.push_back(fl * 1000u + i);
    CHECK(all == expect);  // every packet exactly once across the group
  }
  check_balanced(d);
}

TEST_CASE("the master SIGKILLed: its clone in another process keeps receiving") {
  std::string pcap = scratch_dir() + "/killmaster.pcap";
  REQUIRE(make_pcap(pcap, 1000, 512, "9000,9001"));
  Daemon d(pcap_vdev({pcap}, true), {"--rx-gate", "2"});
  REQUIRE(d.ready());
  {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    pid_t master = fork();
    if (master == 0) {
      close(sv[0]);
      zcrx::Ring ring;
      zcrx::Ifq* ifq = nullptr;
      int id = setup_master(ring, d.socket().c_str(), &ifq);
      if (id < 0 || arm_udp(ring, static_cast<uint32_t>(id), 9000, 1) < 0) _exit(10);
      int fd = ring.ring_fd();
      uint32_t zid = static_cast<uint32_t>(id);
      if (zcrx::proto::send_msg(sv[1], &zid, sizeof(zid), &fd, 1)) _exit(11);
      for (;;) receive(ring, ifq, 1, UINT64_MAX, 1000);  // until killed
    }
    close(sv[1]);
    uint32_t zid = 0;
    zcrx::proto::RecvdMsg m;
    REQUIRE(zcrx::proto::recv_msg(sv[0], &zid, sizeof(zid), m) == 0);
    REQUIRE(m.nfds == 1);
    zcrx::Ring clone;
    zcrx::Ifq* ifq = nullptr;
    REQUIRE(open_ring(clone, d.socket(), 4096) == 0);
    int cid = clone.clone_ifq(m.fds[0], zid, 4096, &ifq);
    REQUIRE(cid >= 0);
    zcrx::proto::close_fds(m);
    REQUIRE(arm_udp(clone, static_cast<uint32_t>(cid), 9001, 2) >= 0);
    RxResult before = receive(clone, ifq, 2, 2000, 30000);
    CHECK(before.packets >= 2000);
    kill(master, SIGKILL);
    int st = 0;
    waitpid(master, &st, 0);
    close(sv[0]);
    // The queue stays open for the clone (a proxy is a user of it).
    RxResult after = receive(clone, ifq, 2, 3000, 30000);
    CHECK(after.packets >= 3000);
    CHECK(after.bad_payloads == 0);
    CHECK(after.errors == 0);
    CHECK_FALSE(after.ended);
  }
  check_balanced(d);
  CHECK(d.final_counter("delivered") ==
        d.final_counter("returned") + d.final_counter("reclaimed"));
}
