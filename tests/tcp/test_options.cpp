// SPDX-License-Identifier: MIT
// TCP options: the wire format (RFC 9293 3.2, RFC 7323 2-3, RFC 2018 2-3;
// Linux's layout), their negotiation in the handshake, timestamps on every
// segment and RTTM (RFC 7323 3-4), SACK blocks we generate (RFC 2018 4).
#include <cerrno>
#include <cstring>
#include <vector>

#include "harness.h"
#include "zcrx/tcp/options.h"

using namespace zcrx::tcp;
using namespace zcrx::tcp::test;

namespace {
std::vector<uint8_t> wire(const Options& o) {
  uint8_t b[kMaxOptionBytes];
  const uint32_t n = write_options(o, b, sizeof b);
  REQUIRE(n == options_wire_len(o));
  return std::vector<uint8_t>(b, b + n);
}
}  // namespace

TEST_CASE("options wire: a SYN's options in Linux's layout, byte for byte") {
  Options o;
  o.mss = 1460;
  o.wscale = 7;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.tsval = 0x01020304;
  o.tsecr = 0;
  const std::vector<uint8_t> want = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7};
  CHECK(wire(o) == want);
  o.has_timestamps = false;
  const std::vector<uint8_t> no_ts = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
  CHECK(wire(o) == no_ts);
}

TEST_CASE("options wire: SACK blocks, three beside timestamps (40 bytes), four without") {
  Options o;
  o.has_timestamps = true;
  o.tsval = 1;
  o.tsecr = 2;
  o.n_sack = 4;
  for (uint32_t i = 0; i < 4; i++) o.sack[i] = {100 * i + 10, 100 * i + 20};
  std::vector<uint8_t> w = wire(o);
  REQUIRE(w.size() == 40);
  CHECK(w[12] == kOptNop);
  CHECK(w[14] == kOptSack);
  CHECK(w[15] == 2 + 3 * 8);
  Options back;
  REQUIRE(parse_options(w.data(), static_cast<uint32_t>(w.size()), false, back) == 0);
  CHECK(back.n_sack == 3);
  CHECK(back.sack[2].left == 210);
  CHECK(back.tsecr == 2);
  o.has_timestamps = false;
  w = wire(o);
  CHECK(w.size() == 36);
  REQUIRE(parse_options(w.data(), static_cast<uint32_t>(w.size()), false, back) == 0);
  CHECK(back.n_sack == 4);
  CHECK(back.sack[3].right == 320);
  CHECK(write_options(o, w.data(), 35) == 0);  // does not fit: nothing written
}

TEST_CASE("options parse: SYN-only options ignored elsewhere, SACK ignored on a SYN, shift above 14 read as 14") {
  const uint8_t syn_opts[] = {2, 4, 0x23, 0x28, 1, 3, 3, 15, 4, 2, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2};
  Options o;
  REQUIRE(parse_options(syn_opts, sizeof syn_opts, true, o) == 0);
  CHECK(o.mss == 9000);
  CHECK(o.wscale == 14);
  CHECK(o.sack_permitted);
  CHECK(o.n_sack == 0);
  REQUIRE(parse_options(syn_opts, sizeof syn_opts, false, o) == 0);
  CHECK(o.mss == 0);
  CHECK(o.wscale == -1);
  CHECK_FALSE(o.sack_permitted);
  CHECK(o.n_sack == 1);
  CHECK(o.sack[0].left == 1);
  CHECK(o.sack[0].right == 2);
}

TEST_CASE("options parse: unknown kinds skipped, EOL ends the list, malformed lengths are -EINVAL keeping what came before") {
  const uint8_t unknown[] = {30, 4, 9, 9, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 0, 77};
  Options o;
  REQUIRE(parse_options(unknown, sizeof unknown, false, o) == 0);
  CHECK(o.has_timestamps);
  CHECK(o.tsval == 5);
  const uint8_t bad_len[] = {8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 30, 1, 0, 0};
  CHECK(parse_options(bad_len, sizeof bad_len, false, o) == -EINVAL);
  CHECK(o.tsval == 5);
  const uint8_t past_end[] = {1, 1, 8, 10, 0, 0};
  CHECK(parse_options(past_end, sizeof past_end, false, o) == -EINVAL);
  CHECK_FALSE(o.has_timestamps);
  const uint8_t wrong_size[] = {2, 3, 5, 0};
  CHECK(parse_options(wrong_size, sizeof wrong_size, true, o) == -EINVAL);
  const uint8_t bad_sack[] = {5, 6, 0, 0, 0, 1};
  CHECK(parse_options(bad_sack, sizeof bad_sack, false, o) == -EINVAL);
  const uint8_t lone[] = {2};
  CHECK(parse_options(lone, 1, true, o) == -EINVAL);
}

