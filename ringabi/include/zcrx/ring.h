// SPDX-License-Identifier: MIT
// Single-producer / single-consumer ring views over shared memory, with the
// io_uring index discipline: u32 head and tail that run freely and wrap at
// 2^32, a power-of-two entry array indexed with `idx & mask`, the producer
// publishing `tail` with release and the consumer publishing `head` with
// release. Each side keeps a private cached copy of the other side's index
// so a burst touches the shared cache line once.
//
// The memory is shared with another process that we do not trust: every
// index read from it is validated before it is followed. A violation puts
// the view into a sticky "corrupt" state; it then moves nothing and the
// owner reports the error (zcrxd terminates the offending ring).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace zcrx {

/// Outcome of the last index validation on a view.
enum class RingState : uint8_t {
  ok,
  /// The peer's index claims more entries than the ring holds, or moved
  /// backwards past entries it had already accepted.
  corrupt,
};

namespace detail {

// The peer is another process: the index words must be lock-free atomics
// (a lock-based fallback would lock a table private to each process).
static_assert(std::atomic_ref<uint32_t>::is_always_lock_free);
static_assert(std::atomic_ref<uint32_t>::required_alignment <= 4);

inline std::atomic_ref<uint32_t> shared_index(uint32_t* p) {
  return std::atomic_ref<uint32_t>(*p);
}

constexpr bool is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Copies `n` entries between contiguous arrays. A few entries are copied
// inline (a library memcpy call costs more than the copy); longer runs go
// through memcpy, which moves whole lines.
template <class Entry>
inline void copy_entries(Entry* to, const Entry* from, size_t n) {
  if (n <= 4) {
    if (n >= 1) __builtin_memcpy(&to[0], &from[0], sizeof(Entry));
    if (n >= 2) __builtin_memcpy(&to[1], &from[1], sizeof(Entry));
    if (n >= 3) __builtin_memcpy(&to[2], &from[2], sizeof(Entry));
    if (n == 4) __builtin_memcpy(&to[3], &from[3], sizeof(Entry));
    return;
  }
  __builtin_memcpy(to, from, n * sizeof(Entry));
}

}  // namespace detail

/// Producer side of a ring: reserve slots, fill them, commit.
///
/// `head` is owned by the peer (read with acquire), `tail` by us (written
/// with release). Entries are written in place.
///
/// The consumer's head is valid when it lies in [previous head, our tail]:
/// anything else (moving backwards, or past entries we never published)
/// makes the view corrupt. A corrupt view reserves and publishes nothing.
template <class Entry>
class RingProducer {
  static_assert(std::is_trivially_copyable_v<Entry>);

 public:
  RingProducer() = default;
  /// @param entries_count power of two; the caller validated the geometry.
  RingProducer(uint32_t* head, uint32_t* tail, Entry* entries,
               uint32_t entries_count)
      : head_(head),
        tail_(tail),
        entries_(entries),
        mask_(entries_count - 1),
        size_(entries_count) {
    // relaxed: our own index, read once at attach time (the mapping was
    // handed over through a syscall, which orders it); from then on the
    // private copy is authoritative and the shared word is write-only.
    local_tail_ = detail::shared_index(tail_).load(std::memory_order_relaxed);
    // acquire: as in free_slots(), the consumer's reads of slots before
    // this head complete before we may overwrite them.
    cached_head_ = detail::shared_index(head_).load(std::memory_order_acquire);
    if (local_tail_ - cached_head_ > size_) state_ = RingState::corrupt;
  }

  /// Free slots, refreshing the cached head only when `want` is not yet
  /// known to fit. Returns 0 once the view is corrupt.
  uint32_t free_slots(uint32_t want = 1) {
    if (state_ != RingState::ok) return 0;
    uint32_t free = size_ - (local_tail_ + reserved_ - cached_head_);
    if (free >= want) return free;
    // acquire: pairs with the consumer's release of head, so its reads of
    // the slots it consumed happen before we overwrite them.
    uint32_t head = detail::shared_index(head_).load(std::memory_order_acquire);
    // The consumer may only move head forward, and never past our tail.
    if (head - cached_head_ > local_tail_ - cached_head_) {
      state_ = RingState::corrupt;
      return 0;
    }
    cached_head_ = head;
    return size_ - (local_tail_ + reserved_ - cached_head_);
  }

