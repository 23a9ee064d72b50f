// SPDX-License-Identifier: MIT
#include "relay.h"

#include <linux/if_packet.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "frame_csum.h"
#include "netdev.h"

namespace zcrx::tools {

namespace {

// Frames taken from one ring before looking at the other direction.
constexpr unsigned kRxBudget = 256;
// How long to wait before retrying a send the socket refused (EAGAIN).
constexpr uint64_t kTxRetryUs = 50;
// Longest sleep: a signal that lands between the stop check and ppoll
// waits at most this long.
constexpr uint64_t kMaxSleepUs = 100000;

bool is_arp(const uint8_t* frame, uint32_t len) {
  return len >= 14 && frame[12] == 0x08 && frame[13] == 0x06;
}

}  // namespace

uint64_t monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

Relay::Path::Path(const RelayOptions& o, unsigned dir, uint32_t slot_size)
    : impairer(o.dir[dir], o.seed, dir),
      schedule(o.slots, o.hold, o.dir[dir].reorder_frames, o.dir[dir].reorder_us),
      pool(o.slots + o.hold, slot_size) {}

Relay::Relay(const RelayOptions& o, uint32_t slot_size) : opts_(o) {
  for (unsigned d = kAtoB; d <= kBtoA; d++) paths_[d] = std::make_unique<Path>(o, d, slot_size);
}

std::unique_ptr<Relay> Relay::open(const RelayOptions& o, std::string* err) {
  int mtu = 0;
  for (const std::string* ifname : {&o.if_a, &o.if_b}) {
    const int m = netdev_mtu(*ifname);
    if (m < 0) {
      *err = *ifname + ": " + std::strerror(-m);
      return nullptr;
    }
    mtu = std::max(mtu, m);
    if (!o.keep_gro) {
      // GRO on a receiving veth would hand us coalesced frames larger than
      // the MTU, which no interface can send on.
      const int rc = netdev_set_gro(*ifname, false);
      if (rc < 0 && rc != -EOPNOTSUPP)
        std::fprintf(stderr, "impair_relay: %s: turning GRO off: %s\n", ifname->c_str(),
                     std::strerror(-rc));
    }
  }
  // MAC header plus room for two VLAN tags the kernel may have stripped.
  const uint32_t max_frame = static_cast<uint32_t>(mtu) + 14 + 8;
  const uint32_t slot_size = (max_frame + 63) / 64 * 64;
  std::unique_ptr<Relay> r(new Relay(o, slot_size));
  r->ring_a_ = PacketRing::open(o.if_a, max_frame, o.ring_kb * 1024u, o.see_outgoing, err);
  if (!r->ring_a_) return nullptr;
  r->ring_b_ = PacketRing::open(o.if_b, max_frame, o.ring_kb * 1024u, o.see_outgoing, err);
  if (!r->ring_b_) return nullptr;
  r->paths_[kAtoB]->in = r->ring_a_.get();
  r->paths_[kAtoB]->out = r->ring_b_.get();
  r->paths_[kBtoA]->in = r->ring_b_.get();
  r->paths_[kBtoA]->out = r->ring_a_.get();
  return r;
}

std::optional<uint32_t> Relay::copy_in(Path& p, const RxFrame& f) {
  const auto slot = p.pool.alloc();
  if (!slot) return std::nullopt;
  uint8_t* dst = p.pool.data(*slot);
  if (f.status & TP_STATUS_VLAN_VALID) {
    // The kernel took the tag out of the frame (VLAN offload): put it back
    // after the MAC addresses, so the frame leaves as it came.
    const uint16_t tpid = (f.status & TP_STATUS_VLAN_TPID_VALID) ? f.vlan_tpid : 0x8100;
    std::memcpy(dst, f.data, 12);
    dst[12] = static_cast<uint8_t>(tpid >> 8);
    dst[13] = static_cast<uint8_t>(tpid);
    dst[14] = static_cast<uint8_t>(f.vlan_tci >> 8);
    dst[15] = static_cast<uint8_t>(f.vlan_tci);
    std::memcpy(dst + 16, f.data + 12, f.len - 12);
    p.pool.len(*slot) = f.len + 4;
  } else {
    std::memcpy(dst, f.data, f.len);
    p.pool.len(*slot) = f.len;
  }
  return slot;
}

void Relay::accept_frame(Path& p, const RxFrame& f, uint64_t now_us) {
  DirectionCounters& c = p.counters;
  if (f.pkttype == PACKET_OUTGOING) {
    c.outgoing_skipped++;
    return;
  }
  c.rx++;
  c.rx_bytes += f.len;
  if (f.snaplen < f.len || f.len < 14 || f.len + 4 > p.pool.slot_size()) {
    c.oversize++;
    return;
  }
  Verdict v;
  if (!opts_.impair_arp && is_arp(f.data, f.len)) {
    v = spared_verdict(p.impairer.config());
    c.spared++;
  } else {
    v = p.impairer.decide();
  }
  if (v.drop) {
    c.dropped++;
    return;
  }
  const auto slot = copy_in(p, f);
  if (!slot) {
    c.queue_full++;
    return;
  }
  if ((f.status & TP_STATUS_CSUMNOTREADY) &&
      complete_l4_checksum(p.pool.data(*slot), p.pool.len(*slot)))
    c.csum_completed++;
  if (!p.schedule.push(*slot, now_us, v)) {
    p.pool.free(*slot);
    c.queue_full++;
    return;
  }
  if (!v.duplicate) return;
  const auto copy = p.pool.alloc();
  Verdict again = v;
  again.reorder = false;  // the copy follows the original's place
  if (!copy || !p.schedule.push(*copy, now_us, again)) {
    if (copy) p.pool.free(*copy);
    c.queue_full++;
    return;
  }
  std::memcpy(p.pool.data(*copy), p.pool.data(*slot), p.pool.len(*slot));
  p.pool.len(*copy) = p.pool.len(*slot);
  c.duplicated++;
}

bool Relay::receive(Path& p, uint64_t now_us) {
  RxFrame f;
  unsigned n = 0;
  for (; n < kRxBudget && p.in->peek(&f); n++) {
    accept_frame(p, f, now_us);
    p.in->release();
  }
  return n > 0;
}

bool Relay::transmit(Path& p, uint64_t now_us, bool* blocked) {
  bool progress = false;
  for (;;) {
    while (p.pending_n < kBurst) {
      const auto slot = p.schedule.pop_due(now_us);
      if (!slot) break;
      p.pending[p.pending_n++] = *slot;
    }
    if (p.pending_n == 0) return progress;
    for (unsigned i = 0; i < p.pending_n; i++) {
      const uint32_t s = p.pending[i];
      p.iov[i] = iovec{p.pool.data(s), p.pool.len(s)};
      p.msgs[i] = mmsghdr{};
      p.msgs[i].msg_hdr.msg_iov = &p.iov[i];
      p.msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = p.out->send(p.msgs.data(), p.pending_n);
    if (sent < 0) {
      if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
        *blocked = true;
        return progress;
      }
      // The first frame is refused for itself (EMSGSIZE...): skip it.
      p.counters.tx_errors++;
      p.pool.free(p.pending[0]);
      sent = 0;
      std::copy(p.pending.begin() + 1, p.pending.begin() + p.pending_n, p.pending.begin());
      p.pending_n--;
    } else {
      for (int i = 0; i < sent; i++) {
        p.counters.forwarded++;
        p.counters.forwarded_bytes += p.pool.len(p.pending[i]);
        p.pool.free(p.pending[i]);
      }
      std::copy(p.pending.begin() + sent, p.pending.begin() + p.pending_n, p.pending.begin());
      p.pending_n -= static_cast<unsigned>(sent);
    }
    progress = true;
  }
}

uint64_t Relay::next_wakeup_us(uint64_t now_us, bool blocked) const {
  uint64_t next = std::min(now_us + kMaxSleepUs, next_stats_us_);
  if (blocked) next = std::min(next, now_us + kTxRetryUs);
  for (const auto& p : paths_) next = std::min(next, p->schedule.next_event_us());
  return next;
}

std::string Relay::counters_line(uint64_t now_us) {
  for (const auto& p : paths_) p->counters.ring_drops += p->in->take_drops();
  char head[64];
  std::snprintf(head, sizeof head, "{\"elapsed_s\":%.3f,",
                static_cast<double>(now_us - start_us_) / 1e6);
  std::string s = head;
  const char* names[2] = {"ab", "ba"};
  for (unsigned d = kAtoB; d <= kBtoA; d++) {
    const Path& p = *paths_[d];
    s += std::string("\"") + names[d] + "\":" +
         counters_json(p.counters, p.schedule.counters(), p.schedule.queued() + p.pending_n);
    s += d == kAtoB ? "," : "}";
  }
  return s;
}

void Relay::run(const std::atomic<bool>& stop) {
  start_us_ = monotonic_us();
  if (opts_.stats_s > 0) next_stats_us_ = start_us_ + static_cast<uint64_t>(opts_.stats_s * 1e6);
  pollfd fds[2] = {{ring_a_->fd(), POLLIN, 0}, {ring_b_->fd(), POLLIN, 0}};
  // Relaxed: the flag only asks the loop to end; no data travels with it.
  while (!stop.load(std::memory_order_relaxed)) {
    uint64_t now = monotonic_us();
    bool busy = false;
    for (auto& p : paths_) busy |= receive(*p, now);
    now = monotonic_us();
    bool blocked = false;
    for (auto& p : paths_) busy |= transmit(*p, now, &blocked);
    if (now >= next_stats_us_) {
      std::printf("STATS %s\n", counters_line(now).c_str());
      std::fflush(stdout);
      next_stats_us_ += static_cast<uint64_t>(opts_.stats_s * 1e6);
    }
    if (busy) continue;
    const uint64_t wake = next_wakeup_us(now, blocked);
    const uint64_t wait = wake > now ? wake - now : 0;
    timespec ts{static_cast<time_t>(wait / 1000000), static_cast<long>(wait % 1000000) * 1000};
    ppoll(fds, 2, &ts, nullptr);
  }
  std::printf("FINAL %s\n", counters_line(monotonic_us()).c_str());
  std::fflush(stdout);
}

}  // namespace zcrx::tools
