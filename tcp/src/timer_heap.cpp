// SPDX-License-Identifier: MIT
// The connections' timer heap (see timer_heap.h).
#include "timer_heap.h"

namespace zcrx::tcp {

void TimerHeap::init(uint32_t capacity) {
  heap_ = std::make_unique<Entry[]>(capacity);
  pos_ = std::make_unique<uint32_t[]>(capacity);
  for (uint32_t i = 0; i < capacity; i++) pos_[i] = kAbsent;
  n_ = 0;
}

void TimerHeap::sift_up(uint32_t i) {
  const Entry en = heap_[i];
  while (i > 0) {
    const uint32_t parent = (i - 1) / 2;
    if (heap_[parent].key <= en.key) break;
    put(i, heap_[parent]);
    i = parent;
  }
  put(i, en);
}

void TimerHeap::sift_down(uint32_t i) {
  const Entry en = heap_[i];
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= n_) break;
    if (child + 1 < n_ && heap_[child + 1].key < heap_[child].key) child++;
    if (heap_[child].key >= en.key) break;
    put(i, heap_[child]);
    i = child;
  }
  put(i, en);
}

void TimerHeap::schedule(uint32_t id, uint64_t key) {
  if (pos_[id] == kAbsent) {
    put(n_, Entry{key, id});
    n_++;
    sift_up(n_ - 1);
    return;
  }
  const uint32_t i = pos_[id];
  if (key >= heap_[i].key) return;  // early keys are allowed, late ones not
  heap_[i].key = key;
  sift_up(i);
}

void TimerHeap::remove(uint32_t id) {
  const uint32_t i = pos_[id];
  if (i == kAbsent) return;
  pos_[id] = kAbsent;
  n_--;
  if (i == n_) return;
  const Entry last = heap_[n_];
  const uint64_t old = heap_[i].key;
  put(i, last);
  if (last.key < old)
    sift_up(i);
  else
    sift_down(i);
}

}  // namespace zcrx::tcp