  /// Reserves up to `n` slots (burst); returns how many were reserved.
  uint32_t reserve(uint32_t n) {
    uint32_t free = free_slots(n);
    uint32_t got = n < free ? n : free;
    reserved_ += got;
    return got;
  }

  /// Reserves exactly `n` slots or none (bulk).
  bool reserve_bulk(uint32_t n) {
    if (free_slots(n) < n) return false;
    reserved_ += n;
    return true;
  }

  /// The i-th slot reserved since the last commit.
  Entry& slot(uint32_t i) { return entries_[(local_tail_ + i) & mask_]; }

  /// Publishes the first `n` reserved slots (at most the number reserved).
  /// Publishes nothing once the view is corrupt.
  void commit(uint32_t n) {
    if (state_ != RingState::ok) return;
    if (n > reserved_) n = reserved_;  // never publish a slot not reserved
    reserved_ -= n;
    publish(n);
  }

  /// Copies and publishes one entry; false when full. Like the other push
  /// calls, not to be mixed with an open reservation (it would fill and
  /// publish the first reserved slot).
  bool push(const Entry& e) {
    if (!reserve_bulk(1)) return false;
    slot(0) = e;
    commit(1);
    return true;
  }

  /// Copies and publishes up to `n` entries from `src` (burst); returns how
  /// many: fewer when the ring fills, 0 when full or corrupt.
  uint32_t push_burst(const Entry* src, uint32_t n) {
    uint32_t free = free_slots(n);
    if (n > free) n = free;
    copy_in(src, n);
    publish(n);
    return n;
  }

  /// Copies and publishes all `n` entries from `src`, or none (bulk).
  bool push_bulk(const Entry* src, uint32_t n) {
    if (free_slots(n) < n) return false;
    copy_in(src, n);
    publish(n);
    return true;
  }

  /// Entries published and not yet consumed; refreshes the head. 0 once
  /// the view is corrupt (the peer's head then means nothing).
  uint32_t pending() {
    free_slots(size_ + 1);  // forces a refresh
    if (state_ != RingState::ok) return 0;
    return local_tail_ - cached_head_;
  }

  RingState state() const { return state_; }
  uint32_t size() const { return size_; }
  uint32_t tail() const { return local_tail_; }

 private:
  // Moves the tail over `n` filled slots. Callers checked the state and
  // that the slots were free (on a corrupt view they pass n == 0 only).
  void publish(uint32_t n) {
    local_tail_ += n;
    // release: the entry writes before it become visible before the tail.
    detail::shared_index(tail_).store(local_tail_, std::memory_order_release);
  }

  // Fills the `n` slots after the tail (the first reserved ones). The fields go to locals first: a
  // store of an Entry may alias this object's u32 fields as far as the
  // compiler knows, which would reload them for every entry.
  // The copy runs in at most two contiguous pieces: before and after the
  // end of the array.
  void copy_in(const Entry* src, uint32_t n) {
    Entry* entries = entries_;
    const uint32_t idx = local_tail_ & mask_;
    const size_t first = n < size_ - idx ? n : size_ - idx;
    detail::copy_entries(entries + idx, src, first);
    if (first < n) detail::copy_entries(entries, src + first, n - first);
  }

  uint32_t* head_ = nullptr;
  uint32_t* tail_ = nullptr;
  Entry* entries_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t size_ = 0;
  uint32_t local_tail_ = 0;
  uint32_t cached_head_ = 0;
  uint32_t reserved_ = 0;
  RingState state_ = RingState::ok;
};

/// Consumer side of a ring: peek available entries, read them, advance.
///
/// `tail` is owned by the peer (read with acquire), `head` by us (written
/// with release). Entries live in shared memory the peer can still scribble
/// on: callers copy an entry once (`load`) and validate the copy.
///
/// The producer's tail is valid when it lies in [previous tail, our head +
/// size]: claiming more entries than the ring holds, or taking back entries
/// already seen, makes the view corrupt. A corrupt view reports nothing
/// available and consumes nothing.
template <class Entry>
class RingConsumer {
  static_assert(std::is_trivially_copyable_v<Entry>);

