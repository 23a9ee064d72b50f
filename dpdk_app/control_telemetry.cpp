// SPDX-License-Identifier: MIT
// The /zcrx/ telemetry commands (telemetry.h), answered on the control
// thread: every structure read here is the control thread's own, the
// datapath's counters are read relaxed (stats.h), and the index words of
// consumers' rings with relaxed atomic loads (another process writes them;
// whatever they say only goes into the reply).
#include <arpa/inet.h>
#include <rte_telemetry.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "area_pool.h"
#include "control.h"
#include "port.h"
#include "provider.h"
#include "tcp_stack.h"
#include "telemetry.h"

namespace zcrxd {

namespace core = zcrx::core;

namespace {

// A shared index word at byte `off` of a region we mapped (offsets that
// zcrxd laid out itself, 4-byte aligned).
uint32_t index_word(void* base, uint32_t off) {
  auto* w = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(base) + off);
  return std::atomic_ref<uint32_t>(*w).load(std::memory_order_relaxed);  // relaxed: a report
}

// A dict to nest in `parent` under `name` (one level: rte_telemetry 22.11
// does not render containers inside containers). nullptr when full.
rte_tel_data* child_dict(rte_tel_data* parent, const char* name) {
  rte_tel_data* c = rte_tel_data_alloc();
  if (!c) return nullptr;
  rte_tel_data_start_dict(c);
  if (rte_tel_data_add_dict_container(parent, name, c, 0) != 0) {
    rte_tel_data_free(c);
    return nullptr;
  }
  return c;
}

// The optional numeric parameter ("/zcrx/rings,3"): -1 none, -2 malformed.
long param_id(const char* params) {
  if (!params || !*params) return -1;
  char* end = nullptr;
  long v = std::strtol(params, &end, 10);
  return (*end || v < 0) ? -2 : v;
}

uint64_t dropped_total(const DpStats& st) {
  return st.dropped_malformed.get() + st.dropped_not_udp.get() + st.dropped_no_flow.get() +
         st.dropped_not_armed.get() + st.dropped_bad_ip_csum.get() +
         st.dropped_bad_udp_csum.get() + st.dropped_udp6_zero_csum.get() +
         st.dropped_frag_timeout.get() + st.dropped_frag_table_full.get() +
         st.dropped_frag_invalid.get() + st.dropped_frag_flushed.get() +
         st.dropped_no_buffers.get() + st.dropped_empty.get() + st.dropped_bad_len.get() +
         st.cq_full.get();
}

// Buffers users hold, by the entry slot they were delivered to. One pass
// over the area's niovs (a report: the control thread's time only).
using HeldBySlot = std::array<uint64_t, core::kMaxEntriesPerIfq>;
HeldBySlot held_by_slot(const core::Area* area) {
  HeldBySlot held{};
  if (area)
    for (uint32_t i = 0; i < area->num_niovs(); i++)
      if (area->user_refs(i) && area->owner_slot(i) < core::kMaxEntriesPerIfq)
        held[area->owner_slot(i)]++;
  return held;
}

const char* kind_name(core::IfqKind k) {
  switch (k) {
    case core::IfqKind::real: return "real";
    case core::IfqKind::proxy: return "clone";
    case core::IfqKind::import: return "import";
  }
  return "?";
}

std::string addr_text(uint8_t ipv, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(ipv == 6 ? AF_INET6 : AF_INET, a, buf, sizeof(buf));
  return buf;
}

std::string flow_text(const FlowKey& k) {
  switch (k.kind) {
    case FlowKind::raw: return "raw";
    case FlowKind::udp_port:
      return "udp" + (k.ip_version ? std::to_string(k.ip_version) : std::string()) + " port " +
             std::to_string(k.dst_port);
    case FlowKind::five_tuple:
      return "udp" + std::to_string(k.ip_version) + " " + addr_text(k.ip_version, k.src_addr) +
             ":" + std::to_string(k.src_port) + " > " + addr_text(k.ip_version, k.dst_addr) +
             ":" + std::to_string(k.dst_port);
  }
  return "?";
}

}  // namespace

