// SPDX-License-Identifier: MIT
// The receive path treats frames as Linux does, checked end to end through
// the datapath (a net_ring port fed frames in foreign mbufs, whose offload
// flags the test sets, and net_null handing out the area's own niovs):
//  - a UDP flow gets only datagrams whose IPv4 header and UDP checksums
//    are right (software, or the PMD's verdict under --rx-csum auto),
//    IPv4 checksum 0 meaning none, IPv6 checksum 0 dropped; each drop is
//    counted by its reason; a raw flow gets every frame unchecked.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <rte_mbuf.h>

#include <string>
#include <vector>

#include "datapath_harness.h"
#include "eal_doctest_main.h"
#include "udp_frame.h"

using namespace dptest;
using zcrxd::RxCsum;
using zcrxd::testing::FrameSpec;
using zcrxd::testing::udp_frame;

namespace {

/// A frame to send, and what the datapath must do with it: deliver the
/// payload of `seq` (`payload` bytes), or drop it.
struct Case {
  std::vector<uint8_t> frame;
  uint64_t ol_flags = 0;
  uint32_t seg_max = 10000;
  bool delivered = true;
  uint32_t seq = 0;
  uint32_t payload = 0;
};

/// Builds the frame of `spec` carrying datagram `seq` of `payload` bytes.
Case datagram(const FrameSpec& spec, uint32_t seq, uint32_t payload) {
  Case c;
  c.frame = udp_frame(spec, payload_of(seq, payload));
  c.seq = seq;
  c.payload = payload;
  return c;
}

/// The checksum drops a run must end with.
struct Drops {
  uint64_t bad_ip = 0, bad_udp = 0, zero6 = 0;
};

/// Sends `cases` in order through a net_ring harness configured by
/// `tweak`, checks that exactly the delivered ones arrive, in order,
/// byte-exact and one CQE each (copies: payloads under a niov), that the
/// drops are `want`, and that every buffer comes back.
void run_cases(const char* name, const std::vector<Case>& cases, const Drops& want,
               const Harness::Tweak& tweak = {}) {
  ForeignPool foreign(("fp_" + std::string(name)).c_str(), 255);
  REQUIRE(foreign.mp);
  Harness h(name, 256, true, -1, 0, {}, tweak);
  std::vector<rte_mbuf*> pkts;
  size_t want_n = 0;
  for (const Case& c : cases) {
    rte_mbuf* m = frame_mbuf(foreign.mp, c.frame, c.seg_max, 14 + 40 + 8 + 8);
    REQUIRE(m);
    m->ol_flags = c.ol_flags;
    pkts.push_back(m);
    want_n += c.delivered;
  }
  h.send(pkts);
  std::vector<uapi::io_uring_cqe32> cqes;
  CHECK(wait_for([&] { return h.st.rx.get() == cases.size(); }));
  REQUIRE(wait_for([&] { return h.st.packets_delivered.get() == want_n; }));
  REQUIRE(reap(h, h.st.delivered.get(), &cqes));
  h.stop();
  reap_rest(h, &cqes);
  // A chain is copied segment by segment: a datagram may take several
  // CQEs, in order, their bytes adding up to its payload.
  size_t i = 0;
  for (const Case& c : cases) {
    if (!c.delivered) continue;
    uint32_t got = 0, bad = 0;
    while (got < c.payload && i < cqes.size()) {
      const auto& cqe = cqes[i++];
      REQUIRE(cqe.cqe.res > 0);
      const uint8_t* p = h.at(cqe.zcqe.off);
      for (int32_t j = 0; j < cqe.cqe.res; j++) bad += p[j] != payload_byte(c.seq, got + j);
      got += static_cast<uint32_t>(cqe.cqe.res);
    }
    CHECK_MESSAGE(got == c.payload, "datagram " << c.seq);
    CHECK_MESSAGE(bad == 0, "datagram " << c.seq);
  }
  CHECK(i == cqes.size());  // nothing else arrived
  h.refill(cqes);
  CHECK(h.st.packets_delivered.get() == want_n);
  CHECK(h.st.dropped_bad_ip_csum.get() == want.bad_ip);
  CHECK(h.st.dropped_bad_udp_csum.get() == want.bad_udp);
  CHECK(h.st.dropped_udp6_zero_csum.get() == want.zero6);
  CHECK(h.st.dropped_no_flow.get() == 0);
  CHECK(wait_for([&] { return foreign.all_back(); }));
}

FrameSpec spec(bool ipv6, int vlans = 0, bool csum = true) {
  FrameSpec s;
  s.ipv6 = ipv6;
  s.vlans = vlans;
  s.dst_port = kUdpPort;
  s.udp_checksum = csum;
  return s;
}

}  // namespace

