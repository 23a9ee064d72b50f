// SPDX-License-Identifier: MIT
#include "datapath.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <algorithm>
#include <thread>

#include "area_pool.h"
#include "copy_fallback.h"
#include "dp_profile.h"
#include "options.h"
#include "packet.h"
#include "rx_csum.h"
#include "zcrx/core/engine.h"

namespace zcrxd {

namespace {
constexpr uint32_t kSqBudget = 64;       // SQEs per ring and iteration
constexpr uint32_t kRefillBudget = 512;  // RQEs per entry and iteration
// niovs the copy fallback takes from the area pool at once: a burst of
// small foreign packets then costs one bulk get (and one put of the rest).
constexpr uint32_t kCopyBatch = 32;
// receive()'s first pass marks fragments for reassembly with this group:
// no FlowTable hands out ids that high.
constexpr uint32_t kReassemble = kNoFlow - 1;
// ... and frames for the TCP endpoint (ARP, ICMP and TCP to our addresses).
constexpr uint32_t kTcpStack = kNoFlow - 2;
// Every group at or above this one is not a flow's: deliver_burst tells
// the three apart off the common path, after one compare per packet.
constexpr uint32_t kNotAFlow = kTcpStack;
static_assert(kReassemble > kNotAFlow && kNoFlow > kReassemble);
}  // namespace

// mbufs to free at the end of a burst, in one rte_pktmbuf_free_bulk, the
// niovs taken for copies, and the burst's counters, added to the shared
// DpStats once per burst.
struct Datapath::Burst {
  uint64_t delivered = 0, bytes = 0, packets = 0;
  // Packets of one segment delivered in place: one niov and one datagram
  // each, added to both counters at the end (one increment per packet).
  uint64_t whole = 0;
  uint64_t copied = 0, copied_bytes = 0, copied_packets = 0;
  uint64_t no_buffers = 0, empty = 0, bad_len = 0, cq_full = 0;
  // Drops by reason (DpStats says what each means).
  uint64_t malformed = 0, not_udp = 0, no_flow = 0, not_armed = 0;
  uint64_t bad_ip_csum = 0, bad_udp_csum = 0, udp6_zero_csum = 0;
  FragCounts frag;
  void publish(DpStats& st) const {
    if (delivered + whole) {
      st.delivered.add(delivered + whole);
      st.delivered_bytes.add(bytes);
      st.packets_delivered.add(packets + whole);
    }
    if (copied) {
      st.copied.add(copied);
      st.copied_bytes.add(copied_bytes);
      st.packets_copied.add(copied_packets);
    }
    if (malformed) st.dropped_malformed.add(malformed);
    if (not_udp) st.dropped_not_udp.add(not_udp);
    if (no_flow) st.dropped_no_flow.add(no_flow);
    if (not_armed) st.dropped_not_armed.add(not_armed);
    if (bad_ip_csum) st.dropped_bad_ip_csum.add(bad_ip_csum);
    if (bad_udp_csum) st.dropped_bad_udp_csum.add(bad_udp_csum);
    if (udp6_zero_csum) st.dropped_udp6_zero_csum.add(udp6_zero_csum);
    if (frag.reassembled) st.reassembled.add(frag.reassembled);
    if (frag.timeout) st.dropped_frag_timeout.add(frag.timeout);
    if (frag.table_full) st.dropped_frag_table_full.add(frag.table_full);
    if (frag.invalid) st.dropped_frag_invalid.add(frag.invalid);
    if (no_buffers) st.dropped_no_buffers.add(no_buffers);
    if (empty) st.dropped_empty.add(empty);
    if (bad_len) st.dropped_bad_len.add(bad_len);
    if (cq_full) st.cq_full.add(cq_full);
  }

