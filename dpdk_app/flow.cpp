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

namespace {

/// The UDP-port table's key: IP version (0, 4 or 6) and port in one word;
/// never 0 because a port flow's port is never 0.
constexpr uint32_t port_word(uint8_t ip_version, uint16_t port) {
  return uint32_t{ip_version} << 16 | port;
}

uint32_t table_size(size_t n) {
  uint32_t size = 8;
  while (size < 2 * n) size <<= 1;  // load factor <= 1/2
  return size;
}

}  // namespace

FlowTable::FlowTable(const std::vector<std::pair<FlowKey, uint32_t>>& flows) {
  size_t n_tuples = 0, n_ports = 0;
  for (const auto& f : flows) {
    if (f.first.kind == FlowKind::raw) raw_ = f.second;
    else if (f.first.kind == FlowKind::udp_port) n_ports++;
    else n_tuples++;
  }
  if (n_tuples) {
    tuples_.resize(table_size(n_tuples));
    tuple_mask_ = static_cast<uint32_t>(tuples_.size()) - 1;
  }
  if (n_ports) {
    uint32_t size = table_size(n_ports);
    ports_.resize(size);
    port_mask_ = size - 1;
    port_shift_ = 32 - static_cast<uint32_t>(__builtin_ctz(size));
  }
  for (const auto& f : flows) {
    const FlowKey& k = f.first;
    if (k.kind == FlowKind::udp_port) {
      uint32_t w = port_word(k.ip_version, k.dst_port);
      uint32_t i = (w * 0x9e3779b1u) >> port_shift_;
      while (ports_[i].group != kNoFlow) i = (i + 1) & port_mask_;
      ports_[i] = {w, f.second};
      port_versions_ |= static_cast<uint8_t>(1u << k.ip_version);
    } else if (k.kind == FlowKind::five_tuple) {
      uint32_t i = hash_key(k) & tuple_mask_;
      while (tuples_[i].group != kNoFlow) i = (i + 1) & tuple_mask_;
      tuples_[i].key = k;
      tuples_[i].group = f.second;
    }
  }
}

uint32_t FlowTable::find_port(uint32_t w) const {
  // Load factor <= 1/2, so an empty slot ends every probe.
  for (uint32_t i = (w * 0x9e3779b1u) >> port_shift_;; i = (i + 1) & port_mask_) {
    const PortSlot& s = ports_[i];
    if (s.group == kNoFlow) return kNoFlow;
    if (s.key == w) return s.group;
  }
}

uint32_t FlowTable::find_tuple(const FlowKey& key) const {
  for (uint32_t i = hash_key(key) & tuple_mask_;; i = (i + 1) & tuple_mask_) {
    const TupleSlot& s = tuples_[i];
    if (s.group == kNoFlow) return kNoFlow;
    if (s.key == key) return s.group;
  }
}

uint32_t FlowTable::find(const FlowKey& key) const {
  switch (key.kind) {
    case FlowKind::raw:
      return raw_;
    case FlowKind::udp_port:
      return ports_.empty() ? kNoFlow : find_port(port_word(key.ip_version, key.dst_port));
    case FlowKind::five_tuple:
      return tuples_.empty() ? kNoFlow : find_tuple(key);
  }
  return kNoFlow;
}

uint32_t FlowTable::classify(const ParsedPacket& p) const {
  if (!p.is_udp) return raw_;
  const uint8_t version = p.l3 == L3::ipv4 ? 4 : 6;
  if (!tuples_.empty()) {
    FlowKey k{};
    k.kind = FlowKind::five_tuple;
    k.ip_version = version;
    k.src_port = p.src_port;
    k.dst_port = p.dst_port;
    std::memcpy(k.src_addr, p.src_addr, 16);
    std::memcpy(k.dst_addr, p.dst_addr, 16);
    uint32_t g = find_tuple(k);
    if (g != kNoFlow) return g;
  }
  if (port_versions_ & (1u << version)) {
    uint32_t g = find_port(port_word(version, p.dst_port));
    if (g != kNoFlow) return g;
  }
  if (port_versions_ & 1u) {
    uint32_t g = find_port(port_word(0, p.dst_port));
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
