// SPDX-License-Identifier: MIT
#include "rss_steer.h"

namespace zcrxd {

namespace {

// The 32 key bits starting at bit `pos` (bit 0: the MSB of key[0]).
uint32_t key_window(const uint8_t* key, uint32_t key_len, uint32_t pos) {
  uint64_t w = 0;
  const uint32_t byte = pos / 8;
  for (uint32_t i = 0; i < 5; i++)
    w = (w << 8) | (byte + i < key_len ? key[byte + i] : 0u);
  return static_cast<uint32_t>(w >> (8 - pos % 8));
}

}  // namespace

uint32_t toeplitz_hash(const uint8_t* key, uint32_t key_len, const uint8_t* in, uint32_t len) {
  uint32_t h = 0;
  for (uint32_t i = 0; i < len; i++)
    for (uint32_t b = 0; b < 8; b++)
      if (in[i] & (0x80u >> b)) h ^= key_window(key, key_len, i * 8 + b);
  return h;
}

void rss_ipv4_tcp_input(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                        uint8_t out[12]) {
  for (int i = 0; i < 4; i++) {
    out[i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    out[4 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  out[8] = static_cast<uint8_t>(sport >> 8);
  out[9] = static_cast<uint8_t>(sport);
  out[10] = static_cast<uint8_t>(dport >> 8);
  out[11] = static_cast<uint8_t>(dport);
}

uint16_t RssSteering::queue_of(uint32_t peer, uint32_t local, uint16_t peer_port,
                               uint16_t local_port) const {
  uint8_t in[12];
  rss_ipv4_tcp_input(peer, local, peer_port, local_port, in);
  if (!reta_size) return 0;
  return reta[toeplitz_hash(key, key_len, in, sizeof(in)) % reta_size];
}

SteeredPorts::SteeredPorts(const RssSteering& rss, uint32_t peer, uint32_t local,
                           uint16_t peer_port)
    : rss_(rss) {
  uint8_t in[12];
  rss_ipv4_tcp_input(peer, local, peer_port, 0, in);
  base_ = toeplitz_hash(rss.key, rss.key_len, in, sizeof(in));
  // The local (destination) port is input bits 80..95, MSB first.
  for (uint32_t i = 0; i < 16; i++) bit_[i] = key_window(rss.key, rss.key_len, 95 - i);
}

uint16_t SteeredPorts::queue_of(uint16_t local_port) const {
  uint32_t h = base_;
  for (uint32_t i = 0; i < 16; i++)
    if (local_port & (1u << i)) h ^= bit_[i];
  return rss_.reta_size ? rss_.reta[h % rss_.reta_size] : 0;
}

uint16_t pick_steered_port(const SteeredPorts& ports, uint16_t queue, uint16_t lo,
                           uint16_t hi, uint16_t start,
                           bool (*in_use)(void* ctx, uint16_t port), void* ctx) {
  if (lo == 0 || lo > hi) return 0;
  const uint32_t span = uint32_t{hi} - lo + 1;
  const uint32_t first = start < lo || start > hi ? 0 : uint32_t{start} - lo;
  for (uint32_t k = 0; k < span; k++) {
    const auto p = static_cast<uint16_t>(lo + (first + k) % span);
    if (ports.queue_of(p) == queue && !(in_use && in_use(ctx, p))) return p;
  }
  return 0;
}

}  // namespace zcrxd