TEST_CASE("RFC 7323 3.2 / RFC 2018 2: offered and enabled both ways -> in the SYN-ACK; enabled only here -> not") {
  Config cfg = Harness::quiet_config();
  cfg.timestamps = true;
  cfg.sack = true;
  Harness h(cfg);
  h.listen();
  PeerSeg s = h.seg(kSyn, 1);
  s.opt_mss(1000).opt_sack_ok().opt_ts(77, 0).opt_ws(2);
  h.in(s);
  TxSegment sa = h.one_tx();
  CHECK(sa.opts.sack_permitted);
  CHECK(sa.opts.has_timestamps);
  CHECK(sa.opts.tsecr == 77);
  CHECK(sa.opts.wscale == 7);
  h.remote.port = 2;
  h.in(h.seg(kSyn, 1));  // offers nothing
  sa = h.one_tx();
  CHECK_FALSE(sa.opts.sack_permitted);
  CHECK_FALSE(sa.opts.has_timestamps);
  CHECK(sa.opts.wscale == -1);
  CHECK(sa.opts.mss == 1000);  // MSS is always sent
  Config off = Harness::quiet_config();  // sack and timestamps disabled here
  Harness g(off);
  g.listen();
  g.in(s);
  sa = g.one_tx();
  CHECK_FALSE(sa.opts.sack_permitted);
  CHECK_FALSE(sa.opts.has_timestamps);
}

TEST_CASE("RFC 7323 3.2: with timestamps every segment carries TSval/TSecr, and the MSS leaves room for them") {
  Config cfg = Harness::quiet_config();
  cfg.timestamps = true;
  Harness h(cfg);
  Options syn;
  syn.has_timestamps = true;
  syn.tsval = 500;
  Conn* c = h.open_passive(syn);
  h.now += 3000;
  REQUIRE(h.eng->send(c, 2000, h.now) == 0);
  const auto segs = h.take_tx();
  REQUIRE(segs.size() == 3);
  CHECK(segs[0].len == 988);  // 1000 - 12
  for (const TxSegment& t : segs) {
    CHECK(t.opts.has_timestamps);
    CHECK(t.opts.tsecr == 501);
  }
  CHECK(segs[1].opts.tsval == segs[0].opts.tsval);
}

TEST_CASE("RFC 7323 4 (RTTM): the echoed TSval gives an RTT sample even for a resent segment") {
  Config cfg = Harness::quiet_config();
  cfg.timestamps = true;
  Harness h(cfg);
  Options syn;
  syn.has_timestamps = true;
  syn.tsval = 500;
  Conn* c = h.open_passive(syn);
  REQUIRE(h.eng->send(c, 500, h.now) == 0);
  h.take_tx();
  h.advance(c->rto_us());
  const TxSegment r = h.one_tx();
  REQUIRE(r.retransmit);
  h.now += 40000;
  PeerSeg a = h.seg(kAck, h.peer_seq, h.our_seq(500));
  a.opt_ts(600, r.opts.tsval);
  const uint32_t before = c->srtt_us();
  h.in(a);
  CHECK(c->srtt_us() != before);  // a sample of 40 ms went in
  CHECK(c->srtt_us() == (7 * before + 40000) / 8);
}

TEST_CASE("RFC 2018 4: SACK blocks describe the held data, the block of the latest segment first; 3 beside timestamps") {
  Config cfg = Harness::quiet_config();
  cfg.sack = true;
  Harness h(cfg);
  Options syn;
  syn.sack_permitted = true;
  h.open_passive(syn);
  const uint32_t base = h.peer_seq;
  auto ooo = [&](uint32_t off, uint32_t len) {
    PeerSeg p = h.seg(kAck, base + off, h.our_seq(0));
    h.payload(p, len);
    h.in(p);
    return h.one_tx();
  };
  TxSegment a = ooo(1000, 100);
  REQUIRE(a.opts.n_sack == 1);
  CHECK(a.opts.sack[0].left == base + 1000);
  CHECK(a.opts.sack[0].right == base + 1100);
  ooo(3000, 100);
  a = ooo(1100, 100);  // joins the first block
  REQUIRE(a.opts.n_sack == 2);
  CHECK(a.opts.sack[0].left == base + 1000);
  CHECK(a.opts.sack[0].right == base + 1200);
  CHECK(a.opts.sack[1].left == base + 3000);
  ooo(5000, 100);
  ooo(7000, 100);
  a = ooo(9000, 100);  // five blocks: four fit without timestamps
  // The others in the order they were last the first block: [1000, 1200)
  // (when 1100 arrived) is more recent than [3000, 3100).
  REQUIRE(a.opts.n_sack == 4);
  CHECK(a.opts.sack[0].left == base + 9000);
  CHECK(a.opts.sack[1].left == base + 7000);
  CHECK(a.opts.sack[2].left == base + 5000);
  CHECK(a.opts.sack[3].left == base + 1000);
  // The hole before the first block fills: it is delivered and leaves the list.
  PeerSeg fill = h.seg(kAck, base, h.our_seq(0));
  h.payload(fill, 1000);
  h.in(fill);
  a = h.one_tx();
  CHECK(a.ack == base + 1200);
  REQUIRE(a.opts.n_sack == 4);
  for (int i = 0; i < 4; i++) CHECK(a.opts.sack[i].left != base + 1000);

  Config ts = cfg;
  ts.timestamps = true;
  Harness t(ts);
  syn.has_timestamps = true;
  t.open_passive(syn);
  for (uint32_t i = 1; i <= 4; i++) {
    PeerSeg p = t.seg(kAck, t.peer_seq + 2000 * i, t.our_seq(0));
    t.payload(p, 100);
    t.in(p);
  }
  const auto acks = t.take_tx();
  CHECK(acks.back().opts.n_sack == 3);
  CHECK(acks.back().opts.sack[0].left == t.peer_seq + 8000);
}
