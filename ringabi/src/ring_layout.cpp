// SPDX-License-Identifier: MIT
#include "zcrx/ring_layout.h"

#include <cerrno>
#include <cstring>
#include <iterator>

namespace zcrx {
namespace {

constexpr size_t kPage = 4096;

constexpr size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

template <class T>
T* at(void* base, uint32_t off) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + off);
}

// An index word of 4 bytes, aligned, inside the region.
bool index_ok(uint32_t off, size_t size) {
  return off % 4 == 0 && size >= 4 && off <= size - 4;
}

bool array_ok(uint32_t off, size_t entries, size_t entry_size, size_t size) {
  size_t bytes = entries * entry_size;
  return off % 8 == 0 && off <= size && bytes <= size - off;
}

// [a, a+alen) and [b, b+blen) do not overlap.
bool disjoint(size_t a, size_t alen, size_t b, size_t blen) {
  return a + alen <= b || b + blen <= a;
}

}  // namespace

uint32_t round_ring_entries(uint32_t v, uint32_t cap) {
  if (v == 0) return 0;
  if (v > cap) v = cap;  // like IORING_SETUP_CLAMP
  // 64-bit so that a v above 2^31 cannot wrap the doubling to 0.
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p <= cap ? static_cast<uint32_t>(p) : 0;
}

RingRegionLayout ring_region_layout(uint32_t sq_entries, uint32_t cq_entries) {
  RingRegionLayout l;
  l.sq_entries = sq_entries;
  l.cq_entries = cq_entries;
  // One line pair per shared index; the rarely written words (masks,
  // counts, flags, dropped, overflow, the consumer's wake target) share
  // the fifth pair.
  constexpr uint32_t kStatic = 4 * kIndexSpacing;
  l.sq_off.head = 0 * kIndexSpacing;
  l.sq_off.tail = 1 * kIndexSpacing;
  l.cq_off.head = 2 * kIndexSpacing;
  l.cq_off.tail = 3 * kIndexSpacing;
  l.sq_off.ring_mask = kStatic;
  l.sq_off.ring_entries = kStatic + 4;
  l.sq_off.flags = kStatic + 8;
  l.sq_off.dropped = kStatic + 12;
  l.sq_off.array = 0;  // no SQ array (IORING_SETUP_NO_SQARRAY)
  l.cq_off.ring_mask = kStatic + 16;
  l.cq_off.ring_entries = kStatic + 20;
  l.cq_off.overflow = kStatic + 24;
  l.cq_off.flags = kStatic + 28;
  l.cq_off.resv1 = kStatic + 32;  // wake target word (proto.h kCqWakeTarget)
  l.cq_off.cqes = 5 * kIndexSpacing;
  size_t cqes_end = l.cq_off.cqes + size_t{cq_entries} * sizeof(uapi::io_uring_cqe32);
  l.sqes_off = static_cast<uint32_t>(align_up(cqes_end, kIndexSpacing));
  size_t sqes_end = l.sqes_off + size_t{sq_entries} * sizeof(uapi::io_uring_sqe);
  l.size = align_up(sqes_end, kPage);
  return l;
}

RqRegionLayout rq_region_layout(uint32_t rq_entries) {
  RqRegionLayout l;
  l.rq_entries = rq_entries;
  l.off.head = 0;
  l.off.tail = kIndexSpacing;
  l.off.rqes = 2 * kIndexSpacing;
  l.size = align_up(l.off.rqes + size_t{rq_entries} * sizeof(uapi::io_uring_zcrx_rqe), kPage);
  return l;
}