  static constexpr uint32_t kCap = 2 * kMaxBurst;
  rte_mbuf* to_free[kCap];
  uint32_t n_free = 0;
  void drop(rte_mbuf* m) {
    if (n_free == kCap) flush();  // a burst of many-segment packets
    to_free[n_free++] = m;
  }
  // A frame no flow takes, counted by what it is.
  void drop_unclaimed(rte_mbuf* m, const ParsedPacket& p) {
    if (p.kind == PacketKind::malformed) malformed++;
    else if (p.kind == PacketKind::other) not_udp++;
    else no_flow++;
    drop(m);
  }
  // A datagram for a UDP flow whose checksums failed, counted by which.
  void drop_bad_csum(rte_mbuf* m, CsumVerdict v) {
    if (v == CsumVerdict::bad_ip) bad_ip_csum++;
    else if (v == CsumVerdict::bad_udp) bad_udp_csum++;
    else udp6_zero_csum++;
    drop(m);
  }
  void flush() {
    if (n_free) rte_pktmbuf_free_bulk(to_free, n_free);
    n_free = 0;
  }

  NiovStash stash;  // free niovs for the copy fallback

  // The request the last packet of a one-ring flow group went to: the
  // next packet of that group goes there too while it stays armed.
  uint32_t last_group = kNoFlow;
  RingDp* last_ring = nullptr;
  RecvRequest* last_req = nullptr;
};

// What every packet of a burst reads besides itself, loaded once per burst:
// a delivery stores to the mbuf and the CQE, which may alias the snapshot,
// the pool and the options as far as the compiler knows, so reading them
// through their owners reloads each of them for every packet.
struct Datapath::BurstView {
  AreaPool::NiovMap map{};
  uint32_t buf_room = 0;      // bytes a niov's buffer holds (in-area pools keep a header)
  uint32_t payload_bias = 0;  // where a niov's buffer starts inside it
  uint32_t raw_group = kNoFlow;
  RxCsum csum;
  bool area = false;  // an area pool and the real ifq are bound

