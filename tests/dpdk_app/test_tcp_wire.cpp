// SPDX-License-Identifier: MIT
// TCP on the wire: parsing every option kind (and where each counts),
// malformed options (segment kept, options before the fault kept, counted)
// and bad headers (refused, counted); the headers written for a segment
// byte-exact in Linux's option layout with checksums from the reference
// sum; the offload variant's pseudo-header sum; random segments written
// and parsed back.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "net_test_util.h"
#include "tcp_wire.h"

using namespace zcrxd;
using zcrx::tcp::Options;
using zcrx::tcp::RxSegment;
using zcrx::tcp::TxSegment;
using zcrxd::test::Bytes;
using zcrxd::test::get16;
using zcrxd::test::get32;
using zcrxd::test::ip4;
using zcrxd::test::kOurMac;
using zcrxd::test::kOurs;
using zcrxd::test::kPeer;
using zcrxd::test::kPeerMac;
using zcrxd::test::put16;
using zcrxd::test::put32;
using zcrxd::test::ref_checksum;
using zcrxd::test::ref_sum;
using zcrxd::test::slice;
using zcrxd::test::tcp_pseudo;

namespace {

// A received frame: Ethernet, IPv4 (20 bytes), TCP 40000 -> 80 with
// `options` (padded by the caller to whole words) and `payload` bytes;
// checksums from the reference.
Bytes rx_frame(uint8_t flags, const Bytes& options, uint32_t payload = 0) {
  Bytes tcp(20, 0);
  put16(tcp, 0, 40000);
  put16(tcp, 2, 80);
  put32(tcp, 4, 0x01020304);
  put32(tcp, 8, 0xa0b0c0d0);
  tcp[12] = static_cast<uint8_t>(((20 + options.size()) / 4) << 4);
  tcp[13] = flags;
  put16(tcp, 14, 29200);
  tcp.insert(tcp.end(), options.begin(), options.end());
  for (uint32_t i = 0; i < payload; i++) tcp.push_back(static_cast<uint8_t>(i ^ 0x5a));
  put16(tcp, 16, ref_checksum({tcp_pseudo(kPeer, kOurs, static_cast<uint32_t>(tcp.size())), tcp}));
  Bytes f(kOurMac.b, kOurMac.b + 6);
  f.insert(f.end(), kPeerMac.b, kPeerMac.b + 6);
  zcrxd::test::append(f, {0x08, 0x00, 0x45, 0x00, 0, 0, 0, 0, 0x40, 0x00, 64, 6, 0, 0});
  f.resize(14 + 20);
  put16(f, 16, static_cast<uint16_t>(20 + tcp.size()));
  put32(f, 26, kPeer);
  put32(f, 30, kOurs);
  put16(f, 24, ref_checksum({slice(f, 14, 20)}));
  f.insert(f.end(), tcp.begin(), tcp.end());
  return f;
}

struct Parsed {
  int rc;
  RxSegment seg;
  TcpParsed info;
};

Parsed parse(const Bytes& f, TcpWireStats& st) {
  Parsed p{};
  const auto l4_len = static_cast<uint32_t>(get16(f, 16) - 20);
  p.rc = parse_tcp(f.data(), static_cast<uint32_t>(f.size()), 34, l4_len, get32(f, 26),
                   get32(f, 30), &p.seg, &p.info, st);
  return p;
}

Parsed parse_options_of(uint8_t flags, const Bytes& options, TcpWireStats& st) {
  return parse(rx_frame(flags, options), st);
}

}  // namespace

TEST_CASE("a header parses into the engine's segment: tuple, numbers, flags, payload place") {
  TcpWireStats st;
  const Bytes f = rx_frame(zcrx::tcp::kAck | zcrx::tcp::kPsh, {}, 100);
  const Parsed p = parse(f, st);
  REQUIRE(p.rc == 0);
  CHECK(p.seg.tuple.local.addr == kOurs);
  CHECK(p.seg.tuple.local.port == 80);
  CHECK(p.seg.tuple.remote.addr == kPeer);
  CHECK(p.seg.tuple.remote.port == 40000);
  CHECK(p.seg.seq == 0x01020304);
  CHECK(p.seg.ack == 0xa0b0c0d0);
  CHECK(p.seg.window == 29200);
  CHECK(p.seg.flags == (zcrx::tcp::kAck | zcrx::tcp::kPsh));
  CHECK(p.seg.payload_len == 100);
  CHECK(p.seg.n_pieces == 0);
  CHECK(p.info.header_len == 20);
  CHECK(p.info.payload_off == 54);
  CHECK(p.info.payload_len == 100);
  CHECK_FALSE(p.info.options_malformed);
  CHECK(f[p.info.payload_off] == (0 ^ 0x5a));
  CHECK(tcp_checksum_ok(f.data() + 34, 120, kPeer, kOurs));
  CHECK(st.parsed.get() == 1);
  // Every flag bit comes through as it is on the wire.
  for (int flags = 0; flags < 256; flags++) {
    const Parsed q = parse(rx_frame(static_cast<uint8_t>(flags), {}), st);
    REQUIRE(q.rc == 0);
    CHECK(q.seg.flags == flags);
  }
}