int validate_ring_region(const RingRegionLayout& l, size_t size) {
  if (!detail::is_pow2(l.sq_entries) || !detail::is_pow2(l.cq_entries) ||
      l.sq_entries > kMaxSqEntries || l.cq_entries > kMaxCqEntries)
    return -EINVAL;
  const uint32_t idx[] = {l.sq_off.head,      l.sq_off.tail,  l.sq_off.ring_mask,
                          l.sq_off.ring_entries, l.sq_off.flags, l.sq_off.dropped,
                          l.cq_off.head,      l.cq_off.tail,  l.cq_off.ring_mask,
                          l.cq_off.ring_entries, l.cq_off.overflow, l.cq_off.flags};
  for (uint32_t off : idx)
    if (!index_ok(off, size)) return -EINVAL;
  // cq_off.resv1 names the wake target word, 0 when there is none: it
  // must then pass the same checks as the index words.
  const uint32_t wake = l.cq_off.resv1;
  if (wake != 0) {
    if (!index_ok(wake, size)) return -EINVAL;
    for (uint32_t off : idx)
      if (off == wake) return -EINVAL;
    if (!disjoint(wake, 4, l.cq_off.cqes, size_t{l.cq_entries} * sizeof(uapi::io_uring_cqe32)) ||
        !disjoint(wake, 4, l.sqes_off, size_t{l.sq_entries} * sizeof(uapi::io_uring_sqe)))
      return -EINVAL;
  }
  // Each word has one writer; two names for one word would let one side's
  // stores land in the other's index (all are aligned 4-byte words, so
  // distinct offsets never overlap).
  for (size_t i = 0; i < std::size(idx); i++)
    for (size_t j = i + 1; j < std::size(idx); j++)
      if (idx[i] == idx[j]) return -EINVAL;
  if (!array_ok(l.cq_off.cqes, l.cq_entries, sizeof(uapi::io_uring_cqe32), size) ||
      !array_ok(l.sqes_off, l.sq_entries, sizeof(uapi::io_uring_sqe), size))
    return -EINVAL;
  size_t cq_bytes = size_t{l.cq_entries} * sizeof(uapi::io_uring_cqe32);
  size_t sq_bytes = size_t{l.sq_entries} * sizeof(uapi::io_uring_sqe);
  if (!disjoint(l.cq_off.cqes, cq_bytes, l.sqes_off, sq_bytes)) return -EINVAL;
  for (uint32_t off : idx)
    if (!disjoint(off, 4, l.cq_off.cqes, cq_bytes) || !disjoint(off, 4, l.sqes_off, sq_bytes))
      return -EINVAL;
  return 0;
}

int validate_rq_region(const uapi::io_uring_zcrx_offsets& off, uint32_t rq_entries,
                       size_t size) {
  if (!detail::is_pow2(rq_entries) || rq_entries > kMaxRqEntries) return -EINVAL;
  if (!index_ok(off.head, size) || !index_ok(off.tail, size) || off.head == off.tail)
    return -EINVAL;
  size_t bytes = size_t{rq_entries} * sizeof(uapi::io_uring_zcrx_rqe);
  if (!array_ok(off.rqes, rq_entries, sizeof(uapi::io_uring_zcrx_rqe), size)) return -EINVAL;
  if (!disjoint(off.head, 4, off.rqes, bytes) || !disjoint(off.tail, 4, off.rqes, bytes))
    return -EINVAL;
  return 0;
}

void init_ring_region(void* base, const RingRegionLayout& l) {
  std::memset(base, 0, l.size);
  init_zeroed_ring_region(base, l);
}

void init_zeroed_ring_region(void* base, const RingRegionLayout& l) {
  *at<uint32_t>(base, l.sq_off.ring_mask) = l.sq_entries - 1;
  *at<uint32_t>(base, l.sq_off.ring_entries) = l.sq_entries;
  *at<uint32_t>(base, l.cq_off.ring_mask) = l.cq_entries - 1;
  *at<uint32_t>(base, l.cq_off.ring_entries) = l.cq_entries;
}

SqProducer sq_producer(void* base, const RingRegionLayout& l) {
  return {at<uint32_t>(base, l.sq_off.head), at<uint32_t>(base, l.sq_off.tail),
          at<uapi::io_uring_sqe>(base, l.sqes_off), l.sq_entries};
}
SqConsumer sq_consumer(void* base, const RingRegionLayout& l) {
  return {at<uint32_t>(base, l.sq_off.head), at<uint32_t>(base, l.sq_off.tail),
          at<uapi::io_uring_sqe>(base, l.sqes_off), l.sq_entries};
}
CqProducer cq_producer(void* base, const RingRegionLayout& l) {
  return {at<uint32_t>(base, l.cq_off.head), at<uint32_t>(base, l.cq_off.tail),
          at<uapi::io_uring_cqe32>(base, l.cq_off.cqes), l.cq_entries};
}
CqConsumer cq_consumer(void* base, const RingRegionLayout& l) {
  return {at<uint32_t>(base, l.cq_off.head), at<uint32_t>(base, l.cq_off.tail),
          at<uapi::io_uring_cqe32>(base, l.cq_off.cqes), l.cq_entries};
}
RqProducer rq_producer(void* base, const uapi::io_uring_zcrx_offsets& off, uint32_t n) {
  return {at<uint32_t>(base, off.head), at<uint32_t>(base, off.tail),
          at<uapi::io_uring_zcrx_rqe>(base, off.rqes), n};
}
RqConsumer rq_consumer(void* base, const uapi::io_uring_zcrx_offsets& off, uint32_t n) {
  return {at<uint32_t>(base, off.head), at<uint32_t>(base, off.tail),
          at<uapi::io_uring_zcrx_rqe>(base, off.rqes), n};
}

}  // namespace zcrx
