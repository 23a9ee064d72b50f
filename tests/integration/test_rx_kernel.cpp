// SPDX-License-Identifier: MIT
// zcrxd receives as Linux does, on traffic written for the purpose and
// replayed by net_pcap, every payload byte checked by the consumer:
//  - checksums: a bad IPv4 header or UDP checksum, or an IPv6 UDP
//    checksum of 0, is dropped and counted; --rx-csum off lets the first
//    two through.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "consumer.h"
#include "daemon.h"
#include "pcap_write.h"
#include "seq_checks.h"
#include "udp_frame.h"

using namespace itest;
using zcrxd::testing::FrameSpec;
using zcrxd::testing::udp_frame;

namespace {

constexpr uint16_t kPort = 9000;
constexpr uint32_t kPayload = 600;

FrameSpec spec(bool ipv6, int vlans, bool csum) {
  FrameSpec s;
  s.ipv6 = ipv6;
  s.vlans = vlans;
  s.dst_port = kPort;
  s.udp_checksum = csum;
  return s;
}

/// The checksum mix: sequence numbers 1..n, every sixth datagram with a
/// bad IPv4 header checksum, every sixth with a bad UDP checksum, every
/// sixth IPv6 with checksum 0, the rest good (IPv4 with and without a UDP
/// checksum, IPv6, tagged and not). Only checksum fields are broken: the
/// payloads stay intact, so what --rx-csum off delivers verifies too.
struct ChecksumMix {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<uint64_t> good, bad_ip, bad_udp, zero6;

  explicit ChecksumMix(uint64_t n) {
    for (uint64_t seq = 1; seq <= n; seq++) {
      const auto pl = pattern_payload(seq, kPayload);
      std::vector<uint8_t> f;
      switch (seq % 6) {
        case 0:
          f = udp_frame(spec(false, 1, true), pl);
          zcrxd::testing::corrupt_ip_checksum(f);
          bad_ip.push_back(seq);
          break;
        case 1:
          f = udp_frame(spec(seq % 12 == 1, 0, true), pl);
          zcrxd::testing::corrupt_udp_checksum(f);
          bad_udp.push_back(seq);
          break;
        case 2:
          f = udp_frame(spec(true, 0, false), pl);
          zero6.push_back(seq);
          break;
        default:
          f = udp_frame(spec(seq % 6 == 5, static_cast<int>(seq % 3), seq % 6 != 3), pl);
          good.push_back(seq);
      }
      frames.push_back(std::move(f));
    }
  }
};

std::vector<uint64_t> sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// Runs zcrxd with `opts` over `pcap`, one consumer on kPort wanting
/// `want` datagrams; returns what it got, zcrxd stopped and balanced.
RxResult run_consumer(Daemon& d, uint64_t want) {
  RxResult r;
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), kPort, 1) >= 0);
    r = receive(ring, ifq, 1, want, 30000);
    // Nothing beyond: the drops stay dropped.
    RxResult extra = receive(ring, ifq, 1, 1, 300);
    CHECK(extra.packets == 0);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
  return r;
}

}  // namespace

TEST_CASE("bad IPv4 header and UDP checksums and IPv6 checksum 0 are dropped and counted") {
  const ChecksumMix mix(600);
  const std::string pcap = scratch_dir() + "/csum.pcap";
  REQUIRE(write_pcap_frames(pcap, mix.frames));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  RxResult r = run_consumer(d, mix.good.size());
  CHECK(r.bad_payloads == 0);
  CHECK(r.errors == 0);
  CHECK(sorted(r.seqs) == mix.good);
  CHECK(all_sized(r.sizes, kPayload));
  CHECK(d.final_counter("rx") == mix.frames.size());
  CHECK(d.final_counter("delivered") == mix.good.size());
  CHECK(d.final_counter("dropped_bad_ip_csum") == mix.bad_ip.size());
  CHECK(d.final_counter("dropped_bad_udp_csum") == mix.bad_udp.size());
  CHECK(d.final_counter("dropped_udp6_zero_csum") == mix.zero6.size());
  CHECK(d.final_counter("dropped_no_flow") == 0);
}

TEST_CASE("--rx-csum off trusts the link: bad checksums delivered, IPv6 checksum 0 still dropped") {
  const ChecksumMix mix(600);
  const std::string pcap = scratch_dir() + "/csum_off.pcap";
  REQUIRE(write_pcap_frames(pcap, mix.frames));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--rx-csum", "off"});
  REQUIRE(d.ready());
  std::vector<uint64_t> want = mix.good;
  want.insert(want.end(), mix.bad_ip.begin(), mix.bad_ip.end());
  want.insert(want.end(), mix.bad_udp.begin(), mix.bad_udp.end());
  RxResult r = run_consumer(d, want.size());
  CHECK(r.bad_payloads == 0);
  CHECK(sorted(r.seqs) == sorted(want));
  CHECK(d.final_counter("dropped_bad_ip_csum") == 0);
  CHECK(d.final_counter("dropped_bad_udp_csum") == 0);
  CHECK(d.final_counter("dropped_udp6_zero_csum") == mix.zero6.size());
}
