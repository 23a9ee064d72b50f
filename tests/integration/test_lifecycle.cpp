// SPDX-License-Identifier: MIT
// zcrxd across consumers coming and going, and what it leaves behind: a
// shared ifq keeps its stats block when the ring that registered it exits,
// --rx-gate holds each restart of a finite source, zcrxd refuses area
// descriptors it cannot use safely, and it removes exactly what it created.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <string>

#include "consumer.h"
#include "daemon.h"
#include "hostile_tools.h"
#include "raw_session.h"
#include "seq_checks.h"

using namespace itest;
namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;

TEST_CASE("an import outlives the ring that registered the ifq: its stats block stays mapped") {
  // net_ring + --inject: every packet is copied into the area, and each copy
  // updates the zcrx_stats block in the registering ring's RQ region.
  std::string pcap = scratch_dir() + "/stats_block.pcap";
  REQUIRE(make_pcap(pcap, 500, 700, "9000"));
  Daemon d("net_ring0", {"--inject", pcap + ",loops=0"});
  REQUIRE(d.ready());
  auto master = std::make_unique<zcrx::Ring>();
  REQUIRE(open_ring(*master, d.socket(), 4096) == 0);
  zcrx::IfqParams p;
  p.area_len = 16u << 20;
  p.rq_entries = 4096;
  p.event_stats = true;
  zcrx::Ifq* mq = nullptr;
  const int id = master->register_ifq(p, &mq);
  REQUIRE(id >= 0);
  const int box = master->export_ifq(static_cast<uint32_t>(id));
  REQUIRE(box >= 0);
  zcrx::Ring importer;
  zcrx::Ifq* iq = nullptr;
  REQUIRE(open_ring(importer, d.socket(), 4096) == 0);
  const int iid = importer.import_ifq(box, &iq);
  REQUIRE(iid >= 0);
  close(box);
  REQUIRE(arm_udp(importer, static_cast<uint32_t>(iid), 9000, 3) >= 0);
  RxResult before = receive(importer, iq, 3, 500, 10000);
  CHECK(before.packets >= 500);
  uapi::zcrx_stats st{};
  REQUIRE(mq->copy_stats(&st));
  CHECK(st.copy_count >= 500);
  master.reset();  // the master ring exits first; its RQ region held the block
  RxResult after = receive(importer, iq, 3, 3000, 10000);
  CHECK(after.packets >= 3000);
  CHECK(after.bad_payloads == 0);
  CHECK(after.errors == 0);
  CHECK(d.stop() == 0);  // alive, and clean
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("--rx-gate holds every restart: a second consumer gets the whole file again") {
  const uint64_t n = 2000;
  std::string pcap = scratch_dir() + "/gate_twice.pcap";
  REQUIRE(make_pcap(pcap, n, 300, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  for (int round = 0; round < 2; round++) {
    CAPTURE(round);
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    const int id = setup_master(ring, d.socket().c_str(), &ifq, 4096, 16);
    REQUIRE(id >= 0);
    // Slow to arm, as a consumer doing more setup would be: the restart
    // that bound the area must not have replayed the file meanwhile.
    usleep(200000);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 1) >= 0);
    RxResult r = receive(ring, ifq, 1, n, 10000);
    CHECK(r.packets == n);
    CHECK(exactly_once(r.seqs, 1, n));
    CHECK(r.bad_payloads == 0);
  }
  CHECK(d.stop() == 0);
}

TEST_CASE("area descriptors zcrxd cannot use safely are refused with the kernel's errno") {
  std::string pcap = scratch_dir() + "/areas.pcap";
  REQUIRE(make_pcap(pcap, 10, 100, "9000"));
  Daemon d(pcap_vdev({pcap}));
  REQUIRE(d.ready());
  RawSession s(d.socket());
  RawRing ring;
  REQUIRE(ring.create(s, 8, 64) == 0);
  proto::RegisterIfqReq req{};
  req.reg.rq_entries = 64;
  req.area.len = 1u << 20;
  // zcrxd's own ring region: sealed by zcrxd (F_SEAL_SEAL), never an area.
  req.area.len = ring.l.size & ~uint64_t{4095};
  CHECK(s.call(proto::kOpRegisterIfq, req, ring.fd) == -EINVAL);
  req.area.len = 1u << 20;
  // Write-sealed: memory zcrxd cannot write, as the kernel cannot pin it
  // for writing (-EFAULT, not the -ENOMEM a failed mmap used to give).
  int sealed = make_area(1u << 20);
  REQUIRE(sealed >= 0);
  REQUIRE(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE) == 0);
  CHECK(s.call(proto::kOpRegisterIfq, req, sealed) == -EFAULT);
  close(sealed);
  // A memfd that cannot be sealed, and a file that is no memfd.
  int unsealable = memfd_create("no-seals", MFD_CLOEXEC);
  REQUIRE(ftruncate(unsealable, 1u << 20) == 0);
  CHECK(s.call(proto::kOpRegisterIfq, req, unsealable) == -EINVAL);
  close(unsealable);
  // Shorter than the area asked for.
  int small = make_area(64u << 10);
  CHECK(s.call(proto::kOpRegisterIfq, req, small) == -EFAULT);
  close(small);
  // A good one still registers on the same session.
  int good = make_area(1u << 20);
  CHECK(s.call(proto::kOpRegisterIfq, req, good) == 0);
  close(good);
  CHECK(d.stop() == 0);
}

