// SPDX-License-Identifier: MIT
// zcrxd's copy mode on net_pcap: with --copy-mode always the queue receives
// into a private pool and every packet is copied into the consumer's area,
// delivered exactly once and byte-exact; zcrxd counts each as copied; the
// area's niovs cycle through refill and all come back. --copy-mode auto on
// a PMD that accepts the area pool stays zero-copy.
#include <doctest/doctest.h>

#include <string>

#include "consumer.h"
#include "daemon.h"
#include "rx_checks.h"
#include "seq_checks.h"

using namespace itest;

namespace {

// One consumer on a fresh ring: `n` datagrams of `size` B on port 9000,
// each exactly once and byte-exact.
void receive_all(const Daemon& d, uint64_t n, int32_t size, size_t area_mb) {
  zcrx::Ring ring;
  zcrx::Ifq* ifq = nullptr;
  int id = setup_master(ring, d.socket().c_str(), &ifq, 4096, area_mb);
  REQUIRE(id >= 0);
  REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 7) >= 0);
  RxResult r = receive(ring, ifq, 7, n, 30000);
  check_clean_receive(r, n);
  CHECK(exactly_once(r.seqs, 1, n));
  CHECK(all_sized(r.sizes, size));
  // Nothing more arrives: no packet was delivered twice.
  RxResult extra = receive(ring, ifq, 7, 1, 300);
  CHECK(extra.packets == 0);
}

}  // namespace