TEST_CASE("every option kind, on a SYN") {
  TcpWireStats st;
  const Bytes opts = {2,    4, 0x05, 0xb4,                          // MSS 1460
                      4,    2,                                       // SACK permitted
                      8,    10, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef,  // timestamps
                      1,                                             // NOP
                      3,    3, 7,                                    // window scale 7
                      0x1e, 4, 0xaa, 0xbb,                           // unknown kind 30: skipped
                      0};                                            // end
  Bytes padded = opts;
  padded.resize(28, 0);
  const Parsed p = parse_options_of(zcrx::tcp::kSyn, padded, st);
  REQUIRE(p.rc == 0);
  CHECK_FALSE(p.info.options_malformed);
  CHECK(p.seg.opts.mss == 1460);
  CHECK(p.seg.opts.sack_permitted);
  CHECK(p.seg.opts.has_timestamps);
  CHECK(p.seg.opts.tsval == 1);
  CHECK(p.seg.opts.tsecr == 0xdeadbeef);
  CHECK(p.seg.opts.wscale == 7);
  CHECK(p.seg.opts.n_sack == 0);
  CHECK(p.info.header_len == 48);
  // A window scale above 14 is used as 14 (RFC 7323 2.3).
  const Parsed w = parse_options_of(zcrx::tcp::kSyn, {3, 3, 15, 0}, st);
  CHECK(w.seg.opts.wscale == 14);
  // After the end of the list nothing counts, even a valid option.
  const Parsed e = parse_options_of(zcrx::tcp::kSyn, {0, 2, 4, 5, 0xb4, 0, 0, 0}, st);
  CHECK(e.seg.opts.mss == 0);
  CHECK_FALSE(e.info.options_malformed);
  CHECK(st.bad_options.get() == 0);
}

TEST_CASE("SYN-only options are ignored on other segments; SACK blocks only count there") {
  TcpWireStats st;
  const Bytes syn_opts = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2};
  const Parsed a = parse_options_of(zcrx::tcp::kAck, syn_opts, st);
  CHECK(a.seg.opts.mss == 0);
  CHECK(a.seg.opts.wscale == -1);
  CHECK_FALSE(a.seg.opts.sack_permitted);
  for (uint8_t blocks = 1; blocks <= 4; blocks++) {
    Bytes sack = {1, 1, 5, static_cast<uint8_t>(2 + 8 * blocks)};
    for (uint8_t b = 0; b < blocks; b++) {
      Bytes edges(8);
      put32(edges, 0, 1000u * b + 1);
      put32(edges, 4, 1000u * b + 500);
      sack.insert(sack.end(), edges.begin(), edges.end());
    }
    sack.resize((sack.size() + 3) / 4 * 4, 1);
    CAPTURE(blocks);
    const Parsed s = parse_options_of(zcrx::tcp::kAck, sack, st);
    REQUIRE(s.seg.opts.n_sack == blocks);
    for (uint8_t b = 0; b < blocks; b++) {
      CHECK(s.seg.opts.sack[b].left == 1000u * b + 1);
      CHECK(s.seg.opts.sack[b].right == 1000u * b + 500);
    }
    const Parsed on_syn = parse_options_of(zcrx::tcp::kSyn | zcrx::tcp::kAck, sack, st);
    CHECK(on_syn.seg.opts.n_sack == 0);
  }
  // Timestamps count on every segment.
  const Parsed t = parse_options_of(zcrx::tcp::kAck, {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8}, st);
  CHECK(t.seg.opts.has_timestamps);
  CHECK(t.seg.opts.tsval == 9);
  CHECK(t.seg.opts.tsecr == 8);
  CHECK(st.bad_options.get() == 0);
}

