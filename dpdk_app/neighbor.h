// SPDX-License-Identifier: MIT
// The neighbour cache of one datapath: IPv4 next hop -> MAC, as Linux's
// ARP table (net/core/neighbour.c) keeps it, bounded and driven explicitly.
// DPDK-free; no allocation after construction, no syscall, one thread (the
// datapath that owns it). Times are microseconds the owner passes in.
//
// States (Linux's NUD_* of the same names):
//  * incomplete: a request was broadcast, no answer yet; frames for the
//    neighbour wait in the entry's hold queue (up to hold_max, the oldest
//    dropped beyond that). Requests are repeated every retry_us; after
//    max_probes unanswered ones the entry fails and every held frame is
//    released with -EHOSTUNREACH.
//  * reachable: confirmed within reachable_us (an ARP reply addressed to
//    us, or confirm() from the transport); used as is.
//  * stale: a MAC not confirmed lately (learned from a request, a
//    gratuitous ARP, or a reachable entry that aged); still used, but the
//    first use starts a check: delay.
//  * delay: used while stale; after delay_us without a confirmation a
//    unicast request goes to the known MAC (probe).
//  * probe: unicast requests every retry_us; max_probes unanswered make it
//    fail. Frames keep using the known MAC meanwhile.
//  * failed: resolution failed; resolve() answers -EHOSTUNREACH for
//    retry_us after the failure (no request storm from a sender that
//    retries at once), then starts over.
//
// Learning (arp.h decides which): an ARP reply addressed to us makes the
// entry reachable, a request addressed to us makes it stale with the
// sender's MAC, and any other ARP (gratuitous ones included) only updates
// an entry that exists (RFC 826's merge). A different MAC replaces a
// known one only after locktime_us since the last change, except from a
// gratuitous ARP (Linux's locktime: the first of several answers wins).
//
// Table: `capacity` entries and an open-addressing index (linear probing,
// at most half full, backward-shift deletion). A new entry when the table
// is full takes the place of one that is failed or stale and unused for
// stale_us (or never used), found by a clock hand; incomplete and
// reachable entries are never taken; none available: -ENOBUFS, counted.
#pragma once

#include <cstdint>
#include <memory>

#include "ether.h"
#include "stats.h"

namespace zcrxd {

/// Frames one entry holds while it resolves (Linux's unres_qlen is in
/// bytes; a few frames cover a SYN and its retransmissions).
inline constexpr uint32_t kMaxHeld = 8;

struct NeighborConfig {
  uint32_t capacity = 256;              // entries
  uint32_t hold_max = kMaxHeld;         // 1..kMaxHeld frames per entry
  uint64_t reachable_us = 30000000;     // Linux base_reachable_time (30 s)
  uint64_t stale_us = 60000000;         // Linux gc_stale_time: stale and unused this long: reusable
  uint64_t delay_us = 5000000;          // Linux delay_first_probe_time
  uint64_t retry_us = 1000000;          // Linux retrans_time: between requests
  uint32_t max_probes = 3;              // requests before failing (Linux mcast/ucast_probes)
  uint64_t locktime_us = 1000000;       // Linux locktime
};

enum class NeighState : uint8_t { free, incomplete, reachable, stale, delay, probe, failed };
const char* neigh_state_name(NeighState s);

/// How an ARP message met us (arp.h chooses).
enum class ArpLearn : uint8_t {
  reply_to_us,    // a reply whose target is our address: reachable
  request_to_us,  // a request for our address: stale (created if new)
  other,          // anything else, gratuitous included: updates an entry only
};

/// What the cache asks of its owner. Callbacks run inside a cache call and
/// must not call back into the cache.
class NeighborHost {
 public:
  virtual ~NeighborHost() = default;
  /// Send an ARP request for `ip`: broadcast when `unicast` is null, else
  /// to that MAC (a probe of a known neighbour).
  virtual void send_request(uint32_t ip, const Mac* unicast) = 0;
  /// A frame held for `ip` leaves the cache: `result` 0 with the MAC to send
  /// it to, or -EHOSTUNREACH (resolution failed), -ENOBUFS (pushed out of a
  /// full hold queue), -ENETDOWN (the cache was flushed); `mac` is null
  /// when `result` is not 0. The owner sends or frees it.
  virtual void release(void* frame, uint32_t ip, const Mac* mac, int result) = 0;
};

struct NeighborStats {
  Counter resolutions;      // resolutions started (broadcast requests begun)
  Counter resolved;         // incomplete entries that got a MAC
  Counter failed;           // resolutions and probes that ran out of requests
  Counter requests_sent;    // every request asked of the host (broadcast + unicast)
  Counter probes_sent;      // of which unicast probes of a known MAC
  Counter held;             // frames queued while resolving
  Counter held_sent;        // released with a MAC
  Counter held_dropped;     // released with an error (failure, overflow, flush)
  Counter held_overflow;    // of which pushed out of a full hold queue
  Counter unreachable;      // resolve() answered -EHOSTUNREACH (failed, held down)
  Counter created;          // entries created by learning (requests/replies to us)
  Counter confirmed;        // entries made reachable (replies, confirm())
  Counter mac_changed;      // a known MAC replaced by another
  Counter override_refused; // a different MAC within locktime_us, ignored
  Counter evicted;          // entries taken for new ones
  Counter table_full;       // a new entry found no place
};

class NeighborCache {
 public:
  /// resolve(): `frame` was taken and will come back through release().
  static constexpr int kHeld = 1;

