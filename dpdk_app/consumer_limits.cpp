// SPDX-License-Identifier: MIT
#include "consumer_limits.h"

#include <cerrno>

namespace zcrxd {

namespace {

// Decrements the count under `key`, dropping it at zero so the maps hold
// only what is in use.
template <class Map, class Key>
void put(Map& m, const Key& key, typename Map::mapped_type n) {
  auto it = m.find(key);
  if (it == m.end()) return;
  if (it->second <= n) m.erase(it);
  else it->second -= n;
}

}  // namespace

int Limits::take_ring(uid_t uid) {
  if (rings_ >= cfg_.max_rings) {
    refused_.rings++;
    return -ENFILE;
  }
  uint32_t& mine = rings_by_uid_[uid];
  if (mine >= cfg_.max_rings_per_uid) {
    if (mine == 0) rings_by_uid_.erase(uid);
    refused_.rings_per_uid++;
    return -EMFILE;
  }
  mine++;
  rings_++;
  return 0;
}

void Limits::put_ring(uid_t uid) {
  if (rings_) rings_--;
  put(rings_by_uid_, uid, 1u);
}

int Limits::take_export(uint32_t ring_exports) {
  if (ring_exports >= cfg_.max_exports_per_ring) {
    refused_.exports_per_ring++;
    return -EMFILE;
  }
  if (exports_ >= cfg_.max_exports) {
    refused_.exports++;
    return -ENFILE;
  }
  exports_++;
  return 0;
}

void Limits::put_export() {
  if (exports_) exports_--;
}

int Limits::take_entry(const void* ifq, uid_t owner, uid_t uid) {
  if (uid == owner) return 0;
  uint32_t& n = entries_[{ifq, uid}];
  if (n >= cfg_.max_entries_per_uid) {
    if (n == 0) entries_.erase({ifq, uid});
    refused_.entries_per_uid++;
    return -EMFILE;
  }
  n++;
  return 0;
}

void Limits::put_entry(const void* ifq, uid_t owner, uid_t uid) {
  if (uid != owner) put(entries_, std::pair<const void*, uid_t>{ifq, uid}, 1u);
}

int Limits::take_region(uid_t uid, uint64_t bytes) {
  uint64_t& mine = region_bytes_[uid];
  const uint64_t cap = cfg_.max_region_mb_per_uid << 20;
  if (bytes > cap || mine > cap - bytes) {
    if (mine == 0) region_bytes_.erase(uid);
    refused_.region_memory++;
    return -ENOMEM;
  }
  mine += bytes;
  return 0;
}

void Limits::put_region(uid_t uid, uint64_t bytes) { put(region_bytes_, uid, bytes); }

}  // namespace zcrxd
