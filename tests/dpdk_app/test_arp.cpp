// SPDX-License-Identifier: MIT
// ARP: requests for our addresses answered byte-exact (frames written out
// by hand from RFC 826's packet format), what is learnt from which message
// (RFC 826 merge: only messages for us create entries), probes, gratuitous
// ARPs, conflicts, our own frames, and everything refused, each counted.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "arp.h"
#include "net_test_util.h"

using namespace zcrxd;
using zcrxd::test::Bytes;
using zcrxd::test::ip4;
using zcrxd::test::kOurMac;
using zcrxd::test::kPeer;
using zcrxd::test::kPeerMac;

namespace {

// Our side: 10.0.0.2/24 and 192.168.7.1/24 at kOurMac; the peer kPeer at
// kPeerMac (net_test_util.h).
constexpr uint64_t kNow = 5000000;

// The request 10.0.0.1 (52:54:00:12:34:56) broadcasts for 10.0.0.2, as
// RFC 826 lays it out: ar$hrd 1, ar$pro 0x0800, ar$hln 6, ar$pln 4, ar$op 1,
// ar$sha, ar$spa, ar$tha (zero), ar$tpa; then the padding to 60 bytes.
Bytes peer_request() {
  Bytes f = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // Ethernet destination: broadcast
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // Ethernet source
      0x08, 0x06,                          // EtherType ARP
      0x00, 0x01,                          // ar$hrd: Ethernet
      0x08, 0x00,                          // ar$pro: IPv4
      0x06, 0x04,                          // ar$hln, ar$pln
      0x00, 0x01,                          // ar$op: request
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // ar$sha
      10, 0, 0, 1,                         // ar$spa
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ar$tha
      10, 0, 0, 2,                         // ar$tpa
  };
  f.resize(60, 0);
  return f;
}

// Our answer: sender and target swapped, ours as sender, op 2, sent to the
// requester's MAC.
Bytes expected_reply() {
  Bytes f = {
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // to the requester
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // from us
      0x08, 0x06,
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
      0x00, 0x02,                          // ar$op: reply
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // ar$sha: our MAC
      10, 0, 0, 2,                         // ar$spa: the address asked for
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // ar$tha: the requester
      10, 0, 0, 1,                         // ar$tpa
  };
  f.resize(60, 0);
  return f;
}

// Rewrites the ARP fields of a frame like peer_request().
void set_arp(Bytes& f, uint16_t op, const Mac& sha, uint32_t spa, uint32_t tpa) {
  zcrxd::test::put16(f, 20, op);
  std::memcpy(&f[22], sha.b, 6);
  zcrxd::test::put32(f, 28, spa);
  zcrxd::test::put32(f, 38, tpa);
}

struct NullHost : NeighborHost {
  std::vector<void*> released;
  uint32_t requests = 0;
  void send_request(uint32_t, const Mac*) override { requests++; }
  void release(void* f, uint32_t, const Mac* mac, int result) override {
    CHECK(result == 0);
    CHECK(mac != nullptr);
    released.push_back(f);
  }
};

struct ArpFixture {
  NetConfig net;
  NullHost host;
  NeighborCache cache{NeighborConfig{}, host};
  Arp arp{net, cache};
  uint8_t out[128];

  ArpFixture() {
    net.addrs[0] = {ip4(10, 0, 0, 2), 24};
    net.addrs[1] = {ip4(192, 168, 7, 1), 24};
    net.n_addrs = 2;
    net.set_port(kOurMac, 1500);
  }
  uint32_t input(const Bytes& f, uint64_t now = kNow) {
    std::memset(out, 0xee, sizeof(out));
    return arp.input(f.data(), static_cast<uint32_t>(f.size()), now, out, sizeof(out));
  }
  Bytes reply(uint32_t len) const { return Bytes(out, out + len); }
};

}  // namespace

TEST_CASE("a request for our address gets RFC 826's reply, byte for byte") {
  ArpFixture fx;
  const uint32_t len = fx.input(peer_request());
  REQUIRE(len == 60);
  CHECK(fx.reply(len) == expected_reply());
  // The requester is learnt (stale: a request proves nothing about reachability).
  Mac mac;
  REQUIRE(fx.cache.lookup(kPeer, &mac));
  CHECK(mac == kPeerMac);
  CHECK(fx.cache.state(kPeer, kNow) == NeighState::stale);
  CHECK(fx.arp.stats().received.get() == 1);
  CHECK(fx.arp.stats().requests_answered.get() == 1);
  CHECK(fx.arp.stats().requests_learnt.get() == 1);
  CHECK(fx.cache.stats().created.get() == 1);
  // Sent to our MAC instead of broadcast (a neighbour checking on us): same answer.
  Bytes unicast = peer_request();
  std::memcpy(&unicast[0], kOurMac.b, 6);
  REQUIRE(fx.input(unicast) == 60);
  CHECK(fx.reply(60) == expected_reply());
  // For our second address: its address in ar$spa.
  Bytes second = peer_request();
  set_arp(second, kArpOpRequest, Mac{{0x52, 0x54, 0, 0, 0, 9}}, ip4(192, 168, 7, 9),
          ip4(192, 168, 7, 1));
  REQUIRE(fx.input(second) == 60);
  const Bytes r = fx.reply(60);
  CHECK(zcrxd::test::get32(r, 28) == ip4(192, 168, 7, 1));
  CHECK(zcrxd::test::get32(r, 38) == ip4(192, 168, 7, 9));
  CHECK(zcrxd::test::slice(r, 0, 6) == Bytes{0x52, 0x54, 0, 0, 0, 9});
}

