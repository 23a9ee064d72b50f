// SPDX-License-Identifier: MIT
// zcrxd receives as Linux does, on traffic written for the purpose and
// replayed by net_pcap, every payload byte checked by the consumer:
//  - drops are counted by reason: malformed, not UDP, no flow;
//  - checksums: a bad IPv4 header or UDP checksum, or an IPv6 UDP
//    checksum of 0, is dropped and counted; --rx-csum off lets the first
//    two through;
//  - datagram ends: one larger than a buffer arrives in several CQEs and
//    only the last says it ends (zcrx::is_datagram_end), so a consumer
//    (the test's, and zcrx_rx --datagram-size) puts it back together;
//  - IP fragments (IPv4, IPv6, out of order, interleaved; an atomic one)
//    are reassembled in the area's buffers and delivered; one that never
//    completes times out, or is flushed when the queue is unbound, and
//    every buffer comes back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <random>
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

TEST_CASE("a datagram larger than a buffer arrives in several CQEs, only the last one ending it") {
  // 4096-byte niovs (headroom 128): payloads up to a niov's room arrive in
  // one CQE, larger ones (net_pcap chains their frames) in several.
  const uint32_t sizes[] = {100, 3000, 3900, 5000, 9000, 20000, 8};
  const uint64_t n = 140;
  std::vector<std::vector<uint8_t>> frames;
  for (uint64_t seq = 1; seq <= n; seq++) {
    const uint32_t len = sizes[seq % 7];
    frames.push_back(udp_frame(spec(seq % 2 == 0, static_cast<int>(seq % 3), true),
                               pattern_payload(seq, len)));
  }
  const std::string pcap = scratch_dir() + "/big.pcap";
  REQUIRE(write_pcap_frames(pcap, frames));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  RxResult r = run_consumer(d, n);
  REQUIRE(r.packets == n);  // n ends seen: n datagrams
  CHECK(r.bad_payloads == 0);
  CHECK(r.partial == 0);
  uint64_t multi = 0;
  for (size_t i = 0; i < r.seqs.size(); i++) {
    const uint64_t seq = r.seqs[i];
    CHECK(r.sizes[i] == static_cast<int32_t>(sizes[seq % 7]));
    if (sizes[seq % 7] > 4096) {
      CHECK(r.pieces[i] > 1);
      multi++;
    }
  }
  CHECK(multi == n / 7 * 3);
  CHECK(exactly_once(r.seqs, 1, n));
  CHECK(r.cqes == d.final_counter("delivered"));
  CHECK(r.cqes > n);
}

TEST_CASE("zcrx_rx counts datagrams by their ends and checks their length") {
  const uint64_t n = 300;
  const std::string pcap = scratch_dir() + "/jumbo.pcap";
  REQUIRE(make_pcap(pcap, n, 9000, "9000"));
  for (const char* size : {"9000", "8999"}) {
    Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
    REQUIRE(d.ready());
    const std::string cmd = env_path("ZCRX_RX") + " --socket " + d.socket() +
                            " --flow udp:9000 --quiet --area-mb 16 --count " + std::to_string(n) +
                            " --datagram-size " + size + " --duration 30 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    REQUIRE(f);
    std::string out;
    char buf[4096];
    while (size_t got = std::fread(buf, 1, sizeof(buf), f)) out.append(buf, got);
    const int rc = pclose(f);
    INFO("zcrx_rx: ", out);
    const bool right = std::string(size) == "9000";
    CHECK(WEXITSTATUS(rc) == (right ? 0 : 1));
    CHECK(out.find("\"datagrams\":" + std::to_string(n) + ",") != std::string::npos);
    CHECK(out.find("\"packets\":" + std::to_string(3 * n) + ",") != std::string::npos);
    CHECK(out.find("\"bad_payloads\":0,") != std::string::npos);
    CHECK(out.find(std::string("\"bad_lengths\":") + (right ? "0" : std::to_string(n)) + ",") !=
          std::string::npos);
    CHECK(d.stop() == 0);
    CHECK(d.exit_missing() == 0);
  }
}

namespace {

/// Datagrams 1..n, most of them fragmented (IPv4 and IPv6, some tagged,
/// fragments shuffled within a window so datagrams interleave), some whole,
/// and one IPv6 atomic fragment; plus, when `incomplete`, the first
/// fragments of one more datagram (seq n + 1) that never completes.
struct FragmentMix {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<uint32_t> sizes;  // index seq: payload bytes
  uint64_t fragments = 0, whole = 0, left_over = 0;

