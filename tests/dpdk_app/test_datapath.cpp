// SPDX-License-Identifier: MIT
// zcrxd's datapath under a real EAL (--no-huge, --no-pci): a net_ring port
// built in-process (rte_eth_from_ring), an area pool over a memfd bound to
// it through the engine (with a provider doing what zcrxd's does), one
// consumer ring with an armed RECV_ZC, and the Datapath loop on its own
// thread. net_ring hands over the
// mbufs it is given, so every packet arrives in a foreign buffer and takes
// the copy fallback: the payload must land byte-exact at the CQE's offset,
// the copy counters must be exact, and every mbuf and niov must come back.
// Over net_null (which hands out the area pool's own mbufs) the same loop
// delivers in place: payloads at the niov's data offset, exact counters,
// and a len-limited request that ends where its limit says.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "area_pool.h"
#include "copy_fallback.h"
#include "datapath.h"
#include "datapath_harness.h"
#include "eal_doctest_main.h"
#include "memfd_area.h"
#include "ring_dp.h"
#include "udp_frame.h"
#include "zcrx/client.h"
#include "zcrx/core/engine.h"
#include "zcrx/ring_layout.h"

using namespace zcrxd;
using namespace dptest;
using zcrxd::testing::MemfdArea;

namespace {

/// CQE lengths the copy fallback must produce for a datagram: each
/// segment's payload bytes, cut into niov-sized chunks.
void expected_chunks(uint32_t payload, uint32_t seg_max, std::vector<uint32_t>* out) {
  const uint32_t frame = kHeaders + payload;
  uint32_t at = 0;
  while (at < frame) {
    uint32_t n = frame - at;
    if (n > seg_max) n = seg_max;
    if (at == 0 && n < kHeaders) n = kHeaders;
    uint32_t lo = at < kHeaders ? kHeaders : at;
    uint32_t bytes = at + n > lo ? at + n - lo : 0;
    while (bytes) {
      uint32_t c = bytes < kNiov ? bytes : kNiov;
      out->push_back(c);
      bytes -= c;
    }
    at += n;
  }
}

}  // namespace

TEST_CASE("copy_into_niov and the stash take niovs from the area pool and give them back") {
  MemfdArea area(64 * kNiov);
  REQUIRE(area.base);
  int err = 0;
  auto pool = AreaPool::create(area.base, area.len, kNiov, 690, 0, -1, &err);
  REQUIRE(pool);
  {
    NiovStash stash;
    REQUIRE(stash.reserve(*pool, 3, 8));
    CHECK(stash.held() == 8);  // rounded up to the batch
    CHECK(pool->available() == 56);
    std::set<uint32_t> seen;
    for (int i = 0; i < 3; i++) {
      uint32_t idx = stash.take();
      REQUIRE(idx < 64);
      CHECK(seen.insert(idx).second);
      // The index names the niov whose mbuf the pool handed out.
      CHECK(pool->niov_of(pool->mbuf(idx)) == idx);
    }
    uint8_t src[kNiov];
    for (uint32_t i = 0; i < kNiov; i++) src[i] = static_cast<uint8_t>(i * 13 + 5);
    uint32_t idx = *seen.begin();
    copy_into_niov(*pool, idx, src, kNiov);
    CHECK(std::memcmp(static_cast<uint8_t*>(area.base) + size_t{idx} * kNiov, src, kNiov) == 0);
    // Asking for more than the pool holds takes nothing.
    CHECK_FALSE(stash.reserve(*pool, 5 + 56 + 1, 8));
    CHECK(stash.held() == 5);
    CHECK(pool->available() == 56);
    // Exactly what is left: the batch cannot be had, the need can.
    REQUIRE(stash.reserve(*pool, 5 + 56, 64));
    CHECK(pool->available() == 0);
    CHECK_FALSE(stash.reserve(*pool, NiovStash::kCap + 1, 1));
    stash.release();
    CHECK(stash.held() == 0);
    CHECK(pool->available() == 61);
    // The three taken niovs go back as the refill path returns them.
    for (uint32_t i : seen) rte_pktmbuf_free(pool->mbuf(i));
  }
  CHECK(pool->full());
  CHECK(copy_niovs_needed(1, 4096) == 1);
  CHECK(copy_niovs_needed(4096, 4096) == 1);
  CHECK(copy_niovs_needed(4097, 4096) == 2);
  CHECK(copy_niovs_needed(9000, 4096) == 3);
  // An in-area niov's buffer is smaller than the niov (its headers).
  CHECK(copy_niovs_needed(3904, 4096 - 192) == 1);
  CHECK(copy_niovs_needed(4096, 4096 - 192) == 2);
}