TEST_CASE("checksums in software: bad IPv4 header, bad UDP, IPv6 zero are dropped and counted") {
  std::vector<Case> cases;
  uint32_t seq = 1;
  auto good = [&](const FrameSpec& s, uint32_t payload) {
    cases.push_back(datagram(s, seq++, payload));
  };
  auto bad = [&](Case c) {
    c.delivered = false;
    cases.push_back(std::move(c));
  };
  good(spec(false), 100);
  good(spec(false, 0, false), 101);  // IPv4 checksum 0: none sent, accepted
  Case c = datagram(spec(false), seq++, 102);
  zcrxd::testing::corrupt_ip_checksum(c.frame);
  bad(c);
  c = datagram(spec(false), seq++, 103);
  zcrxd::testing::corrupt_udp_payload(c.frame);
  bad(c);
  c = datagram(spec(false, 1), seq++, 104);  // a wrong checksum value
  zcrxd::testing::set_udp_checksum_field(c.frame, 0x1234);
  bad(c);
  good(spec(true), 105);
  good(spec(true, 1), 106);
  good(spec(true, 2), 107);
  good(spec(false, 2), 108);
  bad(datagram(spec(true, 0, false), seq++, 109));  // IPv6 checksum 0
  c = datagram(spec(true, 2), seq++, 110);
  zcrxd::testing::corrupt_udp_payload(c.frame);
  bad(c);
  // Chains cut at odd places: the sum runs across segments.
  for (uint32_t seg : {97u, 333u, 1000u}) {
    c = datagram(spec(seg == 97), seq++, 2000 + seg);
    c.seg_max = seg;
    cases.push_back(c);
    c = datagram(spec(seg != 97), seq++, 2000 + seg);
    c.frame[c.frame.size() - 1] ^= 0x80;  // in the last segment
    c.seg_max = seg;
    c.delivered = false;
    cases.push_back(c);
  }
  run_cases("sw", cases, {1, 6, 1});
}

