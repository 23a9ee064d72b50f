// SPDX-License-Identifier: MIT
// IP reassembly through the datapath, as Linux reassembles: IPv4 and IPv6
// fragments in any order become one datagram whose payload is delivered in
// place (the fragments are niovs of the area: the test writes them into
// area mbufs and feeds them through net_ring), one CQE per fragment at the
// right offset, the last one ending the datagram; an atomic fragment is a
// whole datagram; what cannot complete (timeout, a full table, invalid
// sets) is dropped and counted, and every buffer comes back, also those
// held when the queue is unbound.
#include <doctest/doctest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "area_pool.h"
#include "datapath_harness.h"
#include "udp_frame.h"
#include "zcrx/client.h"

using namespace dptest;
using zcrxd::testing::FrameSpec;
using zcrxd::testing::ip_fragments;
using zcrxd::testing::udp_frame;

namespace {

using Frame = std::vector<uint8_t>;

FrameSpec spec(bool ipv6, int vlans = 0, uint16_t id = 1) {
  FrameSpec s;
  s.ipv6 = ipv6;
  s.vlans = vlans;
  s.dst_port = kUdpPort;
  s.ip_id = id;
  return s;
}

/// A frame in an mbuf of the area pool: delivered in place, like one the
/// PMD received into the area.
rte_mbuf* area_mbuf(Harness& h, const Frame& f) {
  rte_mbuf* m = rte_pktmbuf_alloc(h.pool->pool());
  REQUIRE(m);
  REQUIRE(f.size() <= rte_pktmbuf_tailroom(m));
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
  return m;
}

/// A datagram cut into fragments, and the area niov each one went into.
struct Fragmented {
  uint32_t seq = 0;
  uint32_t payload = 0;
  std::vector<Frame> frags;       // in datagram order
  std::vector<uint32_t> niov;     // filled by send()
};

Fragmented fragmented(uint32_t seq, uint32_t payload, bool ipv6, int vlans, uint32_t chunk) {
  Fragmented d;
  d.seq = seq;
  d.payload = payload;
  d.frags = ip_fragments(udp_frame(spec(ipv6, vlans, static_cast<uint16_t>(seq)),
                                   payload_of(seq, payload)),
                         chunk, seq);
  d.niov.assign(d.frags.size(), UINT32_MAX);
  return d;
}

/// Sends the fragments named by `order` ((datagram, fragment) pairs) in
/// area mbufs, recording each one's niov.
void send(Harness& h, std::vector<Fragmented>& dg,
          const std::vector<std::pair<size_t, size_t>>& order) {
  std::vector<rte_mbuf*> pkts;
  for (auto [d, k] : order) {
    rte_mbuf* m = area_mbuf(h, dg[d].frags[k]);
    dg[d].niov[k] = h.pool->niov_of(m);
    pkts.push_back(m);
  }
  h.send(pkts);
}

/// Checks datagram `d` in `cqes` from `*at` on: one CQE per fragment, in
/// datagram order, each in place in its fragment's niov just past the
/// headers (the UDP header too, for the first), bytes exact, only the last
/// ending the datagram.
void check_in_place(const Harness& h, const Fragmented& d,
                    const std::vector<uapi::io_uring_cqe32>& cqes, size_t* at) {
  uint32_t got = 0;
  for (size_t k = 0; k < d.frags.size(); k++) {
    REQUIRE(*at < cqes.size());
    const auto& c = cqes[(*at)++];
    const zcrxd::ParsedPacket fp = zcrxd::testing::parsed(d.frags[k]);
    const uint32_t hdr = uint32_t{fp.l3_off} + fp.l3_len + (k == 0 ? 8u : 0u);
    const uint32_t len = fp.frag_len - (k == 0 ? 8u : 0u);
    CHECK(c.cqe.res == static_cast<int32_t>(len));
    CHECK(uapi::area_offset_of(c.zcqe.off) ==
          uint64_t{d.niov[k]} * kNiov + RTE_PKTMBUF_HEADROOM + hdr);
    CHECK(zcrx::is_datagram_end(c) == (k + 1 == d.frags.size()));
    const uint8_t* p = h.at(c.zcqe.off);
    uint32_t bad = 0;
    for (uint32_t j = 0; j < len; j++) bad += p[j] != payload_byte(d.seq, got + j);
    CHECK_MESSAGE(bad == 0, "datagram " << d.seq << " fragment " << k);
    got += len;
  }
  CHECK(got == d.payload);
}

Harness::Tweak frag_config(uint32_t max_datagrams, uint32_t timeout_ms) {
  return [=](zcrxd::testing::FixtureConfig& c) {
    c.reassembly.max_datagrams = max_datagrams;
    c.reassembly.timeout_ms = timeout_ms;
  };
}

/// Ends the ring's ctx: the engine closes the queue, whose provider has the
/// datapath flush what reassembly holds.
void unbind(Harness& h) {
  h.stop();
  h.eng->terminate_ctx(h.ctx);
  h.ctx = nullptr;
}

}  // namespace