int Control::telemetry(const char* cmd, const char* params, rte_tel_data* d) {
  if (!std::strcmp(cmd, "info")) return tel_info(d);
  if (!std::strcmp(cmd, "queues")) return tel_queues(params, d);
  if (!std::strcmp(cmd, "rings")) return tel_rings(params, d);
  if (!std::strcmp(cmd, "entries")) return tel_entries(d);
  if (!std::strcmp(cmd, "ifqs")) return tel_ifqs(d);
  if (!std::strcmp(cmd, "flows")) return tel_flows(d);
  if (!std::strcmp(cmd, "rejects")) return tel_rejects(d);
  if (!std::strcmp(cmd, "tcp")) return tel_tcp(d);
  return -ENOENT;
}

std::string Control::ifq_name(const Ifq* real) const {
  for (const auto& a : areas_)
    if (real && a->real == real) return "ifq" + std::to_string(a->id);
  return "-";
}

const Control::Session* Control::session_of(const core::Ctx* ctx) const {
  if (!ctx) return nullptr;
  for (const auto& s : sessions_)
    if (s->ctx == ctx) return s.get();
  return nullptr;
}

void Control::sample_rates() {
  const auto now = Clock::now();
  for (uint32_t k = 0; k < qs_->size(); k++) {
    auto& r = rates_[k];
    if (now - r[1].t < std::chrono::seconds(1)) continue;
    const DpStats& st = qs_->queue(k).stats;
    r[0] = r[1];
    r[1] = {now, st.rx.get(), st.delivered.get(), st.delivered_bytes.get(), dropped_total(st)};
  }
}

int Control::tel_info(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "socket", opt_.socket_path.c_str());
  rte_tel_data_add_dict_int(d, "port", dev_.id());
  rte_tel_data_add_dict_string(d, "driver", dev_.driver());
  std::string q;
  for (uint32_t k = 0; k < qs_->size(); k++)
    q += (k ? "," : "") + std::to_string(qs_->queue(k).port.queue());
  rte_tel_data_add_dict_string(d, "queues", q.c_str());
  rte_tel_data_add_dict_u64(d, "rings", sessions_.size());
  rte_tel_data_add_dict_u64(d, "rings_total", sessions_total_);
  rte_tel_data_add_dict_u64(d, "ifqs", areas_.size());
  rte_tel_data_add_dict_u64(d, "exports", exports_.size());
  rte_tel_data_add_dict_u64(d, "outstanding", outstanding());
  rte_tel_data_add_dict_u64(d, "max_rings", limits_.config().max_rings);
  return 0;
}

