// SPDX-License-Identifier: MIT
// zcrxd features beyond plain delivery: multi-segment packets (one CQE per
// segment, payload reassembled byte-exact), eventfd wakeups with the
// need-wakeup flag, --rx-timestamp stamps, raw flows (whole frames).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "consumer.h"
#include "daemon.h"
#include "zcrx/pattern.h"

using namespace itest;
namespace uapi = zcrx::uapi;

TEST_CASE("a jumbo frame spans segments: one CQE per segment, payload intact") {
  const uint64_t n = 40;
  const uint32_t size = 9000;  // > one 4 KiB niov: three segments
  std::string pcap = scratch_dir() + "/jumbo.pcap";
  REQUIRE(make_pcap(pcap, n, size, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 8) >= 0);
    std::vector<uint8_t> pkt;
    uint64_t packets = 0, cqes = 0, intact = 0;
    std::vector<uint64_t> seqs;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (packets < n && std::chrono::steady_clock::now() < end) {
      if (ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 10'000'000) <= 0) continue;
      ring.for_each_cqe([&](const uapi::io_uring_cqe32& c) {
        if (c.cqe.user_data != 8 || c.cqe.res <= 0) return;
        const uint8_t* p = ifq->data(c);
        REQUIRE(p);
        REQUIRE(c.cqe.res <= 4096);  // a segment never exceeds its niov
        cqes++;
        pkt.insert(pkt.end(), p, p + c.cqe.res);
        ifq->refill(c);
        if (pkt.size() >= size) {
          REQUIRE(pkt.size() == size);
          if (zcrx::pattern::first_mismatch(pkt.data(), size) == size) intact++;
          seqs.push_back(zcrx::pattern::seq_of(pkt.data(), size));
          packets++;
          pkt.clear();
        }
      });
      ifq->flush_refills();
    }
    CHECK(packets == n);
    CHECK(intact == n);
    CHECK(cqes == 3 * n);
    for (uint64_t i = 0; i < seqs.size(); i++) CHECK(seqs[i] == i + 1);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("eventfd wakeups: a sleeping consumer is woken and misses nothing") {
  const uint64_t n = 2000;
  std::string pcap = scratch_dir() + "/efd.pcap";
  REQUIRE(make_pcap(pcap, n, 256, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--rx-timestamp"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(ring.enable_eventfd() == 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 4) >= 0);
    uint64_t got = 0, stamped = 0, waits = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (got < n && std::chrono::steady_clock::now() < end) {
      int r = ring.wait_cqe(1, zcrx::WaitMode::eventfd, 1'000'000'000);
      waits++;
      if (r <= 0) continue;
      ring.for_each_cqe([&](const uapi::io_uring_cqe32& c) {
        if (c.cqe.user_data != 4 || c.cqe.res <= 0) return;
        const uint8_t* p = ifq->data(c);
        if (p && zcrx::pattern::first_mismatch(p, 256) == 256) got++;
        if (c.zcqe.__pad != 0) stamped++;  // TSC after rx_burst
        ifq->refill(c);
      });
      ifq->flush_refills();
    }
    CHECK(got == n);
    CHECK(stamped == n);
    CHECK(waits >= 1);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
}

TEST_CASE("a raw flow takes whole frames no UDP flow claims") {
  std::string pcap = scratch_dir() + "/raw.pcap";
  REQUIRE(make_pcap(pcap, 300, 500, "9000,9001,9002"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "2"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9001, 1) >= 0);
    REQUIRE(arm_raw(ring, static_cast<uint32_t>(id), 2) >= 0);
    uint64_t udp = 0, frames = 0, frames_ok = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (udp + frames < 300 && std::chrono::steady_clock::now() < end) {
      if (ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 10'000'000) <= 0) continue;
      ring.for_each_cqe([&](const uapi::io_uring_cqe32& c) {
        if (c.cqe.res <= 0) return;
        const uint8_t* p = ifq->data(c);
        REQUIRE(p);
        if (c.cqe.user_data == 1) {
          CHECK(c.cqe.res == 500);
          CHECK(zcrx::pattern::first_mismatch(p, 500) == 500);
          udp++;
        } else {
          // Ethernet(14) + IPv4(20) + UDP(8) + payload, the pattern after.
          frames++;
          if (c.cqe.res == 542 && p[12] == 0x08 && p[13] == 0x00 &&
              zcrx::pattern::first_mismatch(p + 42, 500) == 500)
            frames_ok++;
        }
        ifq->refill(c);
      });
      ifq->flush_refills();
    }
    CHECK(udp == 100);
    CHECK(frames == 200);
    CHECK(frames_ok == 200);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
}

TEST_CASE("socket permissions, periodic stats, --help without an EAL") {
  std::string pcap = scratch_dir() + "/opts.pcap";
  REQUIRE(make_pcap(pcap, 10, 100, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--socket-mode", "0660", "--stats", "1"});
  REQUIRE(d.ready());
  struct stat st {};
  REQUIRE(stat(d.socket().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);
  sleep(2);
  CHECK(d.stop() == 0);
  CHECK(d.output().find("zcrxd: stats rx=") != std::string::npos);
  // The socket goes away with the daemon.
  CHECK(stat(d.socket().c_str(), &st) == -1);
  std::string help = env_path("ZCRXD") + " --help >/dev/null";
  CHECK(std::system(help.c_str()) == 0);
  std::string bad = env_path("ZCRXD") +
                    " --no-huge --no-pci -m 64 --no-telemetry --file-prefix zit_bad" +
                    std::to_string(getpid()) +
                    " -l 0 --log-level lib.eal:error -- --burst 0 >/dev/null 2>&1";
  int rc = std::system(bad.c_str());
  CHECK(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 2);
}

TEST_CASE("a PMD segment longer than its niov is dropped and counted, never posted") {
  // net_null with size 9000 sets data_len past the 4 KiB buffer it
  // allocated: no CQE may describe bytes outside that niov.
  Daemon d("net_null0,size=9000");
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_raw(ring, static_cast<uint32_t>(id), 3) >= 0);
    RxResult r = receive(ring, ifq, 3, 1, 500);
    CHECK(r.packets == 0);
    CHECK(r.bad_offsets == 0);
  }
  CHECK(d.stop() == 0);
  CHECK(d.final_counter("dropped_bad_len") > 0);
  CHECK(d.final_counter("delivered") == 0);
  CHECK(d.exit_outstanding() == 0);
}