TEST_CASE("fragments in any order are reassembled in place: a CQE per fragment, the last ends it") {
  Harness h("frag", 1024, true, -1, 0, {}, frag_config(64, 60000));
  std::vector<Fragmented> dg;
  dg.push_back(fragmented(1, 3000, false, 0, 1280));  // 3 fragments
  dg.push_back(fragmented(2, 5000, true, 0, 1232));   // 5
  dg.push_back(fragmented(3, 2000, false, 1, 1000));  // VLAN, 3
  dg.push_back(fragmented(4, 2500, true, 2, 800));    // QinQ, 4
  dg.push_back(fragmented(5, 9000, false, 0, 1480));  // 7
  dg.push_back(fragmented(6, 1500, true, 0, 1000));   // 2
  std::vector<std::pair<size_t, size_t>> order;
  // In order; reversed; the last first; interleaved; shuffled.
  for (size_t k = 0; k < dg[0].frags.size(); k++) order.push_back({0, k});
  for (size_t k = dg[1].frags.size(); k-- > 0;) order.push_back({1, k});
  order.push_back({2, 2});
  order.push_back({2, 0});
  order.push_back({2, 1});
  for (size_t k = 0; k < 4; k++) {
    order.push_back({3, 3 - k});
    if (k < dg[5].frags.size()) order.push_back({5, k});
  }
  std::vector<std::pair<size_t, size_t>> shuffled;
  for (size_t k = 0; k < dg[4].frags.size(); k++) shuffled.push_back({4, k});
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(3));
  order.insert(order.end(), shuffled.begin(), shuffled.end());
  // An atomic fragment: a whole datagram, one CQE.
  const Frame atomic =
      zcrxd::testing::ipv6_atomic_fragment(udp_frame(spec(true), payload_of(7, 700)));
  send(h, dg, order);
  std::vector<rte_mbuf*> last{area_mbuf(h, atomic)};
  h.send(last);

  // Datagrams complete in this order: 0, 1, 2, 3 (its last fragment comes
  // after 5's second, which completes 5 first), 4, then the atomic one.
  size_t total = 1;
  for (const auto& d : dg) total += d.frags.size();
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, total, &cqes));
  size_t at = 0;
  for (size_t d : {0u, 1u, 2u, 5u, 3u, 4u}) check_in_place(h, dg[d], cqes, &at);
  REQUIRE(at < cqes.size());
  CHECK(cqes[at].cqe.res == 700);
  CHECK(zcrx::is_datagram_end(cqes[at]));
  for (uint32_t j = 0; j < 700; j++) REQUIRE(h.at(cqes[at].zcqe.off)[j] == payload_byte(7, j));
  CHECK(h.st.reassembled.get() == dg.size());
  CHECK(h.st.packets_delivered.get() == dg.size() + 1);
  CHECK(h.st.delivered.get() == total);
  CHECK(h.st.copied.get() == 0);  // in place
  CHECK(h.st.rx.get() == total);
  // Every buffer comes back through refill.
  h.refill(cqes);
  CHECK(wait_for([&] { return h.pool->full(); }));
}

