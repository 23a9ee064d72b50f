// SPDX-License-Identifier: MIT
// The counters lines: per queue and summed, and the outstanding-buffer
// figures of the exit line.
#include <cinttypes>
#include <cstdio>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "control.h"
#include "inject.h"
#include "port.h"

namespace zcrxd {

uint64_t Control::outstanding(uint32_t k) const {
  const DpStats& st = qs_->queue(k).stats;
  uint64_t delivered = st.delivered.get();
  uint64_t back = st.returned.get() + st.reclaimed.load(std::memory_order_relaxed);
  return delivered >= back ? delivered - back : 0;
}

uint64_t Control::outstanding() const {
  uint64_t sum = 0;
  for (uint32_t k = 0; k < qs_->size(); k++) sum += outstanding(k);
  return sum;
}

std::string Control::outstanding_per_queue() const {
  std::string s;
  for (uint32_t k = 0; k < qs_->size(); k++) {
    if (k) s += ',';
    s += std::to_string(qs_->queue(k).port.queue()) + ':' + std::to_string(outstanding(k));
  }
  return s;
}

void Control::print_counters(const char* tag, int queue, const char* mode, const DpStats& st,
                             uint64_t outstanding, uint32_t armed, size_t rings,
                             uint32_t awake) {
  // Cumulative datapath cycles: busy ones are those of iterations that
  // did work, so CPU cost can be compared with receivers that sleep.
  uint64_t busy = st.busy_cycles.get();
  uint64_t total = st.total_cycles.get();
  char q[24] = "";
  if (queue >= 0) std::snprintf(q, sizeof(q), " queue=%d", queue);
  std::printf("zcrxd: %s%s rx=%" PRIu64 " delivered=%" PRIu64 " bytes=%" PRIu64
              " copied=%" PRIu64 " copied_bytes=%" PRIu64
              " dropped_malformed=%" PRIu64 " dropped_not_udp=%" PRIu64
              " dropped_no_flow=%" PRIu64 " dropped_not_armed=%" PRIu64
              " dropped_bad_ip_csum=%" PRIu64 " dropped_bad_udp_csum=%" PRIu64
              " dropped_udp6_zero_csum=%" PRIu64 " reassembled=%" PRIu64
              " dropped_frag_timeout=%" PRIu64 " dropped_frag_table_full=%" PRIu64
              " dropped_frag_invalid=%" PRIu64 " dropped_frag_flushed=%" PRIu64
              " dropped_no_buffers=%" PRIu64
              " dropped_empty=%" PRIu64 " dropped_bad_len=%" PRIu64 " cq_full=%" PRIu64
              " refilled=%" PRIu64
              " returned=%" PRIu64 " reclaimed=%" PRIu64 " outstanding=%" PRIu64 " armed=%u rings=%zu"
              " rings_awake=%u"
              " busy_cycles=%" PRIu64 " total_cycles=%" PRIu64 " busy_pct=%.1f tsc_hz=%" PRIu64
              " mode=%s\n",
              tag, q, st.rx.get(), st.delivered.get(), st.delivered_bytes.get(),
              st.copied.get(), st.copied_bytes.get(),
              st.dropped_malformed.get(), st.dropped_not_udp.get(),
              st.dropped_no_flow.get(), st.dropped_not_armed.get(),
              st.dropped_bad_ip_csum.get(), st.dropped_bad_udp_csum.get(),
              st.dropped_udp6_zero_csum.get(), st.reassembled.get(),
              st.dropped_frag_timeout.get(), st.dropped_frag_table_full.get(),
              st.dropped_frag_invalid.get(), st.dropped_frag_flushed.get(),
              st.dropped_no_buffers.get(),
              st.dropped_empty.get(), st.dropped_bad_len.get(), st.cq_full.get(),
              st.refilled.get(),
              st.returned.get(), st.reclaimed.load(std::memory_order_relaxed),
              outstanding, armed, rings, awake, busy, total,
              total ? 100.0 * static_cast<double>(busy) / static_cast<double>(total) : 0.0,
              rte_get_tsc_hz(), mode);
}

namespace {

void add_counter(Counter& to, const Counter& from) { to.add(from.get()); }

// The sum of every queue's counters, for the all-queue line.
void add_stats(DpStats& to, const DpStats& from) {
  add_counter(to.rx, from.rx);
  add_counter(to.delivered, from.delivered);
  add_counter(to.delivered_bytes, from.delivered_bytes);
  add_counter(to.packets_delivered, from.packets_delivered);
  add_counter(to.copied, from.copied);
  add_counter(to.copied_bytes, from.copied_bytes);
  add_counter(to.packets_copied, from.packets_copied);
  add_counter(to.dropped_malformed, from.dropped_malformed);
  add_counter(to.dropped_not_udp, from.dropped_not_udp);
  add_counter(to.dropped_no_flow, from.dropped_no_flow);
  add_counter(to.dropped_not_armed, from.dropped_not_armed);
  add_counter(to.dropped_bad_ip_csum, from.dropped_bad_ip_csum);
  add_counter(to.dropped_bad_udp_csum, from.dropped_bad_udp_csum);
  add_counter(to.dropped_udp6_zero_csum, from.dropped_udp6_zero_csum);
  add_counter(to.reassembled, from.reassembled);
  add_counter(to.dropped_frag_timeout, from.dropped_frag_timeout);
  add_counter(to.dropped_frag_table_full, from.dropped_frag_table_full);
  add_counter(to.dropped_frag_invalid, from.dropped_frag_invalid);
  add_counter(to.dropped_frag_flushed, from.dropped_frag_flushed);
  add_counter(to.dropped_no_buffers, from.dropped_no_buffers);
  add_counter(to.dropped_empty, from.dropped_empty);
  add_counter(to.dropped_bad_len, from.dropped_bad_len);
  add_counter(to.cq_full, from.cq_full);
  add_counter(to.refilled, from.refilled);
  add_counter(to.returned, from.returned);
  add_counter(to.sqes, from.sqes);
  add_counter(to.loops, from.loops);
  add_counter(to.rx_polls_gated, from.rx_polls_gated);
  add_counter(to.busy_cycles, from.busy_cycles);
  add_counter(to.total_cycles, from.total_cycles);
  // relaxed: statistics.
  to.reclaimed.fetch_add(from.reclaimed.load(std::memory_order_relaxed),
                         std::memory_order_relaxed);
}

}  // namespace

void Control::print_stats(const char* tag) {
  DpStats sum;
  uint32_t armed = 0;
  uint32_t awake = 0;  // rings whose SQ is polled
  uint32_t copying = 0;  // queues served in copy mode
  for (uint32_t k = 0; k < qs_->size(); k++) {
    ServedQueue& q = qs_->queue(k);
    const bool copy = qs_->provider(k).copy_mode();
    copying += copy;
    add_stats(sum, q.stats);
    armed += q.dp.armed();
    awake += q.dp.rings_awake();
    if (qs_->size() > 1) {
      size_t rings = 0;  // the rings this queue's datapath serves
      for (auto& s : sessions_) rings += s->dp && !s->closing && ring_queue(*s) == k;
      print_counters(tag, q.port.queue(), copy ? "copy" : "zero-copy", q.stats, outstanding(k),
                     q.dp.armed(), rings, q.dp.rings_awake());
    }
  }
  const char* mode = copying == 0 ? "zero-copy" : copying == qs_->size() ? "copy" : "mixed";
  print_counters(tag, -1, mode, sum, outstanding(), armed, sessions_.size(), awake);
  // Bad input refused, by kind (the limits' refusals are logged one by one).
  const Rejects r = rejects();
  const LimitRefusals& lr = limits_.refusals();
  std::printf("zcrxd: %s rejects rqe_bad_token=%" PRIu64 " rqe_bad_index=%" PRIu64
              " rqe_no_ref=%" PRIu64 " rqe_wrong_owner=%" PRIu64 " rq_clamped=%" PRIu64
              " rings_broken=%" PRIu64 " limit_rings=%" PRIu64 " limit_exports=%" PRIu64
              " limit_entries=%" PRIu64 " limit_memory=%" PRIu64 "\n",
              tag, r.rqe_bad_token, r.rqe_bad_index, r.rqe_no_ref, r.rqe_wrong_owner,
              r.rq_clamped, r.rings_broken, lr.rings + lr.rings_per_uid,
              lr.exports + lr.exports_per_ring, lr.entries_per_uid, lr.region_memory);
  // The TCP endpoint of each queue (--ip).
  for (uint32_t k = 0; k < qs_->size(); k++) {
    const TcpStack* tcp = qs_->queue(k).dp.tcp();
    if (!tcp) continue;
    const TcpStats& t = tcp->stats();
    char q[24] = "";
    if (qs_->size() > 1) std::snprintf(q, sizeof(q), " queue=%u", qs_->queue(k).port.queue());
    std::printf("zcrxd: %s tcp%s conns_live=%" PRIu64 " listeners=%" PRIu64 " segs_in=%" PRIu64
                " segs_out=%" PRIu64 " bytes_delivered=%" PRIu64 " cqes=%" PRIu64
                " copied_segs=%" PRIu64 " retransmits=%" PRIu64 " rst_in=%" PRIu64
                " rst_out_no_conn=%" PRIu64 " challenge_acks=%" PRIu64 " bad_segments=%" PRIu64
                " drop_bad_ip_csum=%" PRIu64 " drop_bad_tcp_csum=%" PRIu64
                " drop_bad_header=%" PRIu64 " drop_no_buffers=%" PRIu64
                " syn_dropped_backlog=%" PRIu64 " accept_overflows=%" PRIu64
                " ooo_dropped=%" PRIu64 " rx_no_slot=%" PRIu64 " tx_no_route=%" PRIu64
                " tx_failed=%" PRIu64 " send_bytes=%" PRIu64 " send_waits=%" PRIu64
                " conns_ended=%" PRIu64 " arp_in=%" PRIu64 " icmp_in=%" PRIu64 "\n",
                tag, q, t.conns_live.get(), t.listeners_live.get(), t.segs_in.get(),
                t.segs_out.get(), t.bytes_delivered.get(), t.cqes.get(), t.copied_segs.get(),
                t.retransmits.get(), t.rst_in.get(), t.rst_out_no_conn.get(),
                t.challenge_acks.get(), t.bad_segments.get(), t.drop_bad_ip_csum.get(),
                t.drop_bad_tcp_csum.get(), t.drop_bad_header.get(), t.drop_no_buffers.get(),
                t.syn_dropped_backlog.get(), t.accept_overflows.get(), t.ooo_dropped.get(),
                t.rx_no_slot.get(), t.tx_no_route.get(), t.tx_failed.get(),
                t.send_bytes.get(), t.send_waits.get(), t.conns_ended.get(),
                t.arp_in.get(), t.icmp_in.get());
  }
  if (injector_)
    std::printf("zcrxd: %s inject injected=%" PRIu64 " waits=%" PRIu64 " loops=%" PRIu64
                " frames_per_loop=%zu\n",
                tag, injector_->injected(), injector_->waits(), injector_->loops_done(),
                injector_->frames());
  // What the device itself could not place (no free niov, ring full).
  rte_eth_stats es{};
  if (rte_eth_stats_get(dev_.id(), &es) == 0 && (es.rx_nombuf || es.imissed))
    std::printf("zcrxd: device(%s) rx_nombuf=%" PRIu64 " imissed=%" PRIu64 "\n", tag,
                es.rx_nombuf, es.imissed);
  std::fflush(stdout);
}

}  // namespace zcrxd