TEST_CASE("malformed options: the segment stays, the options before the fault too, counted") {
  struct Case {
    const char* what;
    Bytes options;
    uint16_t mss_kept;
  };
  const Case cases[] = {
      {"length 0", {2, 4, 0x05, 0xb4, 0x1e, 0, 0, 0}, 1460},
      {"length 1", {2, 4, 0x05, 0xb4, 0x1e, 1, 0, 0}, 1460},
      {"length past the end", {2, 4, 0x05, 0xb4, 0x1e, 5, 0, 0}, 1460},
      {"kind without its length byte", {2, 4, 0x05, 0xb4, 1, 1, 1, 8}, 1460},
      {"MSS of length 3", {2, 3, 0x05, 0xb4}, 0},
      {"window scale of length 4", {2, 4, 0x05, 0xb4, 3, 4, 7, 0}, 1460},
      {"SACK permitted of length 3", {2, 4, 0x05, 0xb4, 4, 3, 0, 0}, 1460},
      {"timestamps of length 9", {2, 4, 0x05, 0xb4, 8, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}, 1460},
      {"SACK of length 12", {2, 4, 0x05, 0xb4, 5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 1460},
      {"SACK of length 2", {2, 4, 0x05, 0xb4, 5, 2, 0, 0}, 1460},
  };
  TcpWireStats st;
  uint64_t n = 0;
  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    const Parsed p = parse_options_of(zcrx::tcp::kSyn, c.options, st);
    REQUIRE(p.rc == 0);
    CHECK(p.info.options_malformed);
    CHECK(p.seg.opts.mss == c.mss_kept);
    CHECK(p.info.header_len == 20 + c.options.size());
    CHECK(st.bad_options.get() == ++n);
  }
  CHECK(st.parsed.get() == n);
  CHECK(st.bad_header.get() == 0);
}

TEST_CASE("bad headers are refused and counted") {
  TcpWireStats st;
  const Bytes f = rx_frame(zcrx::tcp::kAck, {1, 1, 1, 1}, 10);
  RxSegment seg;
  TcpParsed info;
  auto refused = [&](const uint8_t* frame, uint32_t avail, uint32_t l4_off, uint32_t l4_len) {
    CHECK(parse_tcp(frame, avail, l4_off, l4_len, kPeer, kOurs, &seg, &info, st) == -EINVAL);
  };
  const auto avail = static_cast<uint32_t>(f.size());
  refused(f.data(), avail, 34, 19);          // shorter than a header
  refused(f.data(), avail, 34, 23);          // data offset 6 past the segment
  refused(f.data(), 34 + 23, 34, 34);        // options past the readable bytes
  refused(f.data(), 30, 34, 34);             // the segment starts past them
  Bytes g = f;
  g[34 + 12] = 0x40;  // data offset 4
  refused(g.data(), avail, 34, 34);
  g[34 + 12] = 0xf0;  // data offset 15: 60 bytes
  refused(g.data(), avail, 34, 34);
  CHECK(st.bad_header.get() == 6);
  CHECK(st.parsed.get() == 0);
  CHECK(parse_tcp(f.data(), avail, 34, 24, kPeer, kOurs, &seg, &info, st) == 0);
  CHECK(seg.payload_len == 0);
  CHECK(parse_tcp(f.data(), 34 + 24, 34, 34, kPeer, kOurs, &seg, &info, st) == 0);
  CHECK(seg.payload_len == 10);  // the payload may lie beyond the first buffer
}