  BurstView(const Snapshot& s, RxCsum mode) : raw_group(s.flows.raw_group()), csum(mode) {
    if (!s.pool || !s.real) return;  // rx runs only with an area bound; never without
    map = s.pool->map();
    buf_room = s.pool->buf_room();
    payload_bias = s.pool->payload_bias();
    area = true;
  }
};

Datapath::Datapath(const DatapathConfig& cfg, DpStats& stats)
    : cfg_(cfg), st_(stats), owned_(std::make_unique<Snapshot>()) {
  owned_->seq = ++publish_seq_;
  cur_.store(owned_.get(), std::memory_order_release);
  sq_idle_cycles_ = uint64_t{cfg_.sq_idle_ms} * rte_get_tsc_hz() / 1000;
  by_slot_.assign(cfg_.max_rings, nullptr);
  // One wakeup per ring at most is in flight (RingDp::claim_wake).
  uint32_t n = 1;
  while (n < cfg_.max_rings) n <<= 1;
  wake_slots_ = std::make_unique<uint32_t[]>(n);
  wake_in_ = zcrx::RingProducer<uint32_t>(&wake_head_, &wake_tail_, wake_slots_.get(), n);
  wake_out_ = zcrx::RingConsumer<uint32_t>(&wake_head_, &wake_tail_, wake_slots_.get(), n);
}

void Datapath::wake_sq(uint32_t slot) { wake_in_.push(slot); }

void Datapath::adopt(const Snapshot& s, uint64_t now) {
  adopted_seq_ = s.seq;
  // A queue that starts receiving (its first bind, a rebind, a port
  // restart) waits for --rx-gate's requests again: a restart replays a
  // finite source (net_pcap) from its start.
  if (s.rx && !rx_seen_) gate_open_ = false;
  rx_seen_ = s.rx;
  // Rings that left keep no place in the flush list (they are compared,
  // not read: control may free them once this iteration is over).
  std::vector<RingDp*> live(s.rings);
  std::sort(live.begin(), live.end());
  size_t keep = 0;
  for (RingDp* r : dirty_.rings)
    if (std::binary_search(live.begin(), live.end(), r)) dirty_.rings[keep++] = r;
  dirty_.rings.resize(keep);
  dirty_.rings.reserve(s.rings.size());
  awake_rings_.clear();
  awake_rings_.reserve(s.rings.size());
  std::fill(by_slot_.begin(), by_slot_.end(), nullptr);
  for (RingDp* r : s.rings) {
    r->attach(&dirty_, now);
    if (r->slot() < by_slot_.size()) by_slot_[r->slot()] = r;
    if (!r->sq_asleep()) awake_rings_.push_back(r);
  }
  awake_.store(static_cast<uint32_t>(awake_rings_.size()), std::memory_order_relaxed);
}

void Datapath::drain_wakes(uint64_t now) {
  uint32_t slot;
  bool changed = false;
  while (wake_out_.pop(slot)) {
    RingDp* r = slot < by_slot_.size() ? by_slot_[slot] : nullptr;
    if (!r) continue;  // gone, or moved to another queue (control resets it)
    if (r->sq_wake(now)) {
      awake_rings_.push_back(r);  // capacity: every ring of the snapshot
      changed = true;
    }
  }
  if (changed)  // relaxed: a statistic
    awake_.store(static_cast<uint32_t>(awake_rings_.size()), std::memory_order_relaxed);
}

uint32_t Datapath::poll_sqs(uint64_t now) {
  uint32_t sqes = 0;
  bool slept = false;
  for (size_t i = 0; i < awake_rings_.size();) {
    RingDp* r = awake_rings_[i];
    if (const uint32_t n = r->poll_sq(kSqBudget)) {
      sqes += n;
      r->note_sq_busy(now);
    } else if (sq_idle_cycles_ && r->sq_try_sleep(now, sq_idle_cycles_)) {
      awake_rings_[i] = awake_rings_.back();
      awake_rings_.pop_back();
      slept = true;
      continue;
    }
    i++;
  }
  if (slept)  // relaxed: a statistic
    awake_.store(static_cast<uint32_t>(awake_rings_.size()), std::memory_order_relaxed);
  return sqes;
}

bool Datapath::flush_rings() {
  bool worked = false;
  size_t keep = 0;
  for (RingDp* r : dirty_.rings) {
    if (r->flush()) {
      r->wake_if_needed();
      worked = true;
    }
    // Event CQEs that found no room stay for a later flush.
    if (r->has_queued_events()) dirty_.rings[keep++] = r;
    else r->clear_dirty();
  }
  dirty_.rings.resize(keep);
  return worked;
}

Datapath::~Datapath() = default;

void Datapath::publish(std::unique_ptr<Snapshot> next) {
  next->seq = ++publish_seq_;
  // seq_cst: ordered before the epoch read in synchronize(), so an
  // iteration that starts after that read loads `next` (see run()).
  cur_.store(next.get(), std::memory_order_seq_cst);
  synchronize();
  owned_ = std::move(next);  // frees the previous snapshot
}

void Datapath::synchronize() {
  // seq_cst pairs with the loop's seq_cst epoch increment and snapshot
  // load: if we read epoch e, iteration e+1 begins after our read in the
  // single total order, so it (and all later ones) load what was
  // published before the call. Waiting for e+2 also covers the iteration
  // running when we read e.
  uint64_t e = epoch_.load(std::memory_order_seq_cst);
  while (running_.load(std::memory_order_seq_cst) &&
         epoch_.load(std::memory_order_seq_cst) < e + 2)
    std::this_thread::yield();
}

void Datapath::watch_entries(const Snapshot& s) {
  Ifq* real = s.real;
  watch_snap_ = s.seq;
  watch_n_ = 0;
  // The generation first: an entry added after this read bumps it again,
  // and the next iteration rebuilds.
  watch_gen_ = real->entries_generation();
  const uint32_t slots = real->entry_slots();
  for (uint32_t i = 0; i < slots; i++) {
    Ifq* e = real->entry_at(i);
    if (!e) continue;
    auto* base = static_cast<uint8_t*>(e->rq_base());
    const zcrx::RqRegionLayout& l = e->rq_layout();
    watch_[watch_n_++] = {e, reinterpret_cast<uint32_t*>(base + l.off.head),
                          reinterpret_cast<uint32_t*>(base + l.off.tail)};
  }
}

uint32_t Datapath::refill(const Snapshot& s) {
  Ifq* real = s.real;
  const AreaPool* pool = s.pool;
  if (!real || !pool) return 0;
  // The entry table changes only with its generation; removing an entry
  // waits for our quiescent point, so pointers cached in an earlier
  // iteration stay valid until the generation we read here says otherwise.
  // Retiring an entry bumps the generation (seq_cst) before synchronize()
  // reads our epoch, and this iteration began with the seq_cst epoch
  // increment (a locked instruction, a full barrier on the x86 targets
  // DPDK is built for here), so once the entry may be freed this load
  // (acquire) sees the bump and the table is rebuilt without it.
  if (s.seq != watch_snap_ || real->entries_generation() != watch_gen_) watch_entries(s);
  uint32_t total = 0;
  uint32_t idx[kRefillBudget];
  for (uint32_t i = 0; i < watch_n_; i++) {
    const RqWatch& w = watch_[i];
    // relaxed: a hint only. An RQE whose tail store we do not see yet is
    // drained on a later iteration; refill_burst reads the tail itself
    // with acquire before it touches any RQE. A consumer that rewrites its
    // head only keeps its own buffers from coming back.
    if (std::atomic_ref<uint32_t>(*w.tail).load(std::memory_order_relaxed) ==
        std::atomic_ref<uint32_t>(*w.head).load(std::memory_order_relaxed))
      continue;
    const uint32_t n = w.entry->refill_burst(kRefillBudget, idx);
    if (n) pool->put_niovs(idx, n);  // straight back where the PMD allocates
    total += n;
  }
  if (total) {
    st_.refilled.add(total);
    st_.returned.add(total);
  }
  return total;
}

template <bool kCopy>
[[gnu::always_inline]] inline void Datapath::deliver(const Snapshot& s, const BurstView& v,
                                                     rte_mbuf* m, const ParsedPacket& p,
                                                     uint32_t g, uint64_t tsc, Burst& b) {
  // deliver_burst took the frames no flow claims (kNoFlow) aside.
  RingDp* ring = nullptr;
  RecvRequest* req = nullptr;
  if (g == b.last_group && b.last_req->armed) {
    // A flow group with one ring, as the packet before: same request.
    ring = b.last_ring;
    req = b.last_req;
  } else {
    const FlowGroupDp& group = s.groups[g];
    const uint32_t n = static_cast<uint32_t>(group.members.size());
    uint32_t start = n > 1 ? flow_hash(p) % n : 0;
    for (uint32_t i = 0, at = start; i < n && !req; i++, at = at + 1 == n ? 0 : at + 1) {
      const FlowMember& fm = group.members[at];
      req = fm.ring->armed(fm.handle);
      ring = fm.ring;
    }
    if (!req) {
      b.not_armed++;  // nobody is receiving on the flow
      b.drop(m);
      return;
    }
    // Only a one-ring group maps every packet to the same request; with
    // more rings the flow hash picks.
    if (n == 1) {
      b.last_group = g;
      b.last_ring = ring;
      b.last_req = req;
    }
  }
  // Header-split emulation: UDP flows get the payload, raw flows the frame.
  const bool raw = !p.is_udp || v.raw_group == g;
  // A UDP flow gets only what Linux's UDP would: checksums first.
  if (!raw) {
    const CsumVerdict verdict = check_rx_checksums(m, p, v.csum);
    if (verdict != CsumVerdict::ok) [[unlikely]] {
      b.drop_bad_csum(m, verdict);
      return;
    }
  }
  const uint32_t skip0 = raw ? 0 : p.payload_off;
  const uint32_t left0 = raw ? m->pkt_len : p.payload_len;
  if (!v.area) {
    b.no_buffers++;
    b.drop(m);
    return;
  }
  // The common case first: one segment, a niov of the area, in bounds,
  // with bytes to deliver past the headers. Everything else (chains,
  // foreign buffers, bad lengths, empty datagrams) takes the general path,
  // as does every packet in copy mode (none is in the area).
  if (!kCopy && m->next == nullptr) {
    const uint32_t idx = v.map.niov_of(m);
    const uint32_t dl = m->data_len;
    const uint32_t doff = m->data_off;
    if (idx != UINT32_MAX && doff + dl <= v.buf_room && skip0 < dl && left0 != 0) {
      if (!ring->reserve(req->limited ? 2u : 1u)) {
        b.cq_full++;
        ring->count_overflow();
        b.drop(m);
        return;
      }
      const uint32_t len = dl - skip0 < left0 ? dl - skip0 : left0;
      m->pkt_len = dl;  // held alone until the consumer refills it
      m->nb_segs = 1;
      const uint64_t off = req->entry->deliver(idx, v.payload_bias + doff + skip0);
      b.bytes += ring->post_data(*req, len, off, tsc, /*last=*/true);
      b.whole++;
      return;
    }
  }
  // First pass: check every segment and count the CQEs and the niovs the
  // packet needs, so that it is delivered whole or not at all.
  //  - A niov of the bound area is delivered in place; it must lie inside
  //    its niov: a PMD that sets data_len past the buffer (net_null with
  //    size > the data room does) would otherwise have us post a CQE
  //    reaching into the next niov, or past the area.
  //  - Any other buffer (net_ring hands over the sender's mbufs) is copied
  //    into free niovs of the area, one per niov-sized chunk.
  AreaPool* const pool = s.pool;
  uint32_t cqes = 0, copies = 0;
  {
    uint32_t skip = skip0, left = left0;
    for (const rte_mbuf* seg = m; seg; seg = seg->next) {
      const uint32_t dl = seg->data_len;
      const bool own = !kCopy && pool->niov_of(seg) != UINT32_MAX;
      const uint32_t room = own ? pool->buf_room() : seg->buf_len;
      if (uint32_t{seg->data_off} + dl > room) {
        b.bad_len++;
        b.drop(m);
        return;
      }
      if (skip >= dl || left == 0) {
        skip -= skip >= dl ? dl : skip;
        continue;
      }
      const uint32_t len = dl - skip < left ? dl - skip : left;
      left -= len;
      skip = 0;
      const uint32_t n = own ? 1 : copy_niovs_needed(len, pool->buf_room());
      cqes += n;
      if (!own) copies += n;
    }
  }
  if (left0 == 0) {
    b.empty++;  // nothing to deliver: an empty datagram
    b.drop(m);
    return;
  }
  if (!ring->reserve(cqes + (req->limited ? 1u : 0u))) {
    b.cq_full++;
    ring->count_overflow();
    b.drop(m);
    return;
  }
  if (copies && !b.stash.reserve(*pool, copies, kCopyBatch)) {
    b.no_buffers++;  // the area is exhausted
    b.drop(m);
    return;
  }
  uint64_t bytes = 0, copied_bytes = 0;
  uint32_t niovs = 0, copied = 0;
  // The CQE that brings the count to `cqes` ends the datagram.
  uint32_t skip = skip0, left = left0;
  rte_mbuf* seg = m;
  while (seg) {
    rte_mbuf* next = seg->next;
    // Each segment becomes an independent mbuf: it is held (one niov) until
    // the consumer refills it, then freed alone.
    seg->next = nullptr;
    seg->nb_segs = 1;
    seg->pkt_len = seg->data_len;
    const uint32_t dl = seg->data_len;
    if (skip >= dl || left == 0 || !req->armed) {
      skip -= skip >= dl ? dl : skip;
      b.drop(seg);  // headers only, Ethernet padding, or past the limit
      seg = next;
      continue;
    }
    const uint32_t len = dl - skip < left ? dl - skip : left;
    const uint32_t idx = kCopy ? UINT32_MAX : pool->niov_of(seg);
    if (idx != UINT32_MAX) {
      const uint64_t off = req->entry->deliver(idx, pool->payload_bias() + seg->data_off + skip);
      niovs++;
      bytes += ring->post_data(*req, len, off, tsc, niovs == cqes);
    } else {
      // Copy: the payload at offset 0 of fresh niovs; the foreign mbuf
      // goes back to its pool with the burst's other drops.
      const uint8_t* src = rte_pktmbuf_mtod_offset(seg, const uint8_t*, skip);
      const uint32_t chunk_max = pool->buf_room();
      for (uint32_t done = 0; done < len && req->armed;) {
        const uint32_t chunk = len - done < chunk_max ? len - done : chunk_max;
        const uint32_t c = b.stash.take();
        copy_into_niov(*pool, c, src + done, chunk);
        const uint64_t off = req->entry->deliver(c, pool->payload_bias());
        niovs++;
        const uint32_t got = ring->post_data(*req, chunk, off, tsc, niovs == cqes);
        // The ifq's copy counters, the registration's shared zcrx_stats
        // and, when armed, ZCRX_EVENT_COPY to its master ring.
        s.real->report_copy(got);
        bytes += got;
        copied_bytes += got;
        copied++;
        done += chunk;
      }
      b.drop(seg);
    }
    left -= len;
    skip = 0;
    seg = next;
  }
  b.delivered += niovs;
  b.bytes += bytes;
  b.packets++;
  if (copied) {
    b.copied += copied;
    b.copied_bytes += copied_bytes;
    b.copied_packets++;
  }
}

rte_mbuf* Datapath::reassemble(const Snapshot& s, rte_mbuf* m, ParsedPacket* p, uint32_t* g,
                               Burst& b) {
  if (fragment_refusal(*p)) {
    b.frag.invalid += m->nb_segs;
    b.drop(m);
    return nullptr;
  }
  // Linux checks every fragment's IPv4 header before it queues it.
  if (p->l3 == L3::ipv4 && !ipv4_header_ok(m, *p, cfg_.rx_csum)) {
    b.bad_ip_csum++;
    b.drop(m);
    return nullptr;
  }
  rte_mbuf* d = frag_.add(m, *p, rte_rdtsc(), b.frag);
  if (!d) return nullptr;
  // The whole datagram now: parsed and classified like any other (the UDP
  // header travelled in the first fragment).
  parse_packet(rte_pktmbuf_mtod(d, const uint8_t*), d->data_len, d->pkt_len, p);
  *g = s.flows.classify(*p);
  return d;
}

template <bool kCopy>
void Datapath::deliver_burst(const Snapshot& s, rte_mbuf** pkts, uint16_t n, uint64_t tsc,
                             Burst& b) {
  const BurstView v(s, cfg_.rx_csum);
  // Locals: the members would be reloaded after every store to an mbuf.
  ParsedPacket* const parsed = parsed_;
  uint32_t* const group = group_;
  for (uint32_t i = 0; i < n; i++) {
    rte_mbuf* m = pkts[i];
    if (group[i] >= kNotAFlow) [[unlikely]] {
      if (group[i] == kNoFlow) {
        b.drop_unclaimed(m, parsed[i]);
        continue;
      }
      if (group[i] == kTcpStack) {
        tcp_->input(m, parsed[i]);
        continue;
      }
      m = reassemble(s, m, &parsed[i], &group[i], b);
      if (!m) continue;
      if (group[i] == kNoFlow) {  // the whole datagram, reclassified
        b.drop_unclaimed(m, parsed[i]);
        continue;
      }
    }
    deliver<kCopy>(s, v, m, parsed[i], group[i], tsc, b);
  }
}

void Datapath::flush_fragments() {
  const uint64_t n = frag_.flush();
  // Control writes this counter, the loop never does: one writer.
  if (n) st_.dropped_frag_flushed.add(n);
}

template <bool kReassembly, bool kTcp>
void Datapath::classify_burst(const Snapshot& s, rte_mbuf** pkts, uint16_t n) {
  // The next packet's headers and the mbuf after it are prefetched: both
  // are cold when the PMD wrote them on another core (or the NIC without
  // DDIO). Prefetching the whole burst's headers up front instead was 5 %
  // slower in bench_datapath_loop BM_Loop (0.948x to undo it, 8 pairs).
  ParsedPacket* const parsed = parsed_;  // members: not re-initialised per burst
  uint32_t* const group = group_;
  // Without 5-tuple flows a UDP datagram's group is a function of its IP
  // version and destination port: the packets of a burst that repeat the
  // previous one's take its group without a table lookup.
  const bool by_port = !s.flows.has_tuples();
  uint32_t last_key = UINT32_MAX;  // no (version, port) word is this
  uint32_t last_group = kNoFlow;
  if (n > 1) rte_prefetch0(pkts[1]);
  for (uint16_t i = 0; i < n; i++) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    if (i + 2 < n) rte_prefetch0(pkts[i + 2]);
    rte_mbuf* m = pkts[i];
    ParsedPacket& p = parsed[i];
    parse_packet(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, &p);
    if (by_port && p.is_udp) [[likely]] {
      const uint32_t key = uint32_t{static_cast<uint8_t>(p.l3)} << 16 | p.dst_port;
      if (key != last_key) {
        last_group = s.flows.classify(p);
        last_key = key;
      }
      group[i] = last_group;
    } else {
      group[i] = kReassembly && p.kind == PacketKind::fragment ? kReassemble : s.flows.classify(p);
    }
    if constexpr (kTcp) {
      if (p.kind != PacketKind::udp && tcp_->claims(m, p)) group[i] = kTcpStack;
    }
  }
}