TEST_CASE("foreign mbufs are copied into area niovs, delivered byte-exact and all returned") {
  ForeignPool foreign("foreign_copy", 1023);  // outlives the loop
  REQUIRE(foreign.mp);
  Harness h("copy", 1024, true);

  // Small, large, a payload over two niovs in one segment, chained
  // segments: the cases the fallback cuts differently.
  struct Spec {
    uint32_t payload, seg_max;
  };
  std::vector<Spec> specs;
  for (uint32_t i = 0; i < 150; i++) specs.push_back({1 + (i * 97) % 1472, 10000});
  specs.push_back({9000, 10000});  // one segment, three niovs
  specs.push_back({4096, 10000});  // exactly one niov
  specs.push_back({4097, 10000});  // one byte over
  for (uint32_t i = 0; i < 20; i++) specs.push_back({3000 + i * 211, 1024});  // chains

  std::vector<rte_mbuf*> pkts;
  std::vector<uint32_t> chunk_len;  // expected CQE lengths, in order
  std::vector<std::pair<uint32_t, uint32_t>> chunk_src;  // (seq, payload offset)
  std::vector<bool> chunk_ends;  // the datagram's last CQE: kCqeFDatagramEnd
  uint64_t payload_bytes = 0;
  for (uint32_t seq = 0; seq < specs.size(); seq++) {
    rte_mbuf* m = make_datagram(foreign.mp, seq, specs[seq].payload, specs[seq].seg_max);
    REQUIRE(m);
    pkts.push_back(m);
    size_t first = chunk_len.size();
    expected_chunks(specs[seq].payload, specs[seq].seg_max, &chunk_len);
    uint32_t off = 0;
    for (size_t i = first; i < chunk_len.size(); i++) {
      chunk_src.push_back({seq, off});
      chunk_ends.push_back(i + 1 == chunk_len.size());
      off += chunk_len[i];
    }
    REQUIRE(off == specs[seq].payload);
    payload_bytes += specs[seq].payload;
  }
  h.send(pkts);

  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, chunk_len.size(), &cqes));
  CHECK(cqes.size() == chunk_len.size());
  std::set<uint64_t> niovs;
  for (size_t i = 0; i < cqes.size(); i++) {
    const auto& c = cqes[i];
    CHECK(c.cqe.user_data == kUserData);
    // Only a datagram's last CQE says it ends there.
    CHECK(c.cqe.flags == (uapi::kCqeFMore | (chunk_ends[i] ? zcrx::proto::kCqeFDatagramEnd : 0)));
    CHECK(zcrx::is_datagram_end(c) == chunk_ends[i]);
    REQUIRE(c.cqe.res == static_cast<int32_t>(chunk_len[i]));
    const uint64_t off = uapi::area_offset_of(c.zcqe.off);
    CHECK(off % kNiov == 0);  // a copy starts its niov
    CHECK((c.zcqe.off & uapi::kZcrxAreaMask) == h.ifq->area()->token());
    CHECK(niovs.insert(off / kNiov).second);  // every CQE its own niov
    const uint8_t* p = h.at(c.zcqe.off);
    uint32_t bad = 0;
    for (uint32_t j = 0; j < chunk_len[i]; j++)
      if (p[j] != payload_byte(chunk_src[i].first, chunk_src[i].second + j)) bad++;
    CHECK_MESSAGE(bad == 0, "CQE " << i << " of datagram " << chunk_src[i].first);
  }
  // The counters: every CQE a copy, nothing dropped.
  CHECK(h.st.rx.get() == specs.size());
  CHECK(h.st.packets_delivered.get() == specs.size());
  CHECK(h.st.packets_copied.get() == specs.size());
  CHECK(h.st.delivered.get() == chunk_len.size());
  CHECK(h.st.copied.get() == chunk_len.size());
  CHECK(h.st.copied_bytes.get() == payload_bytes);
  CHECK(h.st.delivered_bytes.get() == payload_bytes);
  CHECK(h.st.dropped_no_buffers.get() == 0);
  CHECK(h.st.dropped_no_flow.get() == 0);
  // The engine was told about every copy (ZCRX copy counters).
  CHECK(h.ifq->stats().copies == chunk_len.size());
  CHECK(h.ifq->stats().copy_bytes == payload_bytes);
  CHECK(h.st.dropped_bad_len.get() == 0);
  // The foreign mbufs went back to their pool (once per burst).
  CHECK(wait_for([&] { return foreign.all_back(); }));
  // The consumer hands every niov back; the refill path returns them all.
  CHECK(h.pool->available() == 1024 - chunk_len.size());
  h.refill(cqes);
  CHECK(wait_for([&] { return h.st.returned.get() == chunk_len.size(); }));
  h.stop();
  CHECK(h.st.refilled.get() == chunk_len.size());
  CHECK(h.pool->full());
  CHECK(h.ifq->area()->held_by_users() == 0);
}