TEST_CASE("the headers of a SYN, byte for byte, in Linux's option layout") {
  TxSegment s;
  s.tuple.local = {kOurs, 80};
  s.tuple.remote = {kPeer, 40000};
  s.seq = 0x11223344;
  s.ack = 0x55667788;
  s.window = 65535;
  s.flags = zcrx::tcp::kSyn | zcrx::tcp::kAck;
  s.opts.mss = 1460;
  s.opts.sack_permitted = true;
  s.opts.has_timestamps = true;
  s.opts.tsval = 0x01020304;
  s.opts.tsecr = 0x0a0b0c0d;
  s.opts.wscale = 7;
  uint8_t out[128];
  std::memset(out, 0xee, sizeof(out));
  REQUIRE(tcp_headers_len(s) == 74);
  REQUIRE(write_tcp_headers(s, kOurMac, kPeerMac, 0, out, sizeof(out)) == 74);
  Bytes want = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
                // IPv4: 20 bytes, TOS 0, length 60, ID 0, DF, TTL 64, TCP
                0x45, 0x00, 0x00, 60, 0x00, 0x00, 0x40, 0x00, 64, 6, 0, 0,
                10, 0, 0, 2, 10, 0, 0, 1,
                // TCP: ports, seq, ack, data offset 10, SYN|ACK, window, checksum, urgent
                0x00, 80, 0x9c, 0x40, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                0xa0, 0x12, 0xff, 0xff, 0, 0, 0, 0,
                // MSS; SACK-permitted + timestamps; NOP + window scale
                2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d,
                1, 3, 3, 7};
  put16(want, 24, ref_checksum({slice(want, 14, 20)}));
  put16(want, 50, ref_checksum({tcp_pseudo(kOurs, kPeer, 40), slice(want, 34, 40)}));
  CHECK(Bytes(out, out + 74) == want);
  CHECK(out[74] == 0xee);

  // Without timestamps: NOP NOP SACK-permitted.
  s.opts.has_timestamps = false;
  REQUIRE(write_tcp_headers(s, kOurMac, kPeerMac, 0, out, sizeof(out)) == 66);
  CHECK(slice(out + 54, 12) == Bytes{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7});
  // An ACK with timestamps and SACK blocks: NOP NOP TS, NOP NOP SACK; at
  // most 3 blocks beside timestamps.
  TxSegment a = s;
  a.flags = zcrx::tcp::kAck;
  a.opts = Options{};
  a.opts.has_timestamps = true;
  a.opts.tsval = 5;
  a.opts.tsecr = 6;
  a.opts.n_sack = 4;
  for (uint32_t b = 0; b < 4; b++) a.opts.sack[b] = {100 * b + 10, 100 * b + 20};
  REQUIRE(write_tcp_headers(a, kOurMac, kPeerMac, 0, out, sizeof(out)) == 54 + 12 + 28);
  Bytes ack_opts = {1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 1, 1, 5, 26};
  for (uint32_t b = 0; b < 3; b++) {
    Bytes edges(8);
    put32(edges, 0, 100 * b + 10);
    put32(edges, 4, 100 * b + 20);
    ack_opts.insert(ack_opts.end(), edges.begin(), edges.end());
  }
  CHECK(slice(out + 54, 40) == ack_opts);
  CHECK(out[46] == 0xf0);  // data offset 15
  // Too small a buffer, or a datagram past 65535 bytes: nothing.
  CHECK(write_tcp_headers(a, kOurMac, kPeerMac, 0, out, 93) == 0);
  TxSegment big = s;
  big.opts = Options{};
  big.len = 65535 - 40 + 1;
  CHECK(write_tcp_headers(big, kOurMac, kPeerMac, 0, out, sizeof(out)) == 0);
  big.len = 65535 - 40;
  CHECK(write_tcp_headers(big, kOurMac, kPeerMac, 0, out, sizeof(out)) == 54);
}