uint32_t Datapath::receive(const Snapshot& s) {
  // Fragments that waited past their time go back even while nothing
  // arrives; nothing to look at (no TSC read) while none is held.
  if (frag_.held()) [[unlikely]] {
    FragCounts c;
    frag_.expire(rte_rdtsc(), c);
    frag_.free_dropped();
    if (c.timeout) st_.dropped_frag_timeout.add(c.timeout);
  }
  rte_mbuf* pkts[kMaxBurst];
  profile::lap(profile::kIteration);
  uint16_t n = rte_eth_rx_burst(cfg_.port, cfg_.queue, pkts,
                                static_cast<uint16_t>(cfg_.burst));
  profile::lap(profile::kRxBurst);
  if (!n) return 0;
  uint64_t tsc = cfg_.rx_timestamp ? rte_rdtsc() : 0;
  st_.rx.add(n);
  Burst b;
  // Two passes: first parse and classify the whole burst (independent
  // work per packet), then deliver in order. Fragments are reassembled
  // when a UDP flow may want them (without one they are frames like any
  // other, a raw flow's), and the TCP endpoint claims what it owns among
  // frames that are not UDP: the snapshot and the endpoint decide which
  // once per burst, so a feature that is off costs no branch per packet.
  const bool reassembly = s.flows.has_udp();
  if (tcp_) [[unlikely]] {
    if (reassembly) classify_burst<true, true>(s, pkts, n);
    else classify_burst<false, true>(s, pkts, n);
  } else if (reassembly) {
    classify_burst<true, false>(s, pkts, n);
  } else {
    classify_burst<false, false>(s, pkts, n);
  }
  profile::lap(profile::kParse);
  // The snapshot picks the path: no per-packet mode check.
  if (s.copy) deliver_burst<true>(s, pkts, n, tsc, b);
  else deliver_burst<false>(s, pkts, n, tsc, b);
  profile::lap(profile::kDeliver);
  // Niovs the copies did not use go back before the mbufs are freed.
  b.stash.release();
  b.flush();
  frag_.free_dropped();
  b.publish(st_);
  if (b.no_buffers && s.real) s.real->report_no_buffers();  // once per burst
  if (b.bad_udp_csum && cfg_.partial_csum_hint && !csum_hinted_) [[unlikely]] {
    print_partial_csum_hint(cfg_.port);  // once: a syscall, off the fast path
    csum_hinted_ = true;
  }
  profile::lap(profile::kFree);
  return n;
}

