// SPDX-License-Identifier: MIT
#include "flow.h"

#include <cerrno>
#include <cstring>

namespace zcrxd {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t hash_key(const FlowKey& k) {
  uint64_t h = static_cast<uint64_t>(k.kind) << 8 | k.ip_version;
  h = mix(h, uint64_t{k.src_port} << 16 | k.dst_port);
  h = mix(h, load64(k.src_addr));
  h = mix(h, load64(k.src_addr + 8));
  h = mix(h, load64(k.dst_addr));
  h = mix(h, load64(k.dst_addr + 8));
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return static_cast<uint32_t>(h);
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

}  // namespace

int normalize(FlowKey* k) {
  switch (k->kind) {
    case FlowKind::raw:
      *k = FlowKey{};
      k->kind = FlowKind::raw;
      return 0;
    case FlowKind::udp_port: {
      if (k->ip_version != 0 && k->ip_version != 4 && k->ip_version != 6) return -EINVAL;
      if (k->dst_port == 0) return -EINVAL;
      FlowKey n{};
      n.kind = FlowKind::udp_port;
      n.ip_version = k->ip_version;
      n.dst_port = k->dst_port;
      *k = n;
      return 0;
    }
    case FlowKind::five_tuple:
      if (k->ip_version != 4 && k->ip_version != 6) return -EINVAL;
      if (k->dst_port == 0 || k->src_port == 0) return -EINVAL;
      if (k->ip_version == 4 &&
          (!all_zero(k->src_addr + 4, 12) || !all_zero(k->dst_addr + 4, 12)))
        return -EINVAL;
      return 0;
  }
  return -EINVAL;
}

FlowTable::FlowTable(const std::vector<std::pair<FlowKey, uint32_t>>& flows) {
  size_t hashed = 0;
  for (const auto& f : flows)
    if (f.first.kind == FlowKind::raw) raw_ = f.second;
    else hashed++;
  if (!hashed) return;
  uint32_t size = 8;
  while (size < 2 * hashed) size <<= 1;
  slots_.resize(size);
  mask_ = size - 1;
  for (const auto& f : flows) {
    if (f.first.kind == FlowKind::raw) continue;
    uint32_t i = hash_key(f.first) & mask_;
    while (slots_[i].group != kNoFlow) i = (i + 1) & mask_;
    slots_[i].key = f.first;
    slots_[i].group = f.second;
  }
}

uint32_t FlowTable::find(const FlowKey& key) const {
  if (key.kind == FlowKind::raw) return raw_;
  if (slots_.empty()) return kNoFlow;
  // Load factor <= 1/2, so an empty slot ends every probe.
  for (uint32_t i = hash_key(key) & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.group == kNoFlow) return kNoFlow;
    if (s.key == key) return s.group;
  }
}

uint32_t FlowTable::classify(const ParsedPacket& p) const {
  if (p.is_udp && !slots_.empty()) {
    FlowKey k{};
    k.kind = FlowKind::five_tuple;
    k.ip_version = p.l3 == L3::ipv4 ? 4 : 6;
    k.src_port = p.src_port;
    k.dst_port = p.dst_port;
    std::memcpy(k.src_addr, p.src_addr, 16);
    std::memcpy(k.dst_addr, p.dst_addr, 16);
    uint32_t g = find(k);
    if (g != kNoFlow) return g;
    FlowKey port{};
    port.kind = FlowKind::udp_port;
    port.ip_version = k.ip_version;
    port.dst_port = p.dst_port;
    g = find(port);
    if (g != kNoFlow) return g;
    port.ip_version = 0;
    g = find(port);
    if (g != kNoFlow) return g;
  }
  return raw_;
}

uint32_t flow_hash(const ParsedPacket& p) {
  uint64_t h = mix(static_cast<uint64_t>(p.l3), uint64_t{p.src_port} << 16 | p.dst_port);
  h = mix(h, load64(p.src_addr));
  h = mix(h, load64(p.src_addr + 8));
  h = mix(h, load64(p.dst_addr));
  h = mix(h, load64(p.dst_addr + 8));
  h ^= h >> 31;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 29;
  return static_cast<uint32_t>(h);
}

}  // namespace zcrxd
