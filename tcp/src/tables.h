// SPDX-License-Identifier: MIT
// Lookup tables of the engine: connections by 4-tuple and listeners by
// local endpoint. Open addressing with linear probing over a power-of-two
// array sized at construction (twice the objects it may hold, so a probe
// sequence stays short), backward-shift deletion (no tombstones), and a
// keyed hash so that a peer choosing ports cannot aim at one bucket.
// Nothing allocates after construction.
#pragma once

#include <cstdint>
#include <memory>

#include "zcrx/tcp/engine.h"

namespace zcrx::tcp {

inline constexpr uint32_t kNone = UINT32_MAX;

/// Keyed mix of up to 96 bits of key (two words).
uint64_t table_hash(const uint64_t key[2], uint64_t a, uint64_t b);

class ConnTable {
 public:
  void init(uint32_t max_entries, const uint64_t key[2]);
  /// Index stored for `t`, or kNone.
  uint32_t find(const FourTuple& t) const;
  /// `t` must not be present; the table never fills (sized 2x).
  void insert(const FourTuple& t, uint32_t index);
  void erase(const FourTuple& t);

 private:
  struct Slot {
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint32_t index;  // kNone: empty
  };
  static bool same(const Slot& s, const FourTuple& t) {
    return s.laddr == t.local.addr && s.raddr == t.remote.addr &&
           s.lport == t.local.port && s.rport == t.remote.port;
  }
  uint32_t home(const FourTuple& t) const;
  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_ = 0;
  uint64_t key_[2] = {0, 0};
};

class ListenerTable {
 public:
  void init(uint32_t max_entries, const uint64_t key[2]);
  uint32_t find(const Endpoint& e) const;
  void insert(const Endpoint& e, uint32_t index);
  void erase(const Endpoint& e);

 private:
  struct Slot {
    uint32_t addr;
    uint16_t port;
    uint32_t index;  // kNone: empty
  };
  uint32_t home(const Endpoint& e) const;
  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_ = 0;
  uint64_t key_[2] = {0, 0};
};

}  // namespace zcrx::tcp