TEST_CASE("an exhausted area drops whole datagrams as no-buffers and reports it") {
  // No gate: the loop polls even when the area is empty, so packets meet
  // an exhausted area.
  ForeignPool foreign("foreign_exh", 255);
  REQUIRE(foreign.mp);
  Harness h("exhaust", 64, false);

  // 62 one-niov datagrams, then one needing three niovs with two left: it
  // is dropped whole (no partial CQE), and one more small one fits.
  std::vector<rte_mbuf*> pkts;
  for (uint32_t seq = 0; seq < 62; seq++)
    pkts.push_back(make_datagram(foreign.mp, seq, 100 + seq, 10000));
  pkts.push_back(make_datagram(foreign.mp, 62, 9000, 10000));
  pkts.push_back(make_datagram(foreign.mp, 63, 777, 10000));
  for (rte_mbuf* m : pkts) REQUIRE(m);
  h.send(pkts);
  CHECK(wait_for([&] { return h.st.rx.get() == pkts.size(); }));

  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, 63, &cqes));
  CHECK(cqes.size() == 63);  // nothing of the dropped datagram
  for (size_t i = 0; i < cqes.size(); i++) {
    const uint32_t seq = i < 62 ? static_cast<uint32_t>(i) : 63;
    const uint32_t len = seq < 62 ? 100 + seq : 777;
    REQUIRE(cqes[i].cqe.res == static_cast<int32_t>(len));
    const uint8_t* p = h.at(cqes[i].zcqe.off);
    uint32_t bad = 0;
    for (uint32_t j = 0; j < len; j++)
      if (p[j] != payload_byte(seq, j)) bad++;
    CHECK(bad == 0);
  }
  CHECK(h.st.delivered.get() == 63);
  CHECK(h.st.copied.get() == 63);
  CHECK(h.st.dropped_no_buffers.get() == 1);
  CHECK(h.ifq->stats().no_buffers >= 1);  // report_no_buffers() was called
  CHECK(h.pool->available() == 1);
  CHECK(wait_for([&] { return foreign.all_back(); }));

  // Refilled, the area takes the next datagrams again.
  h.refill(cqes);
  CHECK(wait_for([&] { return h.st.returned.get() == 63; }));
  std::vector<rte_mbuf*> more{make_datagram(foreign.mp, 64, 9000, 10000)};
  REQUIRE(more[0]);
  h.send(more);
  std::vector<uapi::io_uring_cqe32> last;
  REQUIRE(reap(h, 3, &last));
  CHECK(h.st.copied_bytes.get() == (62 * 100 + 61 * 62 / 2) + 777 + 9000);
  h.refill(last);
  CHECK(wait_for([&] { return h.st.returned.get() == 66; }));
  h.stop();
  CHECK(h.pool->full());
  CHECK(wait_for([&] { return foreign.all_back(); }));
}

TEST_CASE("drops are counted by reason: malformed, not UDP, no flow") {
  ForeignPool foreign("foreign_why", 255);
  REQUIRE(foreign.mp);
  Harness h("why", 256, true);
  using zcrxd::testing::FrameSpec;
  std::vector<rte_mbuf*> pkts;
  uint32_t seq = 0;
  auto add = [&](const std::vector<uint8_t>& f) {
    rte_mbuf* m = frame_mbuf(foreign.mp, f, 10000, 14);
    REQUIRE(m);
    pkts.push_back(m);
  };
  FrameSpec to_flow;
  to_flow.dst_port = kUdpPort;
  FrameSpec elsewhere;
  elsewhere.dst_port = kUdpPort + 1;
  // Interleaved, so each reason is told apart packet by packet.
  for (int i = 0; i < 3; i++) {
    add(zcrxd::testing::udp_frame(to_flow, payload_of(seq++, 100)));
    std::vector<uint8_t> arp(60, 0);
    arp[12] = 0x08, arp[13] = 0x06;
    add(arp);
    add(zcrxd::testing::udp_frame(elsewhere, payload_of(seq++, 100)));
    std::vector<uint8_t> cut = zcrxd::testing::udp_frame(to_flow, payload_of(seq++, 100));
    cut[14 + 2] = 0x40;  // IP total length past the frame
    add(cut);
    std::vector<uint8_t> tcp = zcrxd::testing::udp_frame(to_flow, payload_of(seq++, 100));
    tcp[14 + 9] = 6;
    add(tcp);
  }
  h.send(pkts);
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, 3, &cqes));
  CHECK(wait_for([&] { return h.st.rx.get() == pkts.size(); }));
  h.stop();
  reap_rest(h, &cqes);
  CHECK(cqes.size() == 3);
  CHECK(h.st.packets_delivered.get() == 3);
  CHECK(h.st.dropped_no_flow.get() == 3);    // UDP to another port
  CHECK(h.st.dropped_not_udp.get() == 6);    // ARP, TCP
  CHECK(h.st.dropped_malformed.get() == 3);  // the cut IP header
  CHECK(h.st.dropped_not_armed.get() == 0);
  h.refill(cqes);
  CHECK(wait_for([&] { return foreign.all_back(); }));
}