  FragmentMix(uint64_t n, bool incomplete) : sizes(n + 2) {
    std::mt19937 rng(5);
    std::vector<std::vector<uint8_t>> window;
    auto flush_window = [&] {
      std::shuffle(window.begin(), window.end(), rng);
      for (auto& f : window) frames.push_back(std::move(f));
      window.clear();
    };
    for (uint64_t seq = 1; seq <= n + (incomplete ? 1 : 0); seq++) {
      const uint32_t len = 1000 + static_cast<uint32_t>(rng() % 7000);
      sizes[seq] = len;
      FrameSpec fs = spec(seq % 2 == 0, static_cast<int>(seq % 3), true);
      fs.ip_id = static_cast<uint16_t>(seq);
      const auto f = udp_frame(fs, pattern_payload(seq, len));
      if (seq == n + 1) {  // the incomplete one: all but its last fragment
        auto frags = zcrxd::testing::ip_fragments(f, 1200, static_cast<uint32_t>(seq));
        frags.pop_back();
        left_over = frags.size();
        for (auto& g : frags) frames.push_back(std::move(g));
      } else if (seq % 11 == 0 && len < 3900) {
        frames.push_back(f);
        whole++;
      } else if (seq % 11 == 5 && seq % 2 == 0 && len < 3900) {
        frames.push_back(zcrxd::testing::ipv6_atomic_fragment(f, static_cast<uint32_t>(seq)));
        whole++;
      } else {
        const uint32_t chunk = seq % 3 == 0 ? 1480 : 1232;
        auto frags = zcrxd::testing::ip_fragments(f, chunk, static_cast<uint32_t>(seq));
        // One fragment is a whole datagram (IPv4), or an atomic one (IPv6).
        if (frags.size() == 1) whole++;
        else fragments += frags.size();
        for (auto& g : frags) window.push_back(std::move(g));
      }
      if (window.size() >= 12) flush_window();
    }
    flush_window();
  }
};

/// Checks what a consumer got of FragmentMix `m`'s first n datagrams.
void check_mix(const FragmentMix& m, uint64_t n, const RxResult& r) {
  CHECK(r.bad_payloads == 0);
  CHECK(r.partial == 0);
  CHECK(exactly_once(r.seqs, 1, n));
  for (size_t i = 0; i < r.seqs.size() && i < r.sizes.size(); i++)
    if (r.seqs[i] >= 1 && r.seqs[i] <= n)
      CHECK(r.sizes[i] == static_cast<int32_t>(m.sizes[r.seqs[i]]));
}

}  // namespace

TEST_CASE("IP fragments, out of order and interleaved, are reassembled in place; all delivered") {
  const uint64_t n = 400;
  const FragmentMix mix(n, false);
  const std::string pcap = scratch_dir() + "/frag.pcap";
  REQUIRE(write_pcap_frames(pcap, mix.frames));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  RxResult r = run_consumer(d, n);
  check_mix(mix, n, r);
  CHECK(d.final_counter("rx") == mix.frames.size());
  CHECK(d.final_counter("reassembled") == n - mix.whole);
  CHECK(d.final_counter("copied") == 0);  // zero copy: the fragments' own buffers
  CHECK(d.final_counter("dropped_frag_invalid") == 0);
  CHECK(d.final_counter("dropped_frag_table_full") == 0);
  CHECK(d.final_counter("dropped_no_flow") == 0);
}

TEST_CASE("a datagram that never completes: flushed when the queue is unbound, or timed out") {
  const uint64_t n = 60;
  const FragmentMix mix(n, true);
  REQUIRE(mix.left_over > 0);
  const std::string pcap = scratch_dir() + "/frag_left.pcap";
  REQUIRE(write_pcap_frames(pcap, mix.frames));
  {
    // Held until the ring goes away and the queue is unbound.
    Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--frag-timeout-ms", "60000"});
    REQUIRE(d.ready());
    RxResult r = run_consumer(d, n);
    check_mix(mix, n, r);
    CHECK(d.final_counter("dropped_frag_flushed") == mix.left_over);
    CHECK(d.final_counter("dropped_frag_timeout") == 0);
  }
  {
    // Timed out while the consumer is still there (it waits for one more
    // datagram that never comes).
    Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--frag-timeout-ms", "100"});
    REQUIRE(d.ready());
    RxResult r = run_consumer(d, n);
    check_mix(mix, n, r);
    CHECK(d.final_counter("dropped_frag_timeout") == mix.left_over);
    CHECK(d.final_counter("dropped_frag_flushed") == 0);
  }
}

TEST_CASE("drops are counted by reason: malformed frames, other protocols, UDP nobody listens to") {
  std::vector<std::vector<uint8_t>> frames;
  uint64_t want = 0, other_port = 0, not_udp = 0, malformed = 0;
  for (uint64_t seq = 1; seq <= 240; seq++) {
    auto f = udp_frame(spec(seq % 2 == 0, 0, true), pattern_payload(seq, 200));
    switch (seq % 4) {
      case 0:
        want++;
        break;
      case 1: {
        FrameSpec elsewhere = spec(seq % 3 == 0, 1, true);
        elsewhere.dst_port = kPort + 1;
        f = udp_frame(elsewhere, pattern_payload(seq, 200));
        other_port++;
        break;
      }
      case 2:
        if (seq % 8 == 2) {
          f.assign(60, 0);  // ARP
          f[12] = 0x08, f[13] = 0x06;
        } else {
          f[14 + (f[12] == 0x86 ? 6 : 9)] = 6;  // TCP
        }
        not_udp++;
        break;
      default:
        f.resize(f.size() - 50);  // cut short: IP length past the frame
        malformed++;
    }
    if (seq % 4 == 0) {
      // Renumbered so the consumer's sequence numbers run 1..want.
      f = udp_frame(spec(seq % 8 == 0, 0, true), pattern_payload(want, 200));
    }
    frames.push_back(std::move(f));
  }
  const std::string pcap = scratch_dir() + "/why.pcap";
  REQUIRE(write_pcap_frames(pcap, frames));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  RxResult r = run_consumer(d, want);
  CHECK(exactly_once(r.seqs, 1, want));
  CHECK(r.bad_payloads == 0);
  CHECK(d.final_counter("dropped_no_flow") == other_port);
  CHECK(d.final_counter("dropped_not_udp") == not_udp);
  CHECK(d.final_counter("dropped_malformed") == malformed);
  CHECK(d.final_counter("rx") == want + other_port + not_udp + malformed);
}