int Control::tel_queues(const char* params, rte_tel_data* d) {
  const long want = param_id(params);
  if (want == -2) return -EINVAL;
  rte_tel_data_start_dict(d);
  for (uint32_t k = 0; k < qs_->size(); k++) {
    ServedQueue& q = qs_->queue(k);
    if (want >= 0 && q.port.queue() != want) continue;
    rte_tel_data* c = child_dict(d, std::to_string(q.port.queue()).c_str());
    if (!c) return -ENOSPC;
    const DpStats& st = q.stats;
    rte_tel_data_add_dict_string(c, "pmd", dev_.driver());
    rte_tel_data_add_dict_string(c, "mode", qs_->provider(k).copy_mode() ? "copy" : "zero-copy");
    rte_tel_data_add_dict_int(c, "polled", polled_[k]);
    // Per second over the last full second the control loop sampled.
    const auto& r = rates_[k];
    const double secs = std::chrono::duration<double>(r[1].t - r[0].t).count();
    auto rate = [&](uint64_t a, uint64_t b) {
      return r[0].t == Clock::time_point{} || secs <= 0 ? 0 : uint64_t((b - a) / secs);
    };
    rte_tel_data_add_dict_u64(c, "rx_pps", rate(r[0].rx, r[1].rx));
    rte_tel_data_add_dict_u64(c, "delivered_pps", rate(r[0].delivered, r[1].delivered));
    rte_tel_data_add_dict_u64(c, "delivered_bps", 8 * rate(r[0].bytes, r[1].bytes));
    rte_tel_data_add_dict_u64(c, "dropped_pps", rate(r[0].dropped, r[1].dropped));
    const struct {
      const char* name;
      const Counter& v;
    } counters[] = {
        {"rx", st.rx},
        {"delivered", st.delivered},
        {"delivered_bytes", st.delivered_bytes},
        {"packets_delivered", st.packets_delivered},
        {"copied", st.copied},
        {"copied_bytes", st.copied_bytes},
        {"packets_copied", st.packets_copied},
        {"dropped_malformed", st.dropped_malformed},
        {"dropped_not_udp", st.dropped_not_udp},
        {"dropped_no_flow", st.dropped_no_flow},
        {"dropped_not_armed", st.dropped_not_armed},
        {"dropped_bad_ip_csum", st.dropped_bad_ip_csum},
        {"dropped_bad_udp_csum", st.dropped_bad_udp_csum},
        {"dropped_udp6_zero_csum", st.dropped_udp6_zero_csum},
        {"reassembled", st.reassembled},
        {"dropped_frag_timeout", st.dropped_frag_timeout},
        {"dropped_frag_table_full", st.dropped_frag_table_full},
        {"dropped_frag_invalid", st.dropped_frag_invalid},
        {"dropped_frag_flushed", st.dropped_frag_flushed},
        {"dropped_no_buffers", st.dropped_no_buffers},
        {"dropped_empty", st.dropped_empty},
        {"dropped_bad_len", st.dropped_bad_len},
        {"cq_full", st.cq_full},
        {"refilled", st.refilled},
        {"returned", st.returned},
        {"sqes", st.sqes},
        {"loops", st.loops},
        {"rx_polls_gated", st.rx_polls_gated},
    };
    for (const auto& e : counters) rte_tel_data_add_dict_u64(c, e.name, e.v.get());
    rte_tel_data_add_dict_u64(c, "reclaimed", st.reclaimed.load(std::memory_order_relaxed));
    rte_tel_data_add_dict_u64(c, "outstanding", outstanding(k));
    rte_tel_data_add_dict_u64(c, "armed", q.dp.armed());
    rte_tel_data_add_dict_u64(c, "rings_awake", q.dp.rings_awake());
    const uint64_t busy = st.busy_cycles.get(), total = st.total_cycles.get();
    rte_tel_data_add_dict_u64(c, "busy_permille", total ? 1000 * busy / total : 0);
  }
  return 0;
}