TEST_CASE("a datagram that never completes times out: its fragments go back, counted") {
  Harness h("frag_tmo", 256, true, -1, 0, {}, frag_config(64, 50));
  std::vector<Fragmented> dg{fragmented(1, 3000, false, 0, 1280),
                             fragmented(2, 3000, true, 0, 1280)};
  send(h, dg, {{0, 0}, {0, 2}, {1, 1}});  // two of three, one of three
  CHECK(wait_for([&] { return h.st.dropped_frag_timeout.get() == 3; }));
  // Back in the pool without any refill: the loop expired them idle.
  CHECK(wait_for([&] { return h.pool->full(); }));
  // The same datagram whole, later: a new start.
  dg[0].niov.assign(3, UINT32_MAX);
  send(h, dg, {{0, 1}, {0, 0}, {0, 2}});
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, 3, &cqes));
  size_t at = 0;
  check_in_place(h, dg[0], cqes, &at);
  CHECK(h.st.reassembled.get() == 1);
  CHECK(h.st.dropped_frag_timeout.get() == 3);
  h.refill(cqes);
  CHECK(wait_for([&] { return h.pool->full(); }));
}

TEST_CASE("more datagrams under way than the table takes: the rest is dropped as table full") {
  Harness h("frag_full", 256, true, -1, 0, {}, frag_config(2, 60000));
  std::vector<Fragmented> dg;
  for (uint32_t i = 0; i < 4; i++) dg.push_back(fragmented(10 + i, 2000, i % 2, 0, 1024));
  send(h, dg, {{0, 0}, {1, 0}, {2, 0}, {3, 1}});  // the table takes two
  CHECK(wait_for([&] { return h.st.dropped_frag_table_full.get() == 2; }));
  send(h, dg, {{0, 1}, {1, 1}});  // the two it took complete
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, 4, &cqes));
  size_t at = 0;
  check_in_place(h, dg[0], cqes, &at);
  check_in_place(h, dg[1], cqes, &at);
  CHECK(h.st.reassembled.get() == 2);
  h.refill(cqes);
  CHECK(wait_for([&] { return h.pool->full(); }));
}

TEST_CASE("invalid fragment sets are dropped whole and counted; what is held at unbind is flushed") {
  Harness h("frag_bad", 256, true, -1, 0, {}, frag_config(64, 60000));
  std::vector<Fragmented> dg;
  dg.push_back(fragmented(1, 3000, false, 0, 1280));  // a first fragment twice
  dg.push_back(fragmented(2, 3000, true, 0, 1280));   // overlapping: see below
  dg.push_back(fragmented(3, 2000, false, 0, 200));   // 11 fragments: too many
  dg.push_back(fragmented(4, 1000, true, 0, 504));    // its first, held at unbind
  // Datagram 2: the middle fragment again, moved 8 bytes into the first.
  Frame overlap = dg[1].frags[1];
  {
    const zcrxd::ParsedPacket fp = zcrxd::testing::parsed(overlap);
    uint8_t* fh = &overlap[fp.l3_off + 40];
    const uint32_t off = fp.frag_offset - 8;
    fh[2] = static_cast<uint8_t>(off >> 8);
    fh[3] = static_cast<uint8_t>((off & 0xf8u) | 1u);
  }
  dg[1].frags.push_back(overlap);
  dg[1].niov.push_back(UINT32_MAX);
  // Refused before reassembly: more to come, but not a multiple of 8 long.
  Frame odd = ip_fragments(udp_frame(spec(false, 0, 9), payload_of(9, 3000)), 1280)[0];
  {
    const zcrxd::ParsedPacket fp = zcrxd::testing::parsed(odd);
    odd.pop_back();  // 1279 bytes of data
    uint8_t* ip = &odd[fp.l3_off];
    const uint32_t total = (uint32_t{ip[2]} << 8 | ip[3]) - 1;
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    ip[10] = ip[11] = 0;
    const uint16_t sum = zcrxd::ipv4_header_checksum(ip, 20);
    ip[10] = static_cast<uint8_t>(sum >> 8);
    ip[11] = static_cast<uint8_t>(sum);
  }
  // A fragment with a bad IPv4 header checksum: dropped before the table.
  Frame bad_ip = dg[0].frags[2];
  zcrxd::testing::corrupt_ip_checksum(bad_ip);

  send(h, dg, {{0, 0}, {0, 0}});  // a second first fragment: both, 2 invalid
  // 1280 + 1280 + 1280 (the overlap) + 448 bytes of a 3008-byte datagram:
  // more than it holds, all 4 invalid.
  send(h, dg, {{1, 0}, {1, 1}, {1, 3}, {1, 2}});
  // 11 fragments in order: the first and 6 middle ones are held, the 7th
  // middle one is one too many (8 invalid); the last three start anew.
  REQUIRE(dg[2].frags.size() == 11);
  std::vector<std::pair<size_t, size_t>> many;
  for (size_t k = 0; k < dg[2].frags.size(); k++) many.push_back({2, k});
  send(h, dg, many);
  send(h, dg, {{3, 0}});
  std::vector<rte_mbuf*> more{area_mbuf(h, odd), area_mbuf(h, bad_ip)};
  h.send(more);
  const uint64_t sent = 2 + 4 + 11 + 1 + 2;
  REQUIRE(wait_for([&] { return h.st.rx.get() == sent; }));
  REQUIRE(wait_for([&] { return h.st.dropped_frag_invalid.get() == 2 + 4 + 8 + 1; }));
  CHECK(h.st.dropped_bad_ip_csum.get() == 1);
  CHECK(h.st.reassembled.get() == 0);
  CHECK(h.st.delivered.get() == 0);
  // Held: datagram 3's last three fragments, datagram 4's first.
  CHECK(wait_for([&] { return h.pool->available() == 256 - 4; }));
  unbind(h);
  CHECK(h.st.dropped_frag_flushed.get() == 4);
  CHECK(h.pool->full());
}