bool Datapath::poll_once() {
  // seq_cst increment then seq_cst load of the snapshot: see synchronize().
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  Snapshot* s = cur_.load(std::memory_order_seq_cst);
  const uint64_t now = rte_rdtsc();
  profile::start();
  if (s->seq != adopted_seq_) adopt(*s, now);
  st_.loops.add(1);
  take_call();
  if (tcp_) tcp_->begin_iteration(s->pool, s->real, s->copy, now);

  drain_wakes(now);
  const uint32_t sqes = poll_sqs(now);
  if (sqes) st_.sqes.add(sqes);
  // Armed requests change with SQEs and completions of any ring: counted
  // over all of them, but only while the gate waits for them and every
  // 1024 iterations for the stats (idle rings must cost nothing).
  if (!gate_open_ || (++count_tick_ & 1023) == 0) {
    uint32_t armed = 0;
    for (RingDp* r : s->rings) armed += r->armed_count();
    armed_.store(armed, std::memory_order_relaxed);  // relaxed: a statistic
    if (!gate_open_ && armed >= cfg_.rx_gate) gate_open_ = true;
  }

  bool worked = sqes != 0;
  profile::lap(profile::kIteration);
  const uint32_t refilled = refill(*s);
  worked |= refilled != 0;
  profile::lap(profile::kRefill);

  bool poll = s->rx && gate_open_;
  if (poll && cfg_.gate_on_free_buffers && s->pool) {
    // A virtual PMD allocates while it receives and drops what it cannot
    // place: poll only when a whole burst fits, so a slow consumer slows
    // the source instead of losing packets. The area pool's free niovs
    // decide, in copy mode too: the PMD's private pool refills as soon as
    // a burst is copied, the area only when consumers refill.
    bool room = s->pool->available_here() >= cfg_.burst;
    if (!room) {
      // The first starved iteration counts; later ones only re-raise the
      // event for a ring that re-armed it meanwhile.
      if (!starved_) s->real->report_no_buffers();
      else s->real->report_starved();
      st_.rx_polls_gated.add(1);
    }
    starved_ = !room;
    poll = room;
  }
  if (poll) worked |= receive(*s) != 0;
  // TCP timers, window updates and transmissions while the port runs.
  if (tcp_ && s->rx) worked |= tcp_->end_iteration(refilled);
  profile::lap(profile::kIteration);

  worked |= flush_rings();
  profile::lap(profile::kCqPublish);
  return worked;
}

