// SPDX-License-Identifier: MIT
// A bounded FIFO over storage allocated once: the relay's queues never
// allocate per frame.
#pragma once

#include <cstddef>
#include <vector>

namespace zcrx::tools {

template <typename T>
class FixedFifo {
 public:
  explicit FixedFifo(size_t capacity) : items_(capacity) {}

  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == items_.size(); }
  size_t size() const { return count_; }
  size_t capacity() const { return items_.size(); }

  /// False (and nothing stored) when full.
  bool push(const T& item) {
    if (full()) return false;
    size_t tail = head_ + count_;
    if (tail >= items_.size()) tail -= items_.size();
    items_[tail] = item;
    count_++;
    return true;
  }

  /// The oldest item; only when !empty().
  const T& front() const { return items_[head_]; }

  /// Removes the oldest item; only when !empty().
  void pop() {
    if (++head_ == items_.size()) head_ = 0;
    count_--;
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace zcrx::tools