TEST_CASE("random segments: written, then parsed back the same, checksums right") {
  std::mt19937 rng(11);
  TcpWireStats st;
  for (int round = 0; round < 3000; round++) {
    TxSegment s;
    s.tuple.local = {static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng())};
    s.tuple.remote = {static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng())};
    s.seq = static_cast<uint32_t>(rng());
    s.ack = static_cast<uint32_t>(rng());
    s.window = static_cast<uint16_t>(rng());
    s.flags = static_cast<uint8_t>(rng());
    const bool syn = s.flags & zcrx::tcp::kSyn;
    Options& o = s.opts;
    if (syn) {
      if (rng() % 2) o.mss = static_cast<uint16_t>(rng() % 65535 + 1);
      if (rng() % 2) o.wscale = static_cast<int8_t>(rng() % 15);
      o.sack_permitted = rng() % 2;
    } else {
      o.n_sack = static_cast<uint8_t>(rng() % 5);
      for (auto& b : o.sack) b = {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
    }
    o.has_timestamps = rng() % 2;
    o.tsval = static_cast<uint32_t>(rng());
    o.tsecr = static_cast<uint32_t>(rng());
    Bytes payload(rng() % 1461);
    for (uint8_t& x : payload) x = static_cast<uint8_t>(rng());
    s.len = static_cast<uint32_t>(payload.size());

    Bytes f(tcp_headers_len(s) + payload.size());
    const uint32_t hdr = write_tcp_headers(s, kOurMac, kPeerMac, ref_sum({payload}), f.data(),
                                           static_cast<uint32_t>(f.size()));
    REQUIRE(hdr == tcp_headers_len(s));
    std::memcpy(f.data() + hdr, payload.data(), payload.size());
    const auto l4_len = static_cast<uint32_t>(f.size() - 34);
    // Checksums by the reference, and by the helper.
    REQUIRE(ref_sum({slice(f, 14, 20)}) == 0xffff);
    REQUIRE(ref_sum({tcp_pseudo(s.tuple.local.addr, s.tuple.remote.addr, l4_len),
                     slice(f, 34, l4_len)}) == 0xffff);
    REQUIRE(tcp_checksum_ok(f.data() + 34, l4_len, s.tuple.local.addr, s.tuple.remote.addr));
    Bytes damaged = f;
    damaged[34 + rng() % l4_len] ^= static_cast<uint8_t>(1u << (rng() % 8));
    CHECK_FALSE(tcp_checksum_ok(damaged.data() + 34, l4_len, s.tuple.local.addr,
                                s.tuple.remote.addr));
    // Parsed as the other end sees it.
    RxSegment r;
    TcpParsed info;
    REQUIRE(parse_tcp(f.data(), static_cast<uint32_t>(f.size()), 34, l4_len, get32(f, 26),
                      get32(f, 30), &r, &info, st) == 0);
    CHECK_FALSE(info.options_malformed);
    CHECK(r.tuple.local.addr == s.tuple.remote.addr);
    CHECK(r.tuple.local.port == s.tuple.remote.port);
    CHECK(r.tuple.remote.addr == s.tuple.local.addr);
    CHECK(r.tuple.remote.port == s.tuple.local.port);
    CHECK(r.seq == s.seq);
    CHECK(r.ack == s.ack);
    CHECK(r.window == s.window);
    CHECK(r.flags == s.flags);
    CHECK(r.payload_len == s.len);
    CHECK(info.payload_off == hdr);
    CHECK(r.opts.mss == o.mss);
    CHECK(r.opts.wscale == o.wscale);
    CHECK(r.opts.sack_permitted == o.sack_permitted);
    CHECK(r.opts.has_timestamps == o.has_timestamps);
    if (o.has_timestamps) {
      CHECK(r.opts.tsval == o.tsval);
      CHECK(r.opts.tsecr == o.tsecr);
    }
    const uint8_t blocks = std::min<uint8_t>(o.n_sack, o.has_timestamps ? 3 : 4);
    REQUIRE(r.opts.n_sack == blocks);
    for (uint8_t b = 0; b < blocks; b++) {
      CHECK(r.opts.sack[b].left == o.sack[b].left);
      CHECK(r.opts.sack[b].right == o.sack[b].right);
    }
    // Written without the payload's sum, completed afterwards: the same bytes.
    Bytes late(f.size());
    REQUIRE(write_tcp_headers(s, kOurMac, kPeerMac, 0, late.data(),
                              static_cast<uint32_t>(late.size())) == hdr);
    add_tcp_payload_sum(late.data() + 34, ref_sum({payload}));
    std::memcpy(late.data() + hdr, payload.data(), payload.size());
    CHECK(late == f);
  }
  CHECK(st.bad_options.get() == 0);
}

TEST_CASE("the offload variant leaves the pseudo-header sum for the NIC to complete") {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; round++) {
    TxSegment s;
    s.tuple.local = {static_cast<uint32_t>(rng()), 80};
    s.tuple.remote = {static_cast<uint32_t>(rng()), 40000};
    s.flags = zcrx::tcp::kAck;
    s.opts.has_timestamps = round % 2;
    s.len = static_cast<uint32_t>(rng() % 1461);
    Bytes payload(s.len);
    for (uint8_t& x : payload) x = static_cast<uint8_t>(rng());
    const bool ip_offload = round % 3 == 0;
    Bytes f(tcp_headers_len(s) + s.len);
    const uint32_t hdr = write_tcp_headers_offload(s, kOurMac, kPeerMac, ip_offload, f.data(),
                                                   static_cast<uint32_t>(f.size()));
    REQUIRE(hdr == tcp_headers_len(s));
    std::memcpy(f.data() + hdr, payload.data(), payload.size());
    const auto l4_len = static_cast<uint32_t>(f.size() - 34);
    // The field: the pseudo-header's sum, not complemented (rte_ipv4_phdr_cksum).
    CHECK(get16(f, 34 + 16) ==
          ref_sum({tcp_pseudo(s.tuple.local.addr, s.tuple.remote.addr, l4_len)}));
    if (ip_offload) CHECK(get16(f, 24) == 0);
    else CHECK(ref_sum({slice(f, 14, 20)}) == 0xffff);
    // What the NIC does: sum the segment from that start, complement, store.
    Bytes done = f;
    const Bytes seg = slice(f, 34, l4_len);
    put16(done, 34 + 16, static_cast<uint16_t>(~ref_sum({seg}) & 0xffff));
    Bytes soft(f.size());
    REQUIRE(write_tcp_headers(s, kOurMac, kPeerMac, ref_sum({payload}), soft.data(),
                              static_cast<uint32_t>(soft.size())) == hdr);
    std::memcpy(soft.data() + hdr, payload.data(), payload.size());
    CHECK(slice(done, 34, l4_len) == slice(soft, 34, l4_len));
  }
}