namespace {

/// The flag cases: what the PMD says of a datagram, and whether it is
/// intact. `mode` decides which wins.
std::vector<Case> flag_cases(RxCsum mode, Drops* want) {
  std::vector<Case> cases;
  uint32_t seq = 1;
  const bool trust = mode == RxCsum::kAuto;
  const bool check = mode != RxCsum::kOff;
  auto add = [&](bool v6, bool intact_ip, bool intact_udp, uint64_t flags) {
    Case c = datagram(spec(v6), seq, 200 + seq);
    seq++;
    if (!intact_ip) zcrxd::testing::corrupt_ip_checksum(c.frame);
    if (!intact_udp) zcrxd::testing::corrupt_udp_checksum(c.frame);
    c.ol_flags = flags;
    const uint64_t ipf = trust ? flags & RTE_MBUF_F_RX_IP_CKSUM_MASK : 0;
    const uint64_t l4f = trust ? flags & RTE_MBUF_F_RX_L4_CKSUM_MASK : 0;
    bool ip_ok = v6 || !check || ipf == RTE_MBUF_F_RX_IP_CKSUM_GOOD ||
                 ipf == RTE_MBUF_F_RX_IP_CKSUM_NONE ||
                 (ipf == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN && intact_ip);
    bool udp_ok = !check || l4f == RTE_MBUF_F_RX_L4_CKSUM_GOOD ||
                  l4f == RTE_MBUF_F_RX_L4_CKSUM_NONE ||
                  (l4f == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN && intact_udp);
    c.delivered = ip_ok && udp_ok;
    if (!ip_ok) want->bad_ip++;
    else if (!udp_ok) want->bad_udp++;
    cases.push_back(std::move(c));
  };
  for (bool v6 : {false, true}) {
    add(v6, true, false, RTE_MBUF_F_RX_L4_CKSUM_GOOD);     // the PMD vouches
    add(v6, true, false, RTE_MBUF_F_RX_L4_CKSUM_NONE);     // verified, field partial
    add(v6, true, true, RTE_MBUF_F_RX_L4_CKSUM_BAD);       // the PMD says no
    add(v6, true, false, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);  // software finds it
    add(v6, true, true, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);
  }
  add(false, true, true, RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  add(false, false, true, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  add(false, false, true, RTE_MBUF_F_RX_IP_CKSUM_NONE);
  add(false, false, true, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  // IPv6 checksum 0 is dropped whatever the flags and the mode say.
  Case z = datagram(spec(true, 0, false), seq++, 77);
  z.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  z.delivered = false;
  want->zero6++;
  cases.push_back(z);
  return cases;
}

}  // namespace

TEST_CASE("--rx-csum auto takes the PMD's verdict: GOOD and NONE pass, BAD drops, UNKNOWN is summed") {
  Drops want;
  std::vector<Case> cases = flag_cases(RxCsum::kAuto, &want);
  CHECK(want.bad_ip == 2);   // IP BAD; IP UNKNOWN on a broken header
  CHECK(want.bad_udp == 4);  // L4 BAD, UNKNOWN on a broken checksum: IPv4 and IPv6
  run_cases("auto", cases, want);
}

TEST_CASE("--rx-csum sw ignores the PMD's flags and sums every datagram") {
  Drops want;
  std::vector<Case> cases = flag_cases(RxCsum::kSoftware, &want);
  run_cases("swonly", cases, want,
            [](zcrxd::testing::FixtureConfig& c) { c.rx_csum = RxCsum::kSoftware; });
}

TEST_CASE("--rx-csum off delivers bad checksums (trusting the link), but not IPv6 checksum 0") {
  Drops want;
  std::vector<Case> cases = flag_cases(RxCsum::kOff, &want);
  CHECK(want.bad_ip + want.bad_udp == 0);
  CHECK(want.zero6 == 1);
  run_cases("off", cases, want,
            [](zcrxd::testing::FixtureConfig& c) { c.rx_csum = RxCsum::kOff; });
}

TEST_CASE("a raw flow takes frames whole, bad checksums and IPv6 checksum 0 included") {
  ForeignPool foreign("fp_raw", 255);
  REQUIRE(foreign.mp);
  Harness h("raw", 256, true, -1, 0, {},
            [](zcrxd::testing::FixtureConfig& c) { c.raw_flow = true; });
  std::vector<std::vector<uint8_t>> frames;
  frames.push_back(udp_frame(spec(false), payload_of(1, 300)));
  zcrxd::testing::corrupt_ip_checksum(frames.back());
  frames.push_back(udp_frame(spec(false), payload_of(2, 300)));
  zcrxd::testing::corrupt_udp_payload(frames.back());
  frames.push_back(udp_frame(spec(true, 0, false), payload_of(3, 300)));
  std::vector<rte_mbuf*> pkts;
  for (const auto& f : frames) pkts.push_back(frame_mbuf(foreign.mp, f, 10000));
  for (rte_mbuf* m : pkts) REQUIRE(m);
  h.send(pkts);
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, frames.size(), &cqes));
  h.stop();
  reap_rest(h, &cqes);
  REQUIRE(cqes.size() == frames.size());
  for (size_t i = 0; i < frames.size(); i++) {
    REQUIRE(cqes[i].cqe.res == static_cast<int32_t>(frames[i].size()));
    CHECK(std::memcmp(h.at(cqes[i].zcqe.off), frames[i].data(), frames[i].size()) == 0);
  }
  CHECK(h.st.dropped_bad_ip_csum.get() == 0);
  CHECK(h.st.dropped_bad_udp_csum.get() == 0);
  CHECK(h.st.dropped_udp6_zero_csum.get() == 0);
  h.refill(cqes);
  CHECK(wait_for([&] { return foreign.all_back(); }));
}

namespace {

// net_null hands out the area's niovs as written before the port starts:
// frames of kNullPayload bytes, UDP checksums valid except every third.
constexpr uint32_t kNullPayload = 100;
constexpr int kNullPort = 0;  // the --vdev net_null0 of main()

bool null_frame_good(uint32_t niov) { return niov % 3 != 0; }

void write_null_frames(uint8_t* area, uint32_t niovs) {
  for (uint32_t i = 0; i < niovs; i++) {
    std::vector<uint8_t> f = udp_frame(spec(false), payload_of(i, kNullPayload));
    if (!null_frame_good(i)) zcrxd::testing::corrupt_udp_payload(f);
    std::memcpy(area + size_t{i} * kNiov + RTE_PKTMBUF_HEADROOM, f.data(), f.size());
  }
}

}  // namespace

TEST_CASE("zero copy: datagrams with bad UDP checksums among good ones never reach the ring") {
  constexpr uint32_t kAreaNiovs = 512;
  Harness h("null_csum", kAreaNiovs, true, kNullPort, 0,
            [](uint8_t* a) { write_null_frames(a, kAreaNiovs); });
  uint64_t reaped = 0;
  for (int round = 0; round < 10; round++) {
    std::vector<uapi::io_uring_cqe32> cqes;
    REQUIRE(reap(h, 100, &cqes));
    for (const auto& c : cqes) {
      REQUIRE(c.cqe.res == static_cast<int32_t>(kNullPayload));
      const uint64_t off = uapi::area_offset_of(c.zcqe.off);
      CHECK(off % kNiov == RTE_PKTMBUF_HEADROOM + kHeaders);
      const auto idx = static_cast<uint32_t>(off / kNiov);
      CHECK(null_frame_good(idx));
      const uint8_t* p = h.at(c.zcqe.off);
      uint32_t bad = 0;
      for (uint32_t j = 0; j < kNullPayload; j++) bad += p[j] != payload_byte(idx, j);
      CHECK(bad == 0);
    }
    reaped += cqes.size();
    h.refill(cqes);
  }
  h.stop();
  std::vector<uapi::io_uring_cqe32> rest;
  reap_rest(h, &rest);
  reaped += rest.size();
  CHECK(h.st.delivered.get() == reaped);
  CHECK(h.st.dropped_bad_udp_csum.get() > 0);
  CHECK(h.st.rx.get() == h.st.delivered.get() + h.st.dropped_bad_udp_csum.get());
}

int main(int argc, char** argv) {
  return zcrxd::testing::run_doctest_under_eal(
      argc, argv, "zcrxd_rx_", "256",
      {"net_null0,size=" + std::to_string(kHeaders + kNullPayload)});
}
