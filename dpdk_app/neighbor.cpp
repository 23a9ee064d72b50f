// SPDX-License-Identifier: MIT
#include "neighbor.h"

#include <algorithm>
#include <cerrno>

namespace zcrxd {

struct NeighborCache::Entry {
  uint32_t ip = 0;
  NeighState state = NeighState::free;
  uint8_t probes = 0;     // requests sent in this resolution or probe
  uint8_t hold_head = 0;  // hold[] is a ring of kMaxHeld
  uint8_t hold_n = 0;
  bool used_ever = false;
  Mac mac;
  uint32_t next_free = 0;
  uint64_t confirmed = 0;  // last confirmation (reachable from then on)
  uint64_t updated = 0;    // MAC last set or changed (locktime)
  uint64_t used = 0;       // last resolve() for it (used_ever)
  uint64_t due = 0;        // incomplete/delay/probe: next timer; failed: hold-down end
  void* hold[kMaxHeld] = {};
};

// idx is the entry's index + 1; 0 marks an empty slot. The address sits in
// the slot so a probe sequence compares without touching the entries.
struct NeighborCache::Slot {
  uint32_t ip = 0;
  uint32_t idx = 0;
};

namespace {

constexpr uint32_t kMaxCapacity = 65536;

bool has_mac(NeighState s) {
  return s == NeighState::reachable || s == NeighState::stale || s == NeighState::delay ||
         s == NeighState::probe;
}

bool timed(NeighState s) {
  return s == NeighState::incomplete || s == NeighState::delay || s == NeighState::probe;
}

}  // namespace

const char* neigh_state_name(NeighState s) {
  switch (s) {
    case NeighState::free: return "free";
    case NeighState::incomplete: return "incomplete";
    case NeighState::reachable: return "reachable";
    case NeighState::stale: return "stale";
    case NeighState::delay: return "delay";
    case NeighState::probe: return "probe";
    case NeighState::failed: return "failed";
  }
  return "?";
}

NeighborCache::NeighborCache(const NeighborConfig& cfg, NeighborHost& host)
    : cfg_(cfg), host_(host) {
  cfg_.capacity = std::clamp<uint32_t>(cfg_.capacity, 1, kMaxCapacity);
  cfg_.hold_max = std::clamp<uint32_t>(cfg_.hold_max, 1, kMaxHeld);
  cfg_.max_probes = std::clamp<uint32_t>(cfg_.max_probes, 1, 255);
  entries_ = std::make_unique<Entry[]>(cfg_.capacity);
  // At most half full: short probe sequences even when the table is.
  uint32_t slots = 2;
  while (slots < 2 * cfg_.capacity) slots <<= 1;
  slots_ = std::make_unique<Slot[]>(slots);
  slot_mask_ = slots - 1;
  flush();
}

NeighborCache::~NeighborCache() { flush(); }

void NeighborCache::flush() {
  for (uint32_t i = 0; i < cfg_.capacity; i++) {
    Entry& e = entries_[i];
    if (e.state != NeighState::free) release_held(e, -ENETDOWN);
    e = Entry{};
    e.next_free = i + 1;
  }
  for (uint32_t i = 0; i <= slot_mask_; i++) slots_[i] = Slot{};
  free_head_ = 0;
  used_ = 0;
  hand_ = 0;
  next_due_ = UINT64_MAX;
}

NeighborCache::Entry* NeighborCache::find(uint32_t ip) const {
  // Fibonacci hashing: neighbours are mostly consecutive host numbers of
  // one prefix, which the multiply spreads over the high bits.
  for (uint32_t i = (ip * 0x9e3779b1u) & slot_mask_;; i = (i + 1) & slot_mask_) {
    const Slot& s = slots_[i];
    if (s.idx == 0) return nullptr;
    if (s.ip == ip) return &entries_[s.idx - 1];
  }
}

void NeighborCache::unindex(const Entry& e) {
  const uint32_t idx = static_cast<uint32_t>(&e - entries_.get()) + 1;
  uint32_t i = (e.ip * 0x9e3779b1u) & slot_mask_;
  while (slots_[i].idx != idx) i = (i + 1) & slot_mask_;
  // Backward-shift deletion: move later members of the probe run into the
  // hole unless their home lies cyclically within (hole, their slot].
  for (uint32_t j = (i + 1) & slot_mask_;; j = (j + 1) & slot_mask_) {
    if (slots_[j].idx == 0) break;
    const uint32_t home = (slots_[j].ip * 0x9e3779b1u) & slot_mask_;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = Slot{};
}

bool NeighborCache::evictable(const Entry& e, uint64_t now) const {
  if (e.state == NeighState::failed) return true;
  const bool stale = e.state == NeighState::stale ||
                     (e.state == NeighState::reachable && now >= e.confirmed + cfg_.reachable_us);
  return stale && (!e.used_ever || now >= e.used + cfg_.stale_us);
}

NeighborCache::Entry* NeighborCache::evict(uint64_t now) {
  for (uint32_t n = 0; n < cfg_.capacity; n++) {
    Entry& e = entries_[hand_];
    hand_ = hand_ + 1 == cfg_.capacity ? 0 : hand_ + 1;
    if (!evictable(e, now)) continue;
    unindex(e);  // failed and stale entries hold no frames
    st_.evicted.add(1);
    return &e;
  }
  return nullptr;
}

NeighborCache::Entry* NeighborCache::insert(uint32_t ip, uint64_t now) {
  Entry* e = nullptr;
  if (used_ < cfg_.capacity) {
    e = &entries_[free_head_];
    free_head_ = e->next_free;
    used_++;
  } else {
    e = evict(now);
    if (!e) return nullptr;
  }
  *e = Entry{};
  e->ip = ip;
  uint32_t i = (ip * 0x9e3779b1u) & slot_mask_;
  while (slots_[i].idx != 0) i = (i + 1) & slot_mask_;
  slots_[i] = Slot{ip, static_cast<uint32_t>(e - entries_.get()) + 1};
  return e;
}

void NeighborCache::start_resolution(Entry& e, uint64_t now) {
  e.state = NeighState::incomplete;
  e.probes = 1;
  e.due = now + cfg_.retry_us;
  arm(e.due);
  st_.resolutions.add(1);
  st_.requests_sent.add(1);
  host_.send_request(e.ip, nullptr);
}

void NeighborCache::hold(Entry& e, void* frame) {
  if (e.hold_n == cfg_.hold_max) {
    // Linux drops the oldest too: the newest frame is the likeliest to
    // still matter (a retransmitted SYN carries a fresher timestamp).
    void* old = e.hold[e.hold_head];
    e.hold_head = static_cast<uint8_t>((e.hold_head + 1) % kMaxHeld);
    e.hold_n--;
    st_.held_overflow.add(1);
    st_.held_dropped.add(1);
    host_.release(old, e.ip, nullptr, -ENOBUFS);
  }
  e.hold[(e.hold_head + e.hold_n) % kMaxHeld] = frame;
  e.hold_n++;
  st_.held.add(1);
}

void NeighborCache::release_held(Entry& e, int result) {
  while (e.hold_n) {
    void* f = e.hold[e.hold_head];
    e.hold_head = static_cast<uint8_t>((e.hold_head + 1) % kMaxHeld);
    e.hold_n--;
    (result == 0 ? st_.held_sent : st_.held_dropped).add(1);
    host_.release(f, e.ip, result == 0 ? &e.mac : nullptr, result);
  }
}

void NeighborCache::update(Entry& e, const Mac& mac, NeighState to, uint64_t now) {
  if (!has_mac(e.state) || e.mac != mac) e.updated = now;
  e.mac = mac;
  e.state = to;
  e.probes = 0;
  if (to == NeighState::reachable) {
    e.confirmed = now;
    st_.confirmed.add(1);
  }
}

void NeighborCache::fail(Entry& e, uint64_t now) {
  e.state = NeighState::failed;
  e.probes = 0;
  e.due = now + cfg_.retry_us;  // hold-down: resolve() answers at once until then
  st_.failed.add(1);
  release_held(e, -EHOSTUNREACH);
}

int NeighborCache::resolve(uint32_t ip, uint64_t now, void* frame, Mac* mac) {
  Entry* e = find(ip);
  if (!e) {
    e = insert(ip, now);
    if (!e) {
      st_.table_full.add(1);
      return -ENOBUFS;
    }
    start_resolution(*e, now);
  }
  switch (e->state) {
    case NeighState::reachable:
      if (now < e->confirmed + cfg_.reachable_us) break;
      e->state = NeighState::stale;
      [[fallthrough]];
    case NeighState::stale:
      // In use again: check it unless the transport confirms it first.
      e->state = NeighState::delay;
      e->due = now + cfg_.delay_us;
      arm(e->due);
      break;
    case NeighState::delay:
    case NeighState::probe:
      break;
    case NeighState::failed:
      if (now < e->due) {
        st_.unreachable.add(1);
        return -EHOSTUNREACH;
      }
      start_resolution(*e, now);
      [[fallthrough]];
    case NeighState::incomplete:
      e->used = now;
      e->used_ever = true;
      if (!frame) return -EAGAIN;
      hold(*e, frame);
      return kHeld;
    case NeighState::free:
      return -ENOBUFS;  // never indexed
  }
  e->used = now;
  e->used_ever = true;
  *mac = e->mac;
  return 0;
}

void NeighborCache::learn(uint32_t ip, const Mac& mac, ArpLearn how, bool gratuitous,
                          uint64_t now) {
  const NeighState to = how == ArpLearn::reply_to_us ? NeighState::reachable : NeighState::stale;
  Entry* e = find(ip);
  if (!e) {
    // RFC 826: only a message addressed to us adds its sender.
    if (how == ArpLearn::other) return;
    e = insert(ip, now);
    if (!e) {
      st_.table_full.add(1);
      return;
    }
    st_.created.add(1);
    update(*e, mac, to, now);
    return;
  }
  if (has_mac(e->state)) {
    if (e->mac == mac) {
      // The same MAC: a reply to us confirms it; anything else leaves the
      // state alone (Linux does not demote on a mere request).
      if (how == ArpLearn::reply_to_us) update(*e, mac, NeighState::reachable, now);
      return;
    }
    if (!gratuitous && now < e->updated + cfg_.locktime_us) {
      st_.override_refused.add(1);
      return;
    }
    st_.mac_changed.add(1);
    update(*e, mac, to, now);
    return;
  }
  // Incomplete or failed: this is the answer.
  const bool resolving = e->state == NeighState::incomplete;
  update(*e, mac, to, now);
  if (resolving) {
    st_.resolved.add(1);
    release_held(*e, 0);
  }
}

void NeighborCache::confirm(uint32_t ip, uint64_t now) {
  Entry* e = find(ip);
  if (e && has_mac(e->state)) update(*e, e->mac, NeighState::reachable, now);
}

void NeighborCache::poll(uint64_t now) {
  if (now < next_due_) return;
  uint64_t next = UINT64_MAX;
  for (uint32_t i = 0; i < cfg_.capacity; i++) {
    Entry& e = entries_[i];
    if (!timed(e.state)) continue;
    if (now >= e.due) {
      switch (e.state) {
        case NeighState::incomplete:
        case NeighState::probe:
          if (e.probes >= cfg_.max_probes) {
            fail(e, now);
            continue;
          }
          e.probes++;
          e.due = now + cfg_.retry_us;
          st_.requests_sent.add(1);
          if (e.state == NeighState::probe) st_.probes_sent.add(1);
          host_.send_request(e.ip, e.state == NeighState::probe ? &e.mac : nullptr);
          break;
        case NeighState::delay:
          // Not confirmed while it waited (that would have made it
          // reachable): ask the known MAC.
          e.state = NeighState::probe;
          e.probes = 1;
          e.due = now + cfg_.retry_us;
          st_.requests_sent.add(1);
          st_.probes_sent.add(1);
          host_.send_request(e.ip, &e.mac);
          break;
        default:
          break;
      }
    }
    next = std::min(next, e.due);
  }
  next_due_ = next;
}

NeighState NeighborCache::state(uint32_t ip, uint64_t now) const {
  const Entry* e = find(ip);
  if (!e) return NeighState::free;
  if (e->state == NeighState::reachable && now >= e->confirmed + cfg_.reachable_us)
    return NeighState::stale;
  return e->state;
}

bool NeighborCache::lookup(uint32_t ip, Mac* mac) const {
  const Entry* e = find(ip);
  if (!e || !has_mac(e->state)) return false;
  *mac = e->mac;
  return true;
}

uint32_t NeighborCache::held(uint32_t ip) const {
  const Entry* e = find(ip);
  return e ? e->hold_n : 0;
}

}  // namespace zcrxd