int Control::tel_rings(const char* params, rte_tel_data* d) {
  const long want = param_id(params);
  if (want == -2) return -EINVAL;
  rte_tel_data_start_dict(d);
  for (const auto& sp : sessions_) {
    const Session& s = *sp;
    if (want >= 0 && s.id != static_cast<uint64_t>(want)) continue;
    rte_tel_data* c = child_dict(d, std::to_string(s.id).c_str());
    if (!c) break;  // more rings than one reply holds: ask by id
    rte_tel_data_add_dict_int(c, "pid", s.pid);
    rte_tel_data_add_dict_u64(c, "uid", s.uid);
    const char* state = s.refuse                       ? "refused"
                        : s.closing                    ? "closing"
                        : !s.ctx                       ? "no_ring"
                        : (s.dp && s.dp->broken())     ? "broken"
                                                       : "live";
    rte_tel_data_add_dict_string(c, "state", state);
    // The datapath stopped polling its idle SQ (SQ_WAKEUP brings it back).
    rte_tel_data_add_dict_int(c, "sq_asleep", s.dp && s.dp->sq_asleep());
    rte_tel_data_add_dict_int(
        c, "rx_queue", s.queue < 0 ? -1 : qs_->queue(static_cast<uint32_t>(s.queue)).port.queue());
    uint32_t entries = 0;
    if (s.ctx)
      for (uint32_t id = 0; id < core::kMaxZcrxPerCtx; id++) entries += s.ctx->lookup(id) != nullptr;
    rte_tel_data_add_dict_u64(c, "entries", entries);
    rte_tel_data_add_dict_u64(c, "sq_entries", s.layout.sq_entries);
    rte_tel_data_add_dict_u64(c, "cq_entries", s.layout.cq_entries);
    if (s.ring.base) {
      const auto& l = s.layout;
      // Unsigned differences: what the consumer wrote may be anything.
      rte_tel_data_add_dict_u64(c, "sq_pending", index_word(s.ring.base, l.sq_off.tail) -
                                                     index_word(s.ring.base, l.sq_off.head));
      rte_tel_data_add_dict_u64(c, "cq_fill", index_word(s.ring.base, l.cq_off.tail) -
                                                  index_word(s.ring.base, l.cq_off.head));
      rte_tel_data_add_dict_u64(c, "cq_overflow", index_word(s.ring.base, l.cq_off.overflow));
    }
    uint32_t flows = 0;
    for (const FlowRef& f : s.flows) flows += f.open;
    rte_tel_data_add_dict_u64(c, "flows", flows);
    rte_tel_data_add_dict_u64(c, "armed", s.dp ? s.dp->armed_count() : 0);
    rte_tel_data_add_dict_u64(c, "exports", s.exports);
    rte_tel_data_add_dict_int(c, "eventfd", s.eventfd != nullptr);
    rte_tel_data_add_dict_u64(c, "region_bytes", s.region_bytes);
  }
  return 0;
}

int Control::tel_entries(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  std::map<const Ifq*, HeldBySlot> held_of;  // per real ifq, counted once
  for (const auto& sp : sessions_) {
    const Session& s = *sp;
    if (!s.ctx) continue;
    for (uint32_t id = 0; id < core::kMaxZcrxPerCtx; id++) {
      const Ifq* e = s.ctx->lookup(id);
      if (!e) continue;
      const std::string name = "r" + std::to_string(s.id) + "_z" + std::to_string(id);
      rte_tel_data* c = child_dict(d, name.c_str());
      if (!c) return 0;
      const Ifq& real = e->target();
      rte_tel_data_add_dict_u64(c, "ring", s.id);
      rte_tel_data_add_dict_u64(c, "zcrx_id", id);
      rte_tel_data_add_dict_string(c, "kind", kind_name(e->kind()));
      rte_tel_data_add_dict_string(c, "ifq", ifq_name(&real).c_str());
      rte_tel_data_add_dict_int(c, "live", e->live());
      const auto& rl = e->rq_layout();
      rte_tel_data_add_dict_u64(c, "rq_entries", rl.rq_entries);
      if (e->rq_base())
        rte_tel_data_add_dict_u64(c, "rq_fill", index_word(e->rq_base(), rl.off.tail) -
                                                    index_word(e->rq_base(), rl.off.head));
      // Buffers this entry's users hold: niovs with a user reference whose
      // owner is this entry's slot.
      auto it = held_of.find(&real);
      if (it == held_of.end()) it = held_of.emplace(&real, held_by_slot(real.area())).first;
      const bool counted = e->live() && e->slot() < core::kMaxEntriesPerIfq;
      rte_tel_data_add_dict_u64(c, "held", counted ? it->second[e->slot()] : 0);
      const core::IfqStats st = e->stats();
      rte_tel_data_add_dict_u64(c, "delivered", st.delivered);
      rte_tel_data_add_dict_u64(c, "refilled", st.refilled);
      rte_tel_data_add_dict_u64(c, "reclaimed", st.reclaimed);
      rte_tel_data_add_dict_u64(c, "rqe_bad_token", st.rqe_bad_token);
      rte_tel_data_add_dict_u64(c, "rqe_bad_index", st.rqe_bad_index);
      rte_tel_data_add_dict_u64(c, "rqe_no_ref", st.rqe_no_ref);
      rte_tel_data_add_dict_u64(c, "rqe_wrong_owner", st.rqe_wrong_owner);
      rte_tel_data_add_dict_u64(c, "rq_clamped", st.rq_clamped);
    }
  }
  return 0;
}