TEST_CASE("zcrxd removes only what it created: a non-socket at --socket is left alone") {
  std::string path = scratch_dir() + "/not_a_socket";
  {
    std::ofstream f(path);
    f << "keep me\n";
  }
  Daemon bad("net_null0", {"--socket", path});
  CHECK_FALSE(bad.ready());
  CHECK(bad.stop() != 0);
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  CHECK(line == "keep me");
  CHECK(bad.output().find("is not a socket: not removing it") != std::string::npos);

  Daemon d("net_null0");
  REQUIRE(d.ready());
  const std::string runtime = "/var/run/dpdk/" + d.prefix();
  struct stat st {};
  CHECK(stat(runtime.c_str(), &st) == 0);  // the EAL made it
  CHECK(stat(d.socket().c_str(), &st) == 0);
  CHECK(d.stop() == 0);
  CHECK(stat(runtime.c_str(), &st) != 0);  // and zcrxd removed it at exit
  CHECK(stat(d.socket().c_str(), &st) != 0);
}

TEST_CASE("zcrx_rx's default sizes lose nothing from a finite pcap; a CQ smaller than the area is warned about") {
  // 20000 datagrams into the default 64 MiB area (16384 buffers): with a
  // CQ that holds a completion per buffer nothing is dropped for want of
  // CQ room, however far the consumer falls behind.
  const uint64_t n = 20000;
  std::string pcap = scratch_dir() + "/defaults.pcap";
  REQUIRE(make_pcap(pcap, n, 200, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  std::string cmd = env_path("ZCRX_RX") + " --socket " + d.socket() +
                    " --flow udp:9000 --quiet --count " + std::to_string(n) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  while (size_t r = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, r);
  CHECK(pclose(p) == 0);
  INFO(out);
  CHECK(out.find("\"packets\":20000,") != std::string::npos);
  CHECK(out.find("\"bad_payloads\":0,") != std::string::npos);
  {
    // A ring whose CQ (1024) is smaller than its area (4096 buffers)
    // draws one warning line.
    zcrx::Ring small;
    zcrx::Ifq* ifq = nullptr;
    REQUIRE(setup_master(small, d.socket().c_str(), &ifq, 1024, 16) >= 0);
    CHECK(d.wait_output(3000, "has 4096 buffers but its ring's CQ 1024 entries"));
  }
  CHECK(d.stop() == 0);
  CHECK(d.final_counter("cq_full") == 0);
  CHECK(d.final_counter("delivered") >= n);
}