TEST_CASE("--copy-mode always: every packet copied into the area exactly once, byte-exact") {
  const uint64_t n = 3000;
  std::string pcap = scratch_dir() + "/copy_always.pcap";
  REQUIRE(make_pcap(pcap, n, 1200, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--copy-mode", "always"});
  REQUIRE(d.ready());
  CHECK(d.output().find(" mode=copy") != std::string::npos);  // the ready line
  receive_all(d, n, 1200, 16);
  CHECK(d.stop() == 0);
  CHECK(d.output().find("zcrxd: queue 0: mode=copy") != std::string::npos);
  CHECK(d.final_counter("rx") == n);
  CHECK(d.final_counter("delivered") == n);
  CHECK(d.final_counter("copied") == n);
  CHECK(d.final_counter("copied_bytes") == n * 1200);
  CHECK(d.final_counter("refilled") == n);
  CHECK(d.final_counter("dropped_no_buffers") == 0);
  CHECK(d.exit_outstanding() == 0);
  // zcrxd refused the small areas itself: had net_pcap been given them, the
  // refused setup would have left it leaking part of the next pool.
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("--copy-mode always with a small area: niovs cycle through refill, all come back") {
  // 1 MiB = 256 niovs for 2000 packets: each niov is copied into ~8 times.
  const uint64_t n = 2000;
  std::string pcap = scratch_dir() + "/copy_small.pcap";
  REQUIRE(make_pcap(pcap, n, 64, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--copy-mode", "always", "--burst", "16"});
  REQUIRE(d.ready());
  receive_all(d, n, 64, 1);
  CHECK(d.stop() == 0);
  CHECK(d.final_counter("delivered") == n);
  CHECK(d.final_counter("copied") == n);
  CHECK(d.final_counter("copied_bytes") == n * 64);
  CHECK(d.final_counter("refilled") == n);
  CHECK(d.exit_outstanding() == 0);
  // zcrxd refused the small areas itself: had net_pcap been given them, the
  // refused setup would have left it leaking part of the next pool.
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("copy mode survives unregistering: a second consumer reuses the queue's copy pool") {
  // The first consumer receives and closes its ring: the queue is unbound
  // (the port stops; the copy pool is kept). The second registers again
  // and the queue is set up on the same copy pool: net_pcap replays its
  // file when the port starts again. Whatever reaches the queue is either
  // copied into an area or dropped for want of an armed flow (the second
  // ring arms after the replay began); every niov comes back.
  const uint64_t n = 400;
  std::string pcap = scratch_dir() + "/copy_rebind.pcap";
  REQUIRE(make_pcap(pcap, n, 500, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--copy-mode", "always"});
  REQUIRE(d.ready());
  receive_all(d, n, 500, 4);
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq, 4096, 4);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 8) >= 0);
    RxResult r = receive(ring, ifq, 8, n, 1000);
    CHECK(r.bad_payloads == 0);
    CHECK(r.bad_offsets == 0);
    CHECK(r.errors == 0);
    std::vector<uint64_t> seqs = r.seqs;
    std::sort(seqs.begin(), seqs.end());
    CHECK(std::adjacent_find(seqs.begin(), seqs.end()) == seqs.end());  // none twice
  }
  CHECK(d.stop() == 0);
  const std::string& out = d.output();
  size_t first_bind = out.find("zcrxd: queue 0: mode=copy");
  REQUIRE(first_bind != std::string::npos);
  CHECK(out.find("zcrxd: queue 0: mode=copy", first_bind + 1) != std::string::npos);
  CHECK(d.final_counter("rx") == 2 * n);  // the file, twice
  // What was not copied arrived while no request was armed (between the
  // two consumers) or before the flow was open.
  CHECK(d.final_counter("rx") == d.final_counter("copied") + d.final_counter("dropped_no_flow") +
                                     d.final_counter("dropped_not_armed"));
  CHECK(d.final_counter("delivered") == d.final_counter("copied"));
  CHECK(d.final_counter("copied") >= n);
  CHECK(d.exit_outstanding() == 0);
  // zcrxd refused the small areas itself: had net_pcap been given them, the
  // refused setup would have left it leaking part of the next pool.
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("--copy-mode auto on a PMD that takes the area pool stays zero-copy") {
  const uint64_t n = 1000;
  std::string pcap = scratch_dir() + "/copy_auto.pcap";
  REQUIRE(make_pcap(pcap, n, 1000, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  CHECK(d.output().find(" mode=auto") != std::string::npos);
  receive_all(d, n, 1000, 16);
  CHECK(d.stop() == 0);
  CHECK(d.output().find("copy mode") == std::string::npos);
  CHECK(d.final_counter("delivered") == n);
  CHECK(d.final_counter("copied") == 0);
  CHECK(d.exit_outstanding() == 0);
}

TEST_CASE("an area the PMD cannot take does not latch copy mode: a larger one binds zero-copy") {
  // net_pcap with infinite_rx needs a pool that holds the whole file: a
  // 4 MiB area (1024 buffers) is refused, and so is the copy pool (about
  // 2400 mbufs). The
  // refusal is the area's size, not the kind of pool: the next, larger
  // registration must still bind zero-copy and receive.
  const uint64_t n = 10000;
  std::string pcap = scratch_dir() + "/small_area.pcap";
  REQUIRE(make_pcap(pcap, n, 200, "9000"));
  Daemon d(pcap_vdev({pcap}, /*infinite=*/true));
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    CHECK(setup_master(ring, d.socket().c_str(), &ifq, 4096, 4) == -EINVAL);
  }
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    CHECK(setup_master(ring, d.socket().c_str(), &ifq, 4096, 16) == -EINVAL);
  }
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq, 16384, 64);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 7) >= 0);
    RxResult r = receive(ring, ifq, 7, 2 * n, 30000);  // the file replays
    CHECK(r.packets >= 2 * n);
    CHECK(r.bad_payloads == 0);
    CHECK(r.errors == 0);
  }
  CHECK(d.stop() == 0);
  CHECK(d.output().find("copy mode") == std::string::npos);
  CHECK(d.final_counter("copied") == 0);
  CHECK(d.exit_outstanding() == 0);
  // zcrxd refused the small areas itself: had net_pcap been given them, the
  // refused setup would have left it leaking part of the next pool.
  CHECK(d.exit_missing() == 0);
}
