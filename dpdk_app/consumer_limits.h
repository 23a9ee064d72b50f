// SPDX-License-Identifier: MIT
// What one consumer may take of zcrxd: connections (rings), export boxes,
// entries on another's ifq, and memory zcrxd creates for it. Every
// resource a connection can make zcrxd hold is bounded per connection, per
// uid and in total, so a hostile or runaway consumer cannot exhaust
// zcrxd's descriptors or memory for the others.
//
// Refusals use the kernel's errnos by scope, as for descriptors: -EMFILE
// when the connection's or the uid's own share is used up, -ENFILE when
// zcrxd's total is; -ENOMEM for the per-uid memory budget. Each is counted
// (and logged by the caller). DPDK-free; the control thread's alone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <utility>

namespace zcrxd {

struct LimitConfig {
  uint32_t max_rings = 1024;           // connections, in total
  uint32_t max_rings_per_uid = 256;    // connections of one uid
  uint32_t max_exports = 1024;         // live export boxes, in total
  uint32_t max_exports_per_ring = 64;  // live export boxes made by one ring
  /// Clone/import entries rings of one uid may hold on one ifq registered
  /// by another uid (the owner's rings are bound only by the ifq's table).
  uint32_t max_entries_per_uid = 32;
  /// Ring and refill-queue regions zcrxd creates for one uid, in MiB.
  uint64_t max_region_mb_per_uid = 1024;
};

/// Refusals so far, by limit.
struct LimitRefusals {
  uint64_t rings = 0;
  uint64_t rings_per_uid = 0;
  uint64_t exports = 0;
  uint64_t exports_per_ring = 0;
  uint64_t entries_per_uid = 0;
  uint64_t region_memory = 0;
  uint64_t total() const {
    return rings + rings_per_uid + exports + exports_per_ring + entries_per_uid + region_memory;
  }
};

class Limits {
 public:
  explicit Limits(const LimitConfig& cfg) : cfg_(cfg) {}

  /// A new connection of `uid`: 0, -ENFILE (zcrxd's total) or -EMFILE
  /// (the uid's). put_ring() undoes a successful take.
  int take_ring(uid_t uid);
  void put_ring(uid_t uid);

  /// A new export box by a ring that holds `ring_exports` already: 0,
  /// -ENFILE or -EMFILE.
  int take_export(uint32_t ring_exports);
  void put_export();

  /// A clone/import entry by `uid` on the ifq `ifq` registered by
  /// `owner`: 0 or -EMFILE. Entries of the owner's uid are not counted.
  int take_entry(const void* ifq, uid_t owner, uid_t uid);
  void put_entry(const void* ifq, uid_t owner, uid_t uid);

  /// `bytes` more of regions for `uid`: 0 or -ENOMEM.
  int take_region(uid_t uid, uint64_t bytes);
  void put_region(uid_t uid, uint64_t bytes);

  const LimitConfig& config() const { return cfg_; }
  const LimitRefusals& refusals() const { return refused_; }
  uint32_t rings() const { return rings_; }
  uint32_t exports() const { return exports_; }

 private:
  LimitConfig cfg_;
  LimitRefusals refused_;
  uint32_t rings_ = 0;
  uint32_t exports_ = 0;
  std::map<uid_t, uint32_t> rings_by_uid_;
  std::map<std::pair<const void*, uid_t>, uint32_t> entries_;
  std::map<uid_t, uint64_t> region_bytes_;
};

}  // namespace zcrxd