TEST_CASE("a burst mixing IP versions and ports is classified packet by packet") {
  // The flow takes IPv4 datagrams to kUdpPort only. Its neighbours in one
  // burst differ from a datagram it takes in the IP version alone or in
  // the port alone: each must be classified on its own, not given the
  // group of the packet before it.
  ForeignPool foreign("foreign_mix", 255);
  REQUIRE(foreign.mp);
  Harness h("mix", 256, true, -1, 0, {},
            [](zcrxd::testing::FixtureConfig& c) { c.ip_version = 4; });
  using zcrxd::testing::FrameSpec;
  FrameSpec v4;
  v4.dst_port = kUdpPort;
  FrameSpec v6 = v4;
  v6.ipv6 = true;
  FrameSpec other_port = v4;
  other_port.dst_port = kUdpPort + 1;
  const FrameSpec* order[] = {&v4, &v6, &v4, &other_port, &v4, &v4, &v6, &v6, &v4, &other_port};
  std::vector<rte_mbuf*> pkts;
  std::vector<uint32_t> taken;  // the sequence numbers the flow must get, in order
  uint32_t seq = 0;
  for (const FrameSpec* f : order) {
    rte_mbuf* m = frame_mbuf(foreign.mp, zcrxd::testing::udp_frame(*f, payload_of(seq, 100)), 10000);
    REQUIRE(m);
    pkts.push_back(m);
    if (f == &v4) taken.push_back(seq);
    seq++;
  }
  h.send(pkts);
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, taken.size(), &cqes));
  CHECK(wait_for([&] { return h.st.rx.get() == pkts.size(); }));
  h.stop();
  reap_rest(h, &cqes);
  REQUIRE(cqes.size() == taken.size());
  for (size_t i = 0; i < cqes.size(); i++) {
    CAPTURE(i);
    REQUIRE(cqes[i].cqe.res == 100);
    const uint8_t* p = h.at(cqes[i].zcqe.off);
    uint32_t bad = 0;
    for (uint32_t j = 0; j < 100; j++)
      if (p[j] != payload_byte(taken[i], j)) bad++;
    CHECK(bad == 0);
  }
  CHECK(h.st.packets_delivered.get() == taken.size());
  CHECK(h.st.dropped_no_flow.get() == pkts.size() - taken.size());  // IPv6, other port
  h.refill(cqes);
  CHECK(wait_for([&] { return foreign.all_back(); }));
}

namespace {

// net_null (copy=0) hands out the area pool's mbufs without writing them:
// every niov carries a datagram written before the port starts, its
// payload derived from the niov index.
constexpr uint32_t kNullPayload = 100;
constexpr int kNullPort = 0;  // the --vdev net_null0 of main()

void write_null_frames(uint8_t* area, uint32_t niovs) {
  for (uint32_t i = 0; i < niovs; i++) {
    uint8_t* f = area + size_t{i} * kNiov + RTE_PKTMBUF_HEADROOM;
    zcrxd::testing::write_udp_headers(f, kUdpPort, kNullPayload);
    for (uint32_t j = 0; j < kNullPayload; j++) f[kHeaders + j] = payload_byte(i, j);
  }
}

/// A Harness over the net_null port, its area written by
/// write_null_frames(); `recv_len` as for Harness.
struct NullHarness : Harness {
  NullHarness(const char* name, uint32_t niovs, uint32_t recv_len)
      : Harness(name, niovs, true, kNullPort, recv_len,
                [niovs](uint8_t* a) { write_null_frames(a, niovs); }) {}
};

/// Checks a zero-copy CQE: the payload in place behind the headers of the
/// niov it names, byte-exact. Returns the niov index.
uint32_t check_in_place(const Harness& h, const uapi::io_uring_cqe32& c, uint32_t len) {
  const uint64_t off = uapi::area_offset_of(c.zcqe.off);
  CHECK(off % kNiov == RTE_PKTMBUF_HEADROOM + kHeaders);
  const uint32_t idx = static_cast<uint32_t>(off / kNiov);
  const uint8_t* p = h.at(c.zcqe.off);
  uint32_t bad = 0;
  for (uint32_t j = 0; j < len; j++)
    if (p[j] != payload_byte(idx, j)) bad++;
  CHECK(bad == 0);
  return idx;
}

}  // namespace

