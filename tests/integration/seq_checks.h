// SPDX-License-Identifier: MIT
// Checks on what a consumer received (RxResult::seqs and ::sizes), for a
// test to assert on: pcap_gen numbers its datagrams, so the sequence
// numbers tell loss and duplicates apart from reordering.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace itest {

/// True when `seqs` holds every sequence number of [first, first + n)
/// exactly once, in any order.
inline bool exactly_once(std::vector<uint64_t> seqs, uint64_t first, uint64_t n) {
  if (seqs.size() != n) return false;
  std::sort(seqs.begin(), seqs.end());
  for (uint64_t i = 0; i < n; i++)
    if (seqs[i] != first + i) return false;
  return true;
}

/// True when every entry of `sizes` equals `size` (also when it is empty).
inline bool all_sized(const std::vector<int32_t>& sizes, int32_t size) {
  return std::all_of(sizes.begin(), sizes.end(), [&](int32_t s) { return s == size; });
}

}  // namespace itest