void Datapath::run_call_raw(void (*fn)(void*), void* arg) {
  DpCall c;
  c.fn = fn;
  c.arg = arg;
  // seq_cst: ordered with the running_ loads below and the loop's store of
  // running_ (false) at its end, so a call posted as the loop stops is
  // either taken by it or taken back here.
  call_.store(&c, std::memory_order_seq_cst);
  for (;;) {
    if (c.done.load(std::memory_order_acquire)) return;  // acquire: the call's effects
    if (!running_.load(std::memory_order_seq_cst)) {
      DpCall* mine = &c;
      if (call_.compare_exchange_strong(mine, nullptr, std::memory_order_seq_cst)) {
        fn(arg);  // nobody polls: run it here
        return;
      }
    }
    std::this_thread::yield();
  }
}

void Datapath::take_call_slow() {
  DpCall* c = call_.exchange(nullptr, std::memory_order_acq_rel);  // acq_rel: see take_call
  if (!c) return;  // taken back by control (the loop was stopping)
  c->fn(c->arg);
  c->done.store(true, std::memory_order_release);  // release: the call's effects
}

void Datapath::run() {
  running_.store(true, std::memory_order_seq_cst);
  uint64_t last_tsc = rte_rdtsc();
  // acquire: pairs with control's release of stop_.
  while (!stop_.load(std::memory_order_acquire)) {
    bool worked = poll_once();
    // One TSC read per iteration prices it; iterations that did work count
    // as busy, so a polling core's cost can be charged by what it did.
    uint64_t now = rte_rdtsc();
    st_.total_cycles.add(now - last_tsc);
    if (worked) st_.busy_cycles.add(now - last_tsc);
    last_tsc = now;
  }
  // Control stops us only to tear everything down: nothing more to post.
  running_.store(false, std::memory_order_seq_cst);
}

}  // namespace zcrxd
