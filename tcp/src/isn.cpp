// SPDX-License-Identifier: MIT
// Keyed hashes of a connection's tuple: the initial sequence number
// (RFC 6528), the timestamp offset (RFC 7323 5.4, as Linux randomises it
// per connection), and the ephemeral port search. SipHash-2-4 (Aumasson &
// Bernstein), written from its specification.
#include <cstring>

#include "internal.h"

namespace zcrx::tcp {
namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// The tuple as bytes, in a fixed order, with a domain byte so the three
// uses never hash the same input.
struct TupleBytes {
  uint8_t b[13];
};
TupleBytes tuple_bytes(const FourTuple& t, uint8_t domain) {
  TupleBytes tb{};
  std::memcpy(tb.b, &t.local.addr, 4);
  std::memcpy(tb.b + 4, &t.remote.addr, 4);
  std::memcpy(tb.b + 8, &t.local.port, 2);
  std::memcpy(tb.b + 10, &t.remote.port, 2);
  tb.b[12] = domain;
  return tb;
}

}  // namespace

uint64_t siphash24(const uint64_t key[2], const void* data, uint32_t len) {
  const uint8_t* in = static_cast<const uint8_t*>(data);
  SipState s{0x736f6d6570736575ull ^ key[0], 0x646f72616e646f6dull ^ key[1],
             0x6c7967656e657261ull ^ key[0], 0x7465646279746573ull ^ key[1]};
  const uint32_t full = len & ~7u;
  for (uint32_t i = 0; i < full; i += 8) s.compress(load_le64(in + i));
  uint64_t last = uint64_t{len & 0xff} << 56;
  for (uint32_t i = 0; i < (len & 7); i++) last |= uint64_t{in[full + i]} << (8 * i);
  s.compress(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; i++) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint32_t isn_for(const Engine::Impl& e, const FourTuple& t) {
  // RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport,
  // secretkey), M a timer ticking every 4 microseconds.
  const TupleBytes tb = tuple_bytes(t, 1);
  const uint32_t f = static_cast<uint32_t>(siphash24(e.key, tb.b, sizeof tb.b));
  return static_cast<uint32_t>(e.now >> 2) + f;
}

uint32_t ts_offset_for(const Engine::Impl& e, const FourTuple& t) {
  const TupleBytes tb = tuple_bytes(t, 2);
  return static_cast<uint32_t>(siphash24(e.key, tb.b, sizeof tb.b));
}

uint16_t pick_ephemeral_port(Engine::Impl& e, const FourTuple& t) {
  // RFC 6056 3.3.3 (Linux's choice): a keyed hash of the addresses and the
  // remote port picks where to start, a counter moves the start between
  // calls; the first port whose tuple is free (and that no listener holds)
  // wins.
  const uint32_t lo = e.cfg.ephemeral_port_lo;
  const uint32_t hi = e.cfg.ephemeral_port_hi;
  if (lo == 0 || hi < lo) return 0;
  const uint32_t range = hi - lo + 1;
  FourTuple probe = t;
  probe.local.port = 0;
  const TupleBytes tb = tuple_bytes(probe, 3);
  const uint32_t start = static_cast<uint32_t>(siphash24(e.key, tb.b, sizeof tb.b)) + e.port_cursor;
  for (uint32_t i = 0; i < range; i++) {
    const uint16_t port = static_cast<uint16_t>(lo + (start + i) % range);
    probe.local.port = port;
    if (e.conn_table.find(probe) != kNone) continue;
    if (e.listener_table.find(Endpoint{t.local.addr, port}) != kNone) continue;
    if (e.listener_table.find(Endpoint{0, port}) != kNone) continue;
    e.port_cursor += i + 1;
    return port;
  }
  return 0;
}

}  // namespace zcrx::tcp