TEST_CASE("the frames zcrxd originates: requests (broadcast, unicast) and gratuitous ARP") {
  uint8_t out[64];
  REQUIRE(write_arp_request(out, sizeof(out), kOurMac, ip4(10, 0, 0, 2), kPeer, nullptr) == 60);
  Bytes req = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x06,
               0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
               0x02, 0, 0, 0, 0, 0x02, 10, 0, 0, 2,
               0, 0, 0, 0, 0, 0, 10, 0, 0, 1};
  req.resize(60, 0);
  CHECK(Bytes(out, out + 60) == req);

  REQUIRE(write_arp_request(out, sizeof(out), kOurMac, ip4(10, 0, 0, 2), kPeer, &kPeerMac) == 60);
  Bytes probe = req;
  std::memcpy(&probe[0], kPeerMac.b, 6);  // only the Ethernet destination differs
  CHECK(Bytes(out, out + 60) == probe);

  REQUIRE(write_gratuitous_arp(out, sizeof(out), kOurMac, ip4(10, 0, 0, 2)) == 60);
  Bytes garp = req;
  zcrxd::test::put32(garp, 38, ip4(10, 0, 0, 2));  // target = sender (RFC 5227 2.3)
  CHECK(Bytes(out, out + 60) == garp);

  CHECK(write_arp_request(out, 59, kOurMac, 1, 2, nullptr) == 0);
  ArpMessage m;
  REQUIRE(parse_arp(out, 60, &m) == 0);
  CHECK(m.op == kArpOpRequest);
  CHECK(m.sha == kOurMac);
  CHECK(m.spa == ip4(10, 0, 0, 2));
  CHECK(m.tpa == ip4(10, 0, 0, 2));
  CHECK(m.tha.is_zero());
}

TEST_CASE("a reply to us resolves the waiting entry and releases its frames") {
  ArpFixture fx;
  Mac mac;
  int held = 0;
  REQUIRE(fx.cache.resolve(kPeer, kNow, &held, &mac) == NeighborCache::kHeld);
  CHECK(fx.host.requests == 1);
  Bytes r = expected_reply();  // as if the peer answered us: swap the roles
  set_arp(r, kArpOpReply, kPeerMac, kPeer, ip4(10, 0, 0, 2));
  std::memcpy(&r[0], kOurMac.b, 6);
  std::memcpy(&r[6], kPeerMac.b, 6);
  CHECK(fx.input(r, kNow + 1000) == 0);  // replies are not answered
  REQUIRE(fx.host.released.size() == 1);
  CHECK(fx.host.released[0] == &held);
  CHECK(fx.cache.state(kPeer, kNow + 1000) == NeighState::reachable);
  CHECK(fx.arp.stats().replies_learnt.get() == 1);
  // A reply to us from someone unknown is learnt too (RFC 826: "Am I the target?").
  Bytes u = r;
  set_arp(u, kArpOpReply, Mac{{0x02, 1, 1, 1, 1, 1}}, ip4(10, 0, 0, 77), ip4(10, 0, 0, 2));
  fx.input(u);
  CHECK(fx.cache.state(ip4(10, 0, 0, 77), kNow) == NeighState::reachable);
}

