// SPDX-License-Identifier: MIT
#include "guarded_region.h"

#include <sanitizer/asan_interface.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace zcrx::fuzz {

namespace {
constexpr size_t kPage = 4096;
}  // namespace

GuardedRegion::GuardedRegion(size_t len) {
  len_ = (len + kPage - 1) & ~(kPage - 1);
  if (len_ == 0) len_ = kPage;
  map_len_ = len_ + 2 * kPage;
  void* m = mmap(nullptr, map_len_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) std::abort();
  map_ = static_cast<uint8_t*>(m);
  base_ = map_ + kPage;
  if (mprotect(base_, len_, PROT_READ | PROT_WRITE) != 0) std::abort();
}

GuardedRegion::~GuardedRegion() {
  // The shadow outlives the mapping: a later mapping at this address must
  // not inherit our poison.
  ASAN_UNPOISON_MEMORY_REGION(base_, len_);
  munmap(map_, map_len_);
}

void GuardedRegion::allow(uint64_t off, uint64_t n) {
  if (off >= len_) return;
  allowed_.push_back({off, std::min<uint64_t>(off + n, len_)});
}

void GuardedRegion::poison_gaps() {
  ASAN_UNPOISON_MEMORY_REGION(base_, len_);
  std::vector<std::pair<uint64_t, uint64_t>> a = allowed_;
  std::sort(a.begin(), a.end());
  uint64_t pos = 0;
  for (const auto& [b, e] : a) {
    if (b > pos) ASAN_POISON_MEMORY_REGION(base_ + pos, b - pos);
    pos = std::max(pos, e);
  }
  if (pos < len_) ASAN_POISON_MEMORY_REGION(base_ + pos, len_ - pos);
  // ASan marks only a prefix of each 8-byte granule addressable: a gap
  // that ends inside a granule leaves that granule open (conservative),
  // one that starts inside a granule leaves the field before it open. The
  // fields of our layouts start 8-byte aligned, so each is exact.
}

void GuardedRegion::seal() {
  sealed_ = true;
  poison_gaps();
}

void GuardedRegion::consumer_write(uint64_t off, const void* src, size_t n) {
  if (off >= len_) return;
  if (n > len_ - off) n = len_ - off;
  if (sealed_) ASAN_UNPOISON_MEMORY_REGION(base_ + off, n);
  std::memcpy(base_ + off, src, n);
  if (sealed_) poison_gaps();
}

}  // namespace zcrx::fuzz
