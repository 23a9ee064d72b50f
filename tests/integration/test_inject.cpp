// SPDX-License-Identifier: MIT
// zcrxd --inject on net_ring: the port's TX comes back on its RX queue, so
// the pcap's frames arrive in mbufs of the injector's pool, not of the
// consumer's area; the datapath copies them into area buffers. A consumer
// receives every frame exactly once, byte-exact; the injector never drops
// (it waits for the ring and its pool); every buffer comes back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "consumer.h"
#include "daemon.h"
#include "seq_checks.h"

using namespace itest;

TEST_CASE("--inject on net_ring: every frame reaches the consumer exactly once, byte-exact") {
  const uint64_t n = 3000;
  const uint64_t loops = 2;
  std::string pcap = scratch_dir() + "/inject.pcap";
  REQUIRE(make_pcap(pcap, n, 1200, "9000"));
  // Two passes through the file: the same sequence numbers twice.
  Daemon d("net_ring0", {"--inject", pcap + ",loops=" + std::to_string(loops), "--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq, 8192, 16);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 5) >= 0);
    RxResult r = receive(ring, ifq, 5, n * loops, 60000);
    CHECK(r.packets == n * loops);
    CHECK(r.bad_payloads == 0);
    CHECK(r.bad_offsets == 0);
    CHECK(r.errors == 0);
    CHECK(all_sized(r.sizes, 1200));
    // Each pass in order, each frame once per pass.
    std::vector<uint64_t> first(r.seqs.begin(), r.seqs.begin() + std::min<size_t>(n, r.seqs.size()));
    std::vector<uint64_t> second(r.seqs.begin() + std::min<size_t>(n, r.seqs.size()), r.seqs.end());
    CHECK(exactly_once(first, 1, n));
    CHECK(exactly_once(second, 1, n));
    CHECK(receive(ring, ifq, 5, 1, 300).packets == 0);  // nothing more
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
  CHECK(d.final_counter("delivered") == n * loops);
  CHECK(d.final_counter("copied") == n * loops);  // none landed in the area by itself
  CHECK(d.final_counter("dropped_no_buffers") == 0);
  CHECK(d.line_counter("zcrxd: final inject ", "injected") == n * loops);
  CHECK(d.line_counter("zcrxd: final inject ", "loops") == loops);
}

TEST_CASE("--inject of a file that is not a pcap: zcrxd refuses to start") {
  std::string bogus = scratch_dir() + "/not-a.pcap";
  FILE* f = std::fopen(bogus.c_str(), "w");
  REQUIRE(f);
  std::fputs("definitely not a pcap file, just text\n", f);
  std::fclose(f);
  Daemon d("net_ring0", {"--inject", bogus});
  CHECK_FALSE(d.ready());
  CHECK(d.stop() == 1);
}
