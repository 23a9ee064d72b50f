// SPDX-License-Identifier: MIT
// Connection and listener lookup tables (see tables.h).
#include "tables.h"

namespace zcrx::tcp {
namespace {

uint32_t table_size(uint32_t max_entries) {
  uint32_t n = 16;
  while (n < 2 * static_cast<uint64_t>(max_entries)) n <<= 1;
  return n;
}

}  // namespace

uint64_t table_hash(const uint64_t key[2], uint64_t a, uint64_t b) {
  // Two rounds of multiply-xorshift over key-whitened words: cheap enough
  // for every segment, and without the key a peer cannot predict buckets.
  uint64_t h = a ^ key[0];
  h = (h ^ (h >> 32)) * 0x9e3779b97f4a7c15ull + (b ^ key[1]);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h;
}

// ---- ConnTable ---------------------------------------------------------------------

void ConnTable::init(uint32_t max_entries, const uint64_t key[2]) {
  const uint32_t n = table_size(max_entries);
  slots_ = std::make_unique<Slot[]>(n);
  for (uint32_t i = 0; i < n; i++) slots_[i].index = kNone;
  mask_ = n - 1;
  key_[0] = key[0];
  key_[1] = key[1];
}

uint32_t ConnTable::home(const FourTuple& t) const {
  const uint64_t a = (uint64_t{t.local.addr} << 32) | t.remote.addr;
  const uint64_t b = (uint64_t{t.local.port} << 16) | t.remote.port;
  return static_cast<uint32_t>(table_hash(key_, a, b)) & mask_;
}

uint32_t ConnTable::find(const FourTuple& t) const {
  for (uint32_t i = home(t);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.index == kNone) return kNone;
    if (same(s, t)) return s.index;
  }
}

void ConnTable::insert(const FourTuple& t, uint32_t index) {
  uint32_t i = home(t);
  while (slots_[i].index != kNone) i = (i + 1) & mask_;
  slots_[i] = Slot{t.local.addr, t.remote.addr, t.local.port, t.remote.port, index};
}

void ConnTable::erase(const FourTuple& t) {
  uint32_t i = home(t);
  while (slots_[i].index != kNone && !same(slots_[i], t)) i = (i + 1) & mask_;
  if (slots_[i].index == kNone) return;
  // Backward shift: move later members of the run into the hole when their
  // home position does not lie cyclically in (hole, their position].
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & mask_; slots_[j].index != kNone; j = (j + 1) & mask_) {
    const Slot& s = slots_[j];
    const FourTuple st{{s.laddr, s.lport}, {s.raddr, s.rport}};
    const uint32_t h = home(st);
    const bool stays = ((j - h) & mask_) < ((j - hole) & mask_);
    if (stays) continue;
    slots_[hole] = s;
    hole = j;
  }
  slots_[hole].index = kNone;
}

// ---- ListenerTable -------------------------------------------------------------------

void ListenerTable::init(uint32_t max_entries, const uint64_t key[2]) {
  const uint32_t n = table_size(max_entries);
  slots_ = std::make_unique<Slot[]>(n);
  for (uint32_t i = 0; i < n; i++) slots_[i].index = kNone;
  mask_ = n - 1;
  key_[0] = key[1];
  key_[1] = key[0];
}

uint32_t ListenerTable::home(const Endpoint& e) const {
  return static_cast<uint32_t>(table_hash(key_, e.addr, e.port)) & mask_;
}

uint32_t ListenerTable::find(const Endpoint& e) const {
  for (uint32_t i = home(e);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.index == kNone) return kNone;
    if (s.addr == e.addr && s.port == e.port) return s.index;
  }
}

void ListenerTable::insert(const Endpoint& e, uint32_t index) {
  uint32_t i = home(e);
  while (slots_[i].index != kNone) i = (i + 1) & mask_;
  slots_[i] = Slot{e.addr, e.port, index};
}

void ListenerTable::erase(const Endpoint& e) {
  uint32_t i = home(e);
  while (slots_[i].index != kNone && !(slots_[i].addr == e.addr && slots_[i].port == e.port))
    i = (i + 1) & mask_;
  if (slots_[i].index == kNone) return;
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & mask_; slots_[j].index != kNone; j = (j + 1) & mask_) {
    const Slot& s = slots_[j];
    const uint32_t h = home(Endpoint{s.addr, s.port});
    if (((j - h) & mask_) < ((j - hole) & mask_)) continue;
    slots_[hole] = s;
    hole = j;
  }
  slots_[hole].index = kNone;
}

}  // namespace zcrx::tcp