TEST_CASE("niovs of the area are delivered in place, and every buffer balances") {
  constexpr uint32_t kAreaNiovs = 1024;
  NullHarness h("null", kAreaNiovs, 0);
  std::vector<uapi::io_uring_cqe32> held;
  uint64_t reaped = 0;
  std::set<uint32_t> outstanding;
  // Reap and hand back in rounds, keeping one round held, so refill runs
  // while deliveries continue.
  for (int round = 0; round < 20; round++) {
    std::vector<uapi::io_uring_cqe32> cqes;
    REQUIRE(reap(h, 200, &cqes));
    for (const auto& c : cqes) {
      CHECK(c.cqe.user_data == kUserData);
      // One niov, one datagram: every CQE ends its datagram.
      CHECK(c.cqe.flags == (uapi::kCqeFMore | zcrx::proto::kCqeFDatagramEnd));
      REQUIRE(c.cqe.res == static_cast<int32_t>(kNullPayload));
      // A niov is never handed out twice while a consumer holds it.
      CHECK(outstanding.insert(check_in_place(h, c, kNullPayload)).second);
    }
    reaped += cqes.size();
    h.refill(held);
    for (const auto& c : held)
      outstanding.erase(static_cast<uint32_t>(uapi::area_offset_of(c.zcqe.off) / kNiov));
    held = std::move(cqes);
  }
  h.stop();
  std::vector<uapi::io_uring_cqe32> rest;
  reap_rest(h, &rest);
  reaped += rest.size();
  CHECK(h.st.delivered.get() == reaped);
  CHECK(h.st.packets_delivered.get() == reaped);
  CHECK(h.st.delivered_bytes.get() == reaped * kNullPayload);
  CHECK(h.st.copied.get() == 0);
  CHECK(h.st.rx.get() == reaped);  // nothing dropped
  // Everything delivered is either back in the pool through refill, or
  // still held by the consumer (the last round and what it did not reap).
  const uint64_t held_now = h.st.delivered.get() - h.st.returned.get();
  CHECK(h.st.refilled.get() == h.st.returned.get());
  CHECK(h.ifq->area()->held_by_users() == held_now);
  CHECK(h.pool->available() == kAreaNiovs - held_now);
  CHECK(h.ifq->stats().copies == 0);
}

TEST_CASE("a len-limited RECV_ZC ends with a final CQE at its limit") {
  constexpr uint32_t kAreaNiovs = 256;
  NullHarness h("null_limit", kAreaNiovs, 250);
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, 4, &cqes));
  REQUIRE(wait_for([&] { return h.dp->armed() == 0; }));
  h.stop();
  reap_rest(h, &cqes);
  REQUIRE(cqes.size() == 4);
  const int32_t want[3] = {100, 100, 50};
  for (int i = 0; i < 3; i++) {
    CHECK(cqes[i].cqe.res == want[i]);
    // The whole datagrams and the one cut at the limit: nothing more of
    // each follows.
    CHECK(cqes[i].cqe.flags == (uapi::kCqeFMore | zcrx::proto::kCqeFDatagramEnd));
    check_in_place(h, cqes[i], static_cast<uint32_t>(want[i]));
  }
  CHECK(cqes[3].cqe.user_data == kUserData);
  CHECK(cqes[3].cqe.res == 0);
  CHECK(cqes[3].cqe.flags == 0);
  CHECK(h.st.delivered_bytes.get() == 250);
  // Packets after the limit found their flow, but nobody receiving.
  CHECK(h.st.delivered.get() == 3);
  CHECK(h.st.dropped_not_armed.get() == h.st.rx.get() - 3);
  CHECK(h.st.dropped_no_flow.get() == 0);
}

int main(int argc, char** argv) {
  return zcrxd::testing::run_doctest_under_eal(
      argc, argv, "zcrxd_dp_", "256",
      {"net_null0,size=" + std::to_string(kHeaders + kNullPayload)});
}
