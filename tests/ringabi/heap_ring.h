// SPDX-License-Identifier: MIT
// A ring held in ordinary memory for the view tests: head, tail and the
// entry array laid out as in a shared region, each index on its own line.
#pragma once

#include <cstdint>

#include "zcrx/ring.h"

namespace zcrx::test {

template <class Entry, uint32_t N>
struct HeapRing {
  static_assert(detail::is_pow2(N));
  alignas(64) uint32_t head = 0;
  alignas(64) uint32_t tail = 0;
  alignas(64) Entry entries[N] = {};

  /// Both shared indices set to `start` (an empty ring positioned anywhere
  /// in the 2^32 index space).
  explicit HeapRing(uint32_t start = 0) : head(start), tail(start) {}

  RingProducer<Entry> producer() { return {&head, &tail, entries, N}; }
  RingConsumer<Entry> consumer() { return {&head, &tail, entries, N}; }
};

}  // namespace zcrx::test
