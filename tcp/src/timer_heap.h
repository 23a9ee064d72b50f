// SPDX-License-Identifier: MIT
// A binary min-heap of connections keyed by their earliest timer, so that
// poll() costs O(due timers x log n), never O(connections).
//
// Keys may be early, never late: arming a timer lowers a connection's key
// when it comes before it; cancelling a timer or pushing it later leaves
// the key alone (no heap operation on the per-ACK path that restarts the
// RTO), and poll() re-files a connection that woke up with nothing due.
// Arrays are sized at construction (one place per connection id).
#pragma once

#include <cstdint>
#include <memory>

namespace zcrx::tcp {

class TimerHeap {
 public:
  static constexpr uint32_t kAbsent = UINT32_MAX;

  void init(uint32_t capacity);
  /// Files `id` at `key`, or lowers its key to `key` when that is earlier.
  void schedule(uint32_t id, uint64_t key);
  void remove(uint32_t id);
  bool contains(uint32_t id) const { return pos_[id] != kAbsent; }
  uint64_t key_of(uint32_t id) const { return contains(id) ? heap_[pos_[id]].key : UINT64_MAX; }
  /// The earliest key (UINT64_MAX when empty) and its id.
  uint64_t top_key() const { return n_ ? heap_[0].key : UINT64_MAX; }
  uint32_t top_id() const { return heap_[0].id; }
  uint32_t size() const { return n_; }

 private:
  struct Entry {
    uint64_t key;
    uint32_t id;
  };
  void sift_up(uint32_t i);
  void sift_down(uint32_t i);
  void put(uint32_t i, const Entry& en) {
    heap_[i] = en;
    pos_[en.id] = i;
  }
  std::unique_ptr<Entry[]> heap_;
  std::unique_ptr<uint32_t[]> pos_;  // by id
  uint32_t n_ = 0;
};

}  // namespace zcrx::tcp
