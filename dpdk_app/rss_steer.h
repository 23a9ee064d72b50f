// SPDX-License-Identifier: MIT
// Receive-side scaling as the NIC computes it, so an active open can pick
// the one thing it controls (its source port) to make the peer's segments
// arrive on the queue that owns the connection. DPDK-free: the Toeplitz
// hash (Microsoft's RSS definition, which DPDK's default hash function
// and every RSS NIC implement), the RETA lookup, and the port choice.
//
// For an IPv4/TCP segment the NIC hashes, in this order, the source
// address, the destination address, the source port and the destination
// port, all in network byte order. A segment the peer sends us has the
// peer as its source: the tuple is (peer addr, our addr, peer port, our
// port). The queue is reta[hash % reta_size] (NICs take the low bits; the
// table size is a power of two on every one we know, where both agree).
#pragma once

#include <cstdint>

namespace zcrxd {

/// Largest RSS key kept (NICs use 40 or 52 bytes).
inline constexpr uint32_t kMaxRssKeyLen = 64;
/// Largest redirection table kept (entries).
inline constexpr uint32_t kMaxRssReta = 2048;

/// The Toeplitz hash of `in[0..len)` under `key[0..key_len)`: for every
/// input bit set, from the most significant bit of in[0] on, the 32 key
/// bits starting at that bit's position are XORed into the result. Key
/// bits past `key_len` count as 0 (a key must be len + 4 bytes long to
/// cover the whole input).
uint32_t toeplitz_hash(const uint8_t* key, uint32_t key_len, const uint8_t* in, uint32_t len);

/// The hash input of an IPv4/TCP segment (addresses and ports host order).
void rss_ipv4_tcp_input(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                        uint8_t out[12]);

/// How the port spreads IPv4/TCP over its RX queues, as read back from the
/// PMD (Device::open). `steers` false: connect cannot choose its queue (a
/// single queue needs nothing; several without RSS, or with a key or table
/// the PMD would not report, are left to chance and logged).
struct RssSteering {
  bool steers = false;
  uint32_t key_len = 0;
  uint8_t key[kMaxRssKeyLen] = {};
  uint32_t reta_size = 0;
  uint16_t reta[kMaxRssReta] = {};

  /// The RX queue a segment from `peer` to `local` lands on (steers only).
  uint16_t queue_of(uint32_t peer, uint32_t local, uint16_t peer_port,
                    uint16_t local_port) const;
};

/// The queues every local port of one (peer, local address, peer port)
/// lands on, without hashing the whole tuple per port: the hash is linear
/// over the input bits, so it is the hash with local port 0 XOR the key
/// windows of the port's set bits.
class SteeredPorts {
 public:
  SteeredPorts(const RssSteering& rss, uint32_t peer, uint32_t local, uint16_t peer_port);
  /// The RX queue a segment to `local_port` lands on.
  uint16_t queue_of(uint16_t local_port) const;

 private:
  const RssSteering& rss_;
  uint32_t base_ = 0;        // hash with local port 0
  uint32_t bit_[16] = {};    // contribution of local port bit i (bit 0: LSB)
};

/// The first port of [lo, hi], from `start` on and wrapping around, whose
/// segments from the peer land on `queue` and that `in_use(ctx, port)`
/// does not reject; 0 when there is none (the caller answers
/// -EADDRNOTAVAIL, as Linux does when its ephemeral range is exhausted).
/// Pure: the same arguments give the same port.
uint16_t pick_steered_port(const SteeredPorts& ports, uint16_t queue, uint16_t lo,
                           uint16_t hi, uint16_t start,
                           bool (*in_use)(void* ctx, uint16_t port), void* ctx);

}  // namespace zcrxd