TEST_CASE("without a UDP flow, fragments are frames like any other: a raw flow gets them whole") {
  Harness h("frag_raw", 256, true, -1, 0, {},
            [](zcrxd::testing::FixtureConfig& c) { c.raw_flow = true; });
  std::vector<Fragmented> dg{fragmented(1, 3000, false, 0, 1280)};
  send(h, dg, {{0, 2}, {0, 0}, {0, 1}});
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, 3, &cqes));
  const size_t order[] = {2, 0, 1};
  for (size_t i = 0; i < 3; i++) {
    const Frame& f = dg[0].frags[order[i]];
    REQUIRE(cqes[i].cqe.res == static_cast<int32_t>(f.size()));
    CHECK(zcrx::is_datagram_end(cqes[i]));  // each frame ends itself
    CHECK(std::memcmp(h.at(cqes[i].zcqe.off), f.data(), f.size()) == 0);
  }
  CHECK(h.st.reassembled.get() == 0);
  h.refill(cqes);
  CHECK(wait_for([&] { return h.pool->full(); }));
}

TEST_CASE("a reassembled datagram's UDP checksum is checked whole: bad ones and IPv6 zero dropped") {
  Harness h("frag_csum", 256, true, -1, 0, {}, frag_config(64, 60000));
  std::vector<Fragmented> dg{fragmented(1, 3000, false, 0, 1280),
                             fragmented(2, 3000, true, 0, 1280),
                             fragmented(3, 3000, false, 0, 1280)};
  dg[0].frags[2].back() ^= 0x20;  // a payload byte of the last fragment
  {
    // IPv6 with UDP checksum 0, in its first fragment.
    Frame& f = dg[1].frags[0];
    const zcrxd::ParsedPacket fp = zcrxd::testing::parsed(f);
    f[fp.l3_off + fp.l3_len + 6] = f[fp.l3_off + fp.l3_len + 7] = 0;
  }
  send(h, dg, {{0, 0}, {0, 1}, {0, 2}, {1, 2}, {1, 1}, {1, 0}, {2, 2}, {2, 1}, {2, 0}});
  std::vector<uapi::io_uring_cqe32> cqes;
  REQUIRE(reap(h, 3, &cqes));
  size_t at = 0;
  check_in_place(h, dg[2], cqes, &at);
  CHECK(h.st.reassembled.get() == 3);
  CHECK(h.st.dropped_bad_udp_csum.get() == 1);
  CHECK(h.st.dropped_udp6_zero_csum.get() == 1);
  h.refill(cqes);
  // The dropped datagrams' buffers went back at once.
  CHECK(wait_for([&] { return h.pool->full(); }));
}
