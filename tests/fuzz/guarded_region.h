// SPDX-License-Identifier: MIT
// Shared memory as a fuzzer's consumer sees it: an anonymous mapping with
// an inaccessible page before and after (an access past either end
// faults), whose bytes outside the fields the datapath may touch are
// poisoned for ASan (an access to padding, or past an array inside the
// region, is reported with its exact address).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zcrx::fuzz {

class GuardedRegion {
 public:
  /// `len` bytes, rounded up to whole pages, zeroed and all accessible.
  explicit GuardedRegion(size_t len);
  ~GuardedRegion();
  GuardedRegion(const GuardedRegion&) = delete;
  GuardedRegion& operator=(const GuardedRegion&) = delete;

  uint8_t* base() const { return base_; }
  size_t size() const { return len_; }
  template <class T>
  T* at(uint64_t off) const {
    return reinterpret_cast<T*>(base_ + off);
  }

  /// [off, off + n) is a field the datapath may read or write.
  void allow(uint64_t off, uint64_t n);
  /// Poisons every byte no allow() covered (call after initialising).
  void seal();

  /// The consumer writes `n` bytes at `off`, wherever they land: padding
  /// included. `off` and `n` are clipped to the region.
  void consumer_write(uint64_t off, const void* src, size_t n);

 private:
  void poison_gaps();

  uint8_t* map_ = nullptr;  // guard page, region, guard page
  uint8_t* base_ = nullptr;
  size_t len_ = 0;
  size_t map_len_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> allowed_;  // [begin, end)
  bool sealed_ = false;
};

}  // namespace zcrx::fuzz
