// SPDX-License-Identifier: MIT
// ICMP echo: replies byte-exact with checksums from the reference sum, for
// requests with and without IP options, odd and even payload lengths, in
// place and into another buffer; and every request not answered, counted
// by why.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "icmp.h"
#include "net_test_util.h"

using namespace zcrxd;
using zcrxd::test::Bytes;
using zcrxd::test::get16;
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

namespace {

struct Request {
  uint32_t payload = 56;
  Bytes ip_options;  // a multiple of 4 bytes
  uint8_t tos = 0;
  uint8_t type = 8;
  uint8_t code = 0;
  uint16_t frag = 0x4000;  // DF, as Linux's ping sends it
  uint32_t src = kPeer;
  uint32_t dst = kOurs;
  Mac eth_dst = kOurMac;
  uint32_t trailer = 0;  // Ethernet padding after the datagram
};

// The ICMP message: type, code, checksum, identifier 0x1234, sequence 7,
// then the payload bytes.
Bytes icmp_message(uint8_t type, uint8_t code, uint32_t payload) {
  Bytes m = {type, code, 0, 0, 0x12, 0x34, 0x00, 0x07};
  for (uint32_t i = 0; i < payload; i++) m.push_back(static_cast<uint8_t>(i * 7 + 3));
  put16(m, 2, ref_checksum({m}));
  return m;
}

Bytes ipv4_header(uint8_t tos, uint32_t payload_len, uint16_t id, uint16_t frag,
                  uint32_t src, uint32_t dst, const Bytes& options) {
  Bytes h = {static_cast<uint8_t>(0x40 | (20 + options.size()) / 4), tos, 0, 0, 0, 0, 0, 0,
             64, 1, 0, 0};
  put16(h, 2, static_cast<uint16_t>(20 + options.size() + payload_len));
  put16(h, 4, id);
  put16(h, 6, frag);
  h.resize(20);
  put32(h, 12, src);
  put32(h, 16, dst);
  h.insert(h.end(), options.begin(), options.end());
  put16(h, 10, ref_checksum({h}));
  return h;
}

Bytes frame_of(const Mac& dst, const Mac& src, const Bytes& ip, const Bytes& icmp,
               uint32_t trailer = 0) {
  Bytes f(dst.b, dst.b + 6);
  f.insert(f.end(), src.b, src.b + 6);
  f.push_back(0x08);
  f.push_back(0x00);
  f.insert(f.end(), ip.begin(), ip.end());
  f.insert(f.end(), icmp.begin(), icmp.end());
  f.resize(f.size() + trailer, 0);
  return f;
}

Bytes echo_request(const Request& r) {
  const Bytes icmp = icmp_message(r.type, r.code, r.payload);
  const Bytes ip = ipv4_header(r.tos, static_cast<uint32_t>(icmp.size()), 0x5151, r.frag, r.src,
                               r.dst, r.ip_options);
  Bytes f = frame_of(r.eth_dst, kPeerMac, ip, icmp, r.trailer);
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

// The reply Linux would send, minus its IP ID (ours counts from 0) and
// options: written out from the request's fields.
Bytes expected_reply(const Request& r, uint16_t id) {
  Bytes icmp = icmp_message(0, r.code, r.payload);
  const Bytes ip = ipv4_header(r.tos, static_cast<uint32_t>(icmp.size()), id, 0, r.dst, r.src, {});
  Bytes f = frame_of(kPeerMac, kOurMac, ip, icmp);
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

struct IcmpFixture {
  NetConfig net;
  Icmp icmp{net};
  Bytes out = Bytes(2048, 0xee);

  IcmpFixture() {
    net.addrs[0] = {kOurs, 24};
    net.n_addrs = 1;
    net.set_port(kOurMac, 1500);
  }
  uint32_t input(const Bytes& f) {
    return icmp.input(f.data(), static_cast<uint32_t>(f.size()), out.data(),
                      static_cast<uint32_t>(out.size()));
  }
};

}  // namespace

TEST_CASE("an echo request gets its reply, byte for byte, checksums from the reference") {
  IcmpFixture fx;
  Request r;
  const Bytes req = echo_request(r);
  const uint32_t len = fx.input(req);
  REQUIRE(len == 14 + 20 + 8 + 56);
  const Bytes got = slice(fx.out, 0, len);
  CHECK(got == expected_reply(r, 0));
  // The checksums verify on their own (a sum over each includes its field).
  CHECK(ref_sum({slice(got, 14, 20)}) == 0xffff);
  CHECK(ref_sum({slice(got, 34, len - 34)}) == 0xffff);
  CHECK(fx.icmp.stats().echo_replies.get() == 1);
  // The next reply takes the next IP ID.
  REQUIRE(fx.input(req) == len);
  CHECK(slice(fx.out, 0, len) == expected_reply(r, 1));
}

TEST_CASE("odd and even payloads, TOS kept, codes echoed, tiny requests padded") {
  for (uint32_t payload : {0u, 1u, 2u, 3u, 17u, 56u, 57u, 1000u, 1471u, 1472u}) {
    CAPTURE(payload);
    IcmpFixture fx;
    Request r;
    r.payload = payload;
    r.tos = 0x28;
    r.code = payload % 3 == 0 ? 0 : 5;  // Linux echoes a non-zero code
    const uint32_t len = fx.input(echo_request(r));
    const uint32_t want = 14 + 20 + 8 + payload < 60 ? 60 : 14 + 20 + 8 + payload;
    REQUIRE(len == want);
    CHECK(slice(fx.out, 0, len) == expected_reply(r, 0));
  }
}

TEST_CASE("IP options are tolerated; the reply carries none") {
  for (const Bytes& options :
       {Bytes{0x94, 0x04, 0x00, 0x00},  // router alert
        Bytes{0x01, 0x01, 0x01, 0x00},  // NOPs and end of options
        Bytes{0x07, 0x0b, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0},  // record route, room for 2
        Bytes(40, 0x01)}) {                                   // the most there can be
    for (uint32_t payload : {5u, 56u, 301u}) {
      CAPTURE(options.size());
      CAPTURE(payload);
      IcmpFixture fx;
      Request r;
      r.payload = payload;
      r.ip_options = options;
      const uint32_t len = fx.input(echo_request(r));
      const Bytes want = expected_reply(r, 0);
      REQUIRE(len == want.size());
      CHECK(slice(fx.out, 0, len) == want);
    }
  }
}

TEST_CASE("in place: the reply overwrites the request, options and Ethernet padding included") {
  for (uint32_t payload : {0u, 7u, 56u}) {
    for (bool options : {false, true}) {
      CAPTURE(payload);
      CAPTURE(options);
      IcmpFixture fx;
      Request r;
      r.payload = payload;
      if (options) r.ip_options = Bytes{0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01};
      r.trailer = 6;  // a frame longer than its datagram: the trailer is not echoed
      Bytes f = echo_request(r);
      const uint32_t len = fx.icmp.input(f.data(), static_cast<uint32_t>(f.size()), f.data(),
                                         static_cast<uint32_t>(f.size()));
      REQUIRE(len == expected_reply(r, 0).size());
      CHECK(slice(f, 0, len) == expected_reply(r, 0));
    }
  }
}

TEST_CASE("requests not answered are counted by why") {
  IcmpFixture fx;
  const IcmpStats& st = fx.icmp.stats();
  auto ignored = [&](const Bytes& f) { CHECK(fx.input(f) == 0); };
  Request r;
  Bytes bad = echo_request(r);
  bad[14 + 20 + 8] ^= 1;  // a payload bit: ICMP checksum wrong
  ignored(bad);
  CHECK(st.bad_checksum.get() == 1);
  bad = echo_request(r);
  bad[14 + 8] = 63;  // TTL changed, header checksum not updated
  ignored(bad);
  bad = echo_request(r);
  bad[14] = 0x44;  // IHL 4
  ignored(bad);
  bad = echo_request(r);
  bad[14] = 0x65;  // version 6
  ignored(bad);
  bad = echo_request(r);
  ignored(Bytes(bad.begin(), bad.end() - 1));  // IP total length past the frame
  ignored(Bytes(bad.begin(), bad.begin() + 30));  // not even an IPv4 header
  CHECK(st.bad_ip.get() == 5);

  Request frag = r;
  frag.frag = 0x2000;  // MF
  ignored(echo_request(frag));
  frag.frag = 0x0010;  // an offset
  ignored(echo_request(frag));
  CHECK(st.fragments.get() == 2);

  Request other = r;
  other.dst = ip4(10, 0, 0, 3);
  ignored(echo_request(other));
  other = r;
  other.dst = ip4(10, 0, 0, 255);  // directed broadcast (icmp_echo_ignore_broadcasts)
  other.eth_dst = Mac::broadcast();
  ignored(echo_request(other));
  other = r;
  other.eth_dst = Mac{{0x02, 0, 0, 0, 0, 0x77}};  // another station's frame
  ignored(echo_request(other));
  CHECK(st.not_for_us.get() == 3);

  for (uint32_t src : {ip4(10, 0, 0, 255), 0xffffffffu, ip4(224, 0, 0, 1), ip4(127, 0, 0, 1),
                       ip4(0, 0, 0, 0)}) {
    Request s = r;
    s.src = src;
    ignored(echo_request(s));
  }
  CHECK(st.bad_source.get() == 5);

  Request reply = r;
  reply.type = 0;  // an echo reply is not answered
  ignored(echo_request(reply));
  reply.type = 13;  // timestamp
  ignored(echo_request(reply));
  CHECK(st.other_types.get() == 2);

  // A message shorter than the 8-byte echo header.
  Bytes shorty = echo_request(r);
  put16(shorty, 14 + 2, 20 + 4);
  put16(shorty, 14 + 10, 0);
  put16(shorty, 14 + 10, ref_checksum({slice(shorty, 14, 20)}));
  ignored(shorty);
  CHECK(st.short_message.get() == 1);

  // A reply that does not fit the buffer given.
  const Bytes ok = echo_request(r);
  CHECK(fx.icmp.input(ok.data(), static_cast<uint32_t>(ok.size()), fx.out.data(), 97) == 0);
  CHECK(st.no_room.get() == 1);
  CHECK(fx.icmp.input(ok.data(), static_cast<uint32_t>(ok.size()), fx.out.data(), 98) == 98);
  CHECK(st.echo_replies.get() == 1);
  CHECK(st.received.get() == 21);
}