int Control::tel_ifqs(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (const auto& ap : areas_) {
    const AreaRec& a = *ap;
    if (!a.real) continue;  // its ifq is gone; the area waits for its buffers
    const Ifq& real = *a.real;
    rte_tel_data* c = child_dict(d, ("ifq" + std::to_string(a.id)).c_str());
    if (!c) break;
    rte_tel_data_add_dict_int(c, "rx_queue", real.if_rxq());
    rte_tel_data_add_dict_int(c, "nodev", real.nodev());
    const Session* reg = session_of(real.ctx());
    const Session* master = session_of(real.master_ctx());
    rte_tel_data_add_dict_int(c, "ring", reg ? static_cast<int>(reg->id) : -1);
    rte_tel_data_add_dict_int(c, "master_ring", master ? static_cast<int>(master->id) : -1);
    rte_tel_data_add_dict_u64(c, "owner_uid", a.owner);
    rte_tel_data_add_dict_u64(c, "refs", real.refs());
    rte_tel_data_add_dict_u64(c, "user_refs", real.user_refs());
    const core::Area* area = real.area();
    rte_tel_data_add_dict_u64(c, "area_bytes", a.map.len);
    // Who made the area, and where its mbuf headers live (area_pool.h).
    rte_tel_data_add_dict_string(c, "area_maker", a.charged ? "zcrxd" : "consumer");
    rte_tel_data_add_dict_string(c, "pool", !a.pool             ? "none"
                                            : a.pool->in_area() ? "in-area"
                                                                : "extbuf");
    rte_tel_data_add_dict_u64(c, "buf_len", area ? 1ull << area->niov_shift() : 0);
    rte_tel_data_add_dict_u64(c, "buffers", area ? area->num_niovs() : 0);
    rte_tel_data_add_dict_u64(c, "free", a.pool ? a.pool->available() : 0);
    rte_tel_data_add_dict_u64(c, "held_by_users", area ? area->held_by_users() : 0);
    // Held per live entry, by slot, under the entry's name (r<ring>_z<id>).
    const HeldBySlot held = held_by_slot(area);
    uint32_t members = 0;
    for (const auto& sp : sessions_) {
      if (!sp->ctx) continue;
      for (uint32_t id = 0; id < core::kMaxZcrxPerCtx; id++) {
        const Ifq* e = sp->ctx->lookup(id);
        if (!e || &e->target() != &real || !e->live()) continue;
        members++;
        const std::string n = "held_r" + std::to_string(sp->id) + "_z" + std::to_string(id);
        rte_tel_data_add_dict_u64(c, n.c_str(),
                                  e->slot() < core::kMaxEntriesPerIfq ? held[e->slot()] : 0);
      }
    }
    rte_tel_data_add_dict_u64(c, "members", members);
    const core::IfqStats st = real.stats();
    rte_tel_data_add_dict_u64(c, "no_buffers", st.no_buffers);
    rte_tel_data_add_dict_u64(c, "scrubbed", st.scrubbed);
    rte_tel_data_add_dict_u64(c, "copies", st.copies);
    rte_tel_data_add_dict_u64(c, "events_posted", st.events_posted);
    rte_tel_data_add_dict_u64(c, "events_lost", st.events_lost);
  }
  return 0;
}

int Control::tel_flows(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (const auto& sp : sessions_) {
    for (uint32_t h = 0; h < kMaxFlowsPerRing; h++) {
      const FlowRef& f = sp->flows[h];
      if (!f.open) continue;
      const std::string name = "r" + std::to_string(sp->id) + "_h" + std::to_string(h);
      rte_tel_data* c = child_dict(d, name.c_str());
      if (!c) return 0;
      rte_tel_data_add_dict_u64(c, "ring", sp->id);
      rte_tel_data_add_dict_u64(c, "handle", h);
      rte_tel_data_add_dict_string(c, "key", flow_text(f.key).c_str());
      rte_tel_data_add_dict_string(c, "ifq", ifq_name(f.real).c_str());
      size_t members = 0;
      for (const auto& [k, g] : groups_)
        for (const auto& m : g.members)
          if (m.first == sp.get() && m.second == h) members = g.members.size();
      rte_tel_data_add_dict_u64(c, "group_members", members);
    }
  }
  return 0;
}