 public:
  RingConsumer() = default;
  RingConsumer(uint32_t* head, uint32_t* tail, Entry* entries,
               uint32_t entries_count)
      : head_(head),
        tail_(tail),
        entries_(entries),
        mask_(entries_count - 1),
        size_(entries_count) {
    // relaxed: our own index, read once at attach time (the mapping was
    // handed over through a syscall, which orders it); from then on the
    // private copy is authoritative and the shared word is write-only.
    local_head_ = detail::shared_index(head_).load(std::memory_order_relaxed);
    cached_tail_ = local_head_;
  }

  /// Entries ready, refreshing the cached tail only when fewer than `want`
  /// are known. Returns 0 once the view is corrupt.
  uint32_t available(uint32_t want = 1) {
    if (state_ != RingState::ok) return 0;
    uint32_t avail = cached_tail_ - local_head_;
    if (avail >= want) return avail;
    // acquire: pairs with the producer's release of tail, so the entries
    // it wrote are visible before we read them.
    uint32_t tail = detail::shared_index(tail_).load(std::memory_order_acquire);
    uint32_t ready = tail - local_head_;
    // More entries than the ring holds, or fewer than already seen (the
    // producer may only move its tail forward).
    if (ready > size_ || ready < avail) {
      state_ = RingState::corrupt;
      return 0;
    }
    cached_tail_ = tail;
    return ready;
  }

  /// Number of entries that may be read now, at most `max` (burst).
  uint32_t peek(uint32_t max) {
    uint32_t avail = available(max);
    return avail < max ? avail : max;
  }

  /// Reference to the i-th unread entry (valid for i < peek()).
  const Entry& at(uint32_t i) const { return entries_[(local_head_ + i) & mask_]; }

  /// Snapshot of the i-th unread entry (i < peek()): read it once, validate
  /// the copy.
  Entry load(uint32_t i) const {
    Entry e;
    __builtin_memcpy(&e, &entries_[(local_head_ + i) & mask_], sizeof(Entry));
    return e;
  }

  /// Consumes `n` entries (at most the number known available) and hands
  /// their slots back to the producer. Consumes nothing once corrupt.
  void advance(uint32_t n) {
    if (state_ != RingState::ok) return;
    uint32_t avail = cached_tail_ - local_head_;
    if (n > avail) n = avail;  // never hand back a slot not yet produced
    consume(n);
  }

  /// Pops one entry; false when empty.
  bool pop(Entry& out) {
    if (available(1) == 0) return false;
    out = load(0);
    advance(1);
    return true;
  }

  /// Copies out and consumes up to `max` entries into `dst` (burst);
  /// returns how many: 0 when empty or corrupt.
  uint32_t pop_burst(Entry* dst, uint32_t max) {
    uint32_t n = peek(max);
    copy_out(dst, n);
    consume(n);
    return n;
  }

  /// Copies out and consumes exactly `n` entries into `dst`, or none (bulk).
  bool pop_bulk(Entry* dst, uint32_t n) {
    if (available(n) < n) return false;
    copy_out(dst, n);
    consume(n);
    return true;
  }

  RingState state() const { return state_; }
  uint32_t size() const { return size_; }
  uint32_t head() const { return local_head_; }

 private:
  // Moves the head over `n` read entries. Callers checked that they were
  // available (on a corrupt view they pass n == 0 only).
  void consume(uint32_t n) {
    local_head_ += n;
    // release: our reads of the consumed entries complete before the
    // producer may reuse their slots.
    detail::shared_index(head_).store(local_head_, std::memory_order_release);
  }

  // Copies the first `n` unread entries, in pieces as copy_in writes them.
  void copy_out(Entry* dst, uint32_t n) const {
    const Entry* entries = entries_;
    const uint32_t idx = local_head_ & mask_;
    const size_t first = n < size_ - idx ? n : size_ - idx;
    detail::copy_entries(dst, entries + idx, first);
    if (first < n) detail::copy_entries(dst + first, entries, n - first);
  }

  uint32_t* head_ = nullptr;
  uint32_t* tail_ = nullptr;
  Entry* entries_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t size_ = 0;
  uint32_t local_head_ = 0;
  uint32_t cached_tail_ = 0;
  RingState state_ = RingState::ok;
};

}  // namespace zcrx