TEST_CASE("ARP not addressed to us only updates what we know (gratuitous included)") {
  ArpFixture fx;
  // A request between two other hosts: nothing learnt, nothing answered.
  Bytes other = peer_request();
  set_arp(other, kArpOpRequest, kPeerMac, kPeer, ip4(10, 0, 0, 50));
  CHECK(fx.input(other) == 0);
  CHECK(fx.cache.size() == 0);
  CHECK(fx.arp.stats().others.get() == 1);
  // A gratuitous ARP from a host we do not know: not learnt either.
  Bytes garp = peer_request();
  set_arp(garp, kArpOpRequest, kPeerMac, kPeer, kPeer);
  CHECK(fx.input(garp) == 0);
  CHECK(fx.cache.size() == 0);
  CHECK(fx.arp.stats().gratuitous.get() == 1);

  // Known (from its request), then it moves to another MAC and announces it.
  fx.input(peer_request(), kNow);
  const Mac moved{{0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc}};
  Bytes announce = peer_request();
  set_arp(announce, kArpOpRequest, moved, kPeer, kPeer);
  std::memcpy(&announce[6], moved.b, 6);
  CHECK(fx.input(announce, kNow + 10) == 0);  // within locktime: gratuitous still wins
  Mac mac;
  REQUIRE(fx.cache.lookup(kPeer, &mac));
  CHECK(mac == moved);
  // Its traffic with others, from yet another MAC, within locktime: refused.
  Bytes within = other;
  set_arp(within, kArpOpRequest, Mac{{0x02, 9, 9, 9, 9, 9}}, kPeer, ip4(10, 0, 0, 50));
  fx.input(within, kNow + 20);
  REQUIRE(fx.cache.lookup(kPeer, &mac));
  CHECK(mac == moved);
  CHECK(fx.cache.stats().override_refused.get() == 1);
}

TEST_CASE("an RFC 5227 probe for our address is answered; nothing is learnt from it") {
  ArpFixture fx;
  Bytes probe = peer_request();
  set_arp(probe, kArpOpRequest, kPeerMac, 0, ip4(10, 0, 0, 2));
  REQUIRE(fx.input(probe) == 60);
  Bytes want = expected_reply();
  zcrxd::test::put32(want, 38, 0);  // ar$tpa: the prober's 0.0.0.0
  CHECK(fx.reply(60) == want);
  CHECK(fx.cache.size() == 0);
  CHECK(fx.arp.stats().probes_answered.get() == 1);
  // A probe for an address not ours: silence.
  set_arp(probe, kArpOpRequest, kPeerMac, 0, ip4(10, 0, 0, 3));
  CHECK(fx.input(probe) == 0);
}

TEST_CASE("our address claimed by another MAC is a conflict; our own frame is ignored") {
  ArpFixture fx;
  Bytes claim = peer_request();
  set_arp(claim, kArpOpRequest, kPeerMac, ip4(10, 0, 0, 2), ip4(10, 0, 0, 2));
  CHECK(fx.input(claim) == 0);
  CHECK(fx.arp.stats().conflicts.get() == 1);
  Bytes own = peer_request();
  set_arp(own, kArpOpRequest, kOurMac, ip4(10, 0, 0, 2), kPeer);
  CHECK(fx.input(own) == 0);
  CHECK(fx.arp.stats().looped.get() == 1);
  CHECK(fx.cache.size() == 0);
}

TEST_CASE("refused ARP frames: each counted by why, nothing learnt or answered") {
  ArpFixture fx;
  auto refused = [&](Bytes f) {
    CHECK(fx.input(f) == 0);
    CHECK(fx.cache.size() == 0);
  };
  Bytes f = peer_request();
  refused(Bytes(f.begin(), f.begin() + 41));  // one byte short of the message
  CHECK(fx.arp.stats().malformed.get() == 1);
  Bytes g = f;
  std::memcpy(&g[0], Mac{{0x02, 0, 0, 0, 0, 0x99}}.b, 6);  // another station's frame
  refused(g);
  CHECK(fx.arp.stats().not_for_us.get() == 1);
  g = f;
  g[15] = 6;  // ar$hrd IEEE 802
  refused(g);
  g = f;
  g[16] = 0x86, g[17] = 0xdd;  // ar$pro IPv6
  refused(g);
  g = f;
  g[18] = 8;  // ar$hln
  refused(g);
  g = f;
  g[21] = 3;  // RARP request
  refused(g);
  CHECK(fx.arp.stats().unsupported.get() == 4);
  g = f;
  set_arp(g, kArpOpRequest, Mac::broadcast(), kPeer, ip4(10, 0, 0, 2));  // group sender MAC
  refused(g);
  set_arp(g, kArpOpRequest, Mac{}, kPeer, ip4(10, 0, 0, 2));  // zero sender MAC
  refused(g);
  set_arp(g, kArpOpRequest, kPeerMac, ip4(224, 0, 0, 5), ip4(10, 0, 0, 2));
  refused(g);
  set_arp(g, kArpOpRequest, kPeerMac, ip4(127, 0, 0, 1), ip4(10, 0, 0, 2));
  refused(g);
  set_arp(g, kArpOpRequest, kPeerMac, kPeer, 0xffffffffu);
  refused(g);
  CHECK(fx.arp.stats().malformed.get() == 6);
  CHECK(fx.arp.stats().received.get() == 11);
  CHECK(fx.arp.stats().requests_answered.get() == 0);
  // A 42-byte frame (no padding) is whole.
  CHECK(fx.input(Bytes(f.begin(), f.begin() + 42)) == 60);
}