  /// Allocates everything the cache will use. `cfg` is clamped to sane
  /// bounds (capacity 1..65536, hold_max 1..kMaxHeld, max_probes >= 1).
  NeighborCache(const NeighborConfig& cfg, NeighborHost& host);
  /// Releases every held frame with -ENETDOWN (the host outlives it).
  ~NeighborCache();
  NeighborCache(const NeighborCache&) = delete;
  NeighborCache& operator=(const NeighborCache&) = delete;

  /// The MAC for next hop `ip` (NetConfig::next_hop's addr) at `now`.
  ///  0: `*mac` set, send now (a stale entry starts its check).
  ///  kHeld: unresolved; `frame` (non-null) is held until resolution.
  ///  -EAGAIN: unresolved and `frame` is null (resolution started anyway).
  ///  -EHOSTUNREACH: resolution failed within retry_us (frame not taken).
  ///  -ENOBUFS: no entry free for a new neighbour (frame not taken).
  /// Starting a resolution calls NeighborHost::send_request.
  int resolve(uint32_t ip, uint64_t now, void* frame, Mac* mac);

  /// An ARP message from `ip` with sender MAC `mac` (unicast, checked by
  /// the caller). `gratuitous`: sender and target address are the same (it
  /// may replace a MAC within locktime_us). Held frames go out when this
  /// resolves an entry.
  void learn(uint32_t ip, const Mac& mac, ArpLearn how, bool gratuitous, uint64_t now);

  /// The transport saw `ip` answer (an ACK of new data): a known MAC is
  /// reachable again without a request (Linux's neigh_confirm).
  void confirm(uint32_t ip, uint64_t now);

  /// Timers: repeated requests, delay -> probe, failures. Cheap when
  /// nothing is due (one comparison); O(capacity) when something is.
  void poll(uint64_t now);
  /// When poll() next has work (UINT64_MAX: nothing pending). May be
  /// early, never late.
  uint64_t next_deadline() const { return next_due_; }

  /// Forgets every entry; held frames are released with -ENETDOWN.
  void flush();

  /// The state of `ip`'s entry as resolve() would see it at `now` (a
  /// reachable entry older than reachable_us is stale), free when none.
  NeighState state(uint32_t ip, uint64_t now) const;
  /// `ip`'s MAC when its entry has one.
  bool lookup(uint32_t ip, Mac* mac) const;
  /// Frames held for `ip`.
  uint32_t held(uint32_t ip) const;
  /// Entries in use.
  uint32_t size() const { return used_; }
  uint32_t capacity() const { return cfg_.capacity; }
  const NeighborStats& stats() const { return st_; }

 private:
  struct Entry;
  struct Slot;

  Entry* find(uint32_t ip) const;
  /// A free entry for `ip`, indexed; nullptr when none can be had.
  Entry* insert(uint32_t ip, uint64_t now);
  Entry* evict(uint64_t now);
  void unindex(const Entry& e);
  bool evictable(const Entry& e, uint64_t now) const;
  /// Starts a broadcast resolution of a new or failed entry.
  void start_resolution(Entry& e, uint64_t now);
  /// Enqueues `frame` on incomplete `e` (the oldest dropped when full).
  void hold(Entry& e, void* frame);
  /// Releases `e`'s held frames: with its MAC (result 0) or an error.
  void release_held(Entry& e, int result);
  /// Sets `e`'s MAC and state after an ARP message or confirmation.
  void update(Entry& e, const Mac& mac, NeighState to, uint64_t now);
  void fail(Entry& e, uint64_t now);
  void arm(uint64_t due) {
    if (due < next_due_) next_due_ = due;
  }

  NeighborConfig cfg_;
  NeighborHost& host_;
  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<Slot[]> slots_;
  uint32_t slot_mask_ = 0;
  uint32_t used_ = 0;
  uint32_t free_head_ = 0;  // free entries linked through Entry::next_free
  uint32_t hand_ = 0;       // eviction clock hand over entries_
  uint64_t next_due_ = UINT64_MAX;
  NeighborStats st_;
};

}  // namespace zcrxd