int Control::tel_rejects(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  const Rejects r = rejects();
  rte_tel_data_add_dict_u64(d, "rqe_bad_token", r.rqe_bad_token);
  rte_tel_data_add_dict_u64(d, "rqe_bad_index", r.rqe_bad_index);
  rte_tel_data_add_dict_u64(d, "rqe_no_ref", r.rqe_no_ref);
  rte_tel_data_add_dict_u64(d, "rqe_wrong_owner", r.rqe_wrong_owner);
  rte_tel_data_add_dict_u64(d, "rq_clamped", r.rq_clamped);
  rte_tel_data_add_dict_u64(d, "rings_broken", r.rings_broken);
  const LimitRefusals& lr = limits_.refusals();
  rte_tel_data_add_dict_u64(d, "limit_rings", lr.rings);
  rte_tel_data_add_dict_u64(d, "limit_rings_per_uid", lr.rings_per_uid);
  rte_tel_data_add_dict_u64(d, "limit_exports", lr.exports);
  rte_tel_data_add_dict_u64(d, "limit_exports_per_ring", lr.exports_per_ring);
  rte_tel_data_add_dict_u64(d, "limit_entries_per_uid", lr.entries_per_uid);
  rte_tel_data_add_dict_u64(d, "limit_memory", lr.region_memory);
  // Requests answered with an error, by errno name.
  for (const auto& [err, n] : refused_by_errno_) {
    const char* en = strerrorname_np(err);
    const std::string name = std::string("request_") + (en ? en : std::to_string(err).c_str());
    rte_tel_data_add_dict_u64(d, name.c_str(), n);
  }
  return 0;
}

int Control::tel_tcp(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (uint32_t k = 0; k < qs_->size(); k++) {
    const TcpStack* tcp = qs_->queue(k).dp.tcp();
    if (!tcp) continue;
    rte_tel_data* c = child_dict(d, std::to_string(qs_->queue(k).port.queue()).c_str());
    if (!c) return -ENOSPC;
    const TcpStats& t = tcp->stats();
    const struct {
      const char* name;
      const Counter& v;
    } counters[] = {
        {"conns_live", t.conns_live},       {"listeners", t.listeners_live},
        {"segs_in", t.segs_in},             {"segs_out", t.segs_out},
        {"bytes_delivered", t.bytes_delivered}, {"cqes", t.cqes},
        {"copied_segs", t.copied_segs},     {"retransmits", t.retransmits},
        {"rst_in", t.rst_in},               {"rst_out_no_conn", t.rst_out_no_conn},
        {"challenge_acks", t.challenge_acks}, {"bad_segments", t.bad_segments},
        {"drop_bad_ip_csum", t.drop_bad_ip_csum}, {"drop_bad_tcp_csum", t.drop_bad_tcp_csum},
        {"drop_bad_header", t.drop_bad_header}, {"drop_no_buffers", t.drop_no_buffers},
        {"syn_dropped_backlog", t.syn_dropped_backlog},
        {"accept_overflows", t.accept_overflows}, {"ooo_dropped", t.ooo_dropped},
        {"rx_no_slot", t.rx_no_slot},       {"tx_no_route", t.tx_no_route},
        {"tx_failed", t.tx_failed},         {"send_bytes", t.send_bytes},
        {"send_waits", t.send_waits},       {"conns_ended", t.conns_ended},
        {"arp_in", t.arp_in},               {"icmp_in", t.icmp_in},
    };
    for (const auto& e : counters) rte_tel_data_add_dict_u64(c, e.name, e.v.get());
  }
  return 0;
}

}  // namespace zcrxd
