// SPDX-License-Identifier: MIT
// The reference model's rules, in the order docs/ARCHITECTURE.md lists
// them. Every function is a direct transcription of one rule; nothing here
// is shared with the engine.
#include "model.h"

#include <cassert>

namespace zcrx::model {

namespace {

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint32_t round_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

constexpr uint32_t kMaxRq = 32768;  // IO_RQ_MAX_ENTRIES
constexpr uint32_t kPage = 4096;

}  // namespace

uint32_t niov_shift_of(uint32_t rx_buf_len) {
  uint32_t len = rx_buf_len == 0 ? kPage : rx_buf_len;
  uint32_t shift = 0;
  while ((1u << shift) < len) shift++;
  return shift;
}

// ---- rings ------------------------------------------------------------------

int Model::create_ctx() {
  Ctx c;
  c.refs = 1;  // the ring's own reference, dropped by terminate
  ctxs_.push_back(c);
  totals_.ctxs_live++;
  return static_cast<int>(ctxs_.size()) - 1;
}

int Model::lookup(int c, uint32_t id) const {
  const Ctx& x = ctxs_[c];
  if (id >= x.table.size()) return kNone;
  return x.table[id];
}

// Lowest id not in use (the kernel's xa_alloc); kMaxIds when full.
uint32_t Model::free_id(int c) const {
  const Ctx& x = ctxs_[c];
  for (uint32_t id = 0; id < kMaxIds; id++)
    if (id >= x.table.size() || x.table[id] == kNone) return id;
  return kMaxIds;
}

int Model::add_entry(int c, Kind kind, int r, uint32_t id) {
  Entry e;
  e.kind = kind;
  e.ctx = c;
  e.zcrx_id = id;
  e.real = r;
  e.live = true;
  e.rq_entries = reals_[r].rq_entries;
  e.slots.resize(e.rq_entries);
  entries_.push_back(e);
  int ei = static_cast<int>(entries_.size()) - 1;
  Ctx& x = ctxs_[c];
  if (x.table.size() <= id) x.table.resize(id + 1, kNone);
  x.table[id] = ei;
  reals_[r].live_entries++;
  if (kind != Kind::real) totals_.entries_live++;
  return ei;
}

// terminate: io_terminate_zcrx, io_shutdown_zcrx_ifqs, then the final put.
void Model::terminate_ctx(int c) {
  ctxs_[c].terminated = true;
  const std::vector<int> table = ctxs_[c].table;
  // 1. every real and import entry: unregister the user, then the entry
  //    leaves the datapath table (its buffers are reclaimed).
  for (int e : table) {
    if (e == kNone || entries_[e].kind == Kind::proxy) continue;
    unregister_user(entries_[e].real, c);
    entry_away(e);
  }
  // 2. shutdown: a real with refs > 1 is skipped (the others were closed in
  //    step 1 when their last user went); a proxy unregisters its user and
  //    goes away (the same order as step 1: when it was the last user the
  //    scrub takes its buffers back), then drops its references on the real
  //    and the source ring.
  for (int e : table) {
    if (e == kNone || entries_[e].kind != Kind::proxy || entries_[e].shut) continue;
    Entry& p = entries_[e];
    unregister_user(p.real, c);
    entry_away(e);
    p.shut = true;
    put_real(p.real);
    if (p.src_ctx != kNone) put_ctx(p.src_ctx);
  }
  // 3. the ring's own reference.
  put_ctx(c);
}

void Model::put_ctx(int c) {
  Ctx& x = ctxs_[c];
  assert(x.refs > 0);
  if (--x.refs != 0) return;
  x.freed = true;
  totals_.ctxs_live--;
  // io_unregister_zcrx_ifqs: each real/import entry puts its reference on
  // its real ifq (proxies dropped theirs at shutdown).
  for (int e : x.table) {
    if (e == kNone) continue;
    Entry& en = entries_[e];
    if (en.kind != Kind::proxy) put_real(en.real);
    if (en.kind != Kind::real) {
      en.freed = true;
      totals_.entries_live--;
    }
  }
}

// ---- ifq lifetime -------------------------------------------------------------

// zcrx_unregister_user: the master is cleared only by the master itself;
// the last user closes the queue and scrubs.
void Model::unregister_user(int r, int c) {
  Real& q = reals_[r];
  if (c != kNone && q.master == c) {
    q.master = kNone;
    put_ctx(c);
  }
  assert(q.user_refs > 0);
  if (--q.user_refs == 0) {
    q.open = false;
    scrub(r);
  }
}

void Model::scrub(int r) {
  Real& q = reals_[r];
  for (Niov& n : q.niovs) {
    if (n.user_refs == 0) continue;
    n.user_refs = 0;
    n.owner = kNone;
    q.scrubbed++;
    totals_.niovs_scrubbed++;
  }
}

void Model::put_real(int r) {
  Real& q = reals_[r];
  assert(q.refs > 0);
  if (--q.refs != 0) return;
  q.freed = true;
  totals_.ifqs_live--;
  if (q.master != kNone) totals_.free_with_master_set++;
}

// An entry leaves the datapath table; what it still holds comes back.
void Model::entry_away(int e) {
  Entry& en = entries_[e];
  if (!en.live) return;
  en.live = false;
  Real& q = reals_[en.real];
  q.live_entries--;
  for (Niov& n : q.niovs) {
    if (n.user_refs == 0 || n.owner != e) continue;
    n.user_refs = 0;
    n.owner = kNone;
    en.stats.reclaimed++;
    totals_.niovs_reclaimed++;
  }
}

// ---- registration -------------------------------------------------------------

int Model::register_ifq(int c, const RegSpec& s, int* real_out) {
  *real_out = kNone;
  const uint32_t buf = s.rx_buf_len == 0 ? kPage : s.rx_buf_len;
  const uint64_t len = uint64_t{s.num_niovs} * buf + s.area_len_extra;
  const bool nodev = (s.flags & kRegNodev) != 0;
  // io_register_zcrx's order: the registration's own words, the device-less
  // rule, the event descriptor; then the id, the RQ region, the device
  // lookup; then the area (niov size first); then the queue.
  if (s.resv_nonzero || (s.flags & ~kRegNodev) != 0 || s.rq_entries == 0) return -kEINVAL;
  if (nodev && (s.port != 0 || s.rxq != 0)) return -kEINVAL;
  if (s.event_desc && s.event_bad) return -kEINVAL;
  const uint32_t id = free_id(c);
  if (id == kMaxIds) return -kEBUSY;
  if (s.rq_mem == RqMem::too_small) return -kEINVAL;
  if (!nodev && s.port >= kPorts) return -kENODEV;
  if (!is_pow2(buf) || buf < kPage) return -kEINVAL;
  if (nodev && buf != kPage) return -kEOPNOTSUPP;
  if (len == 0) return -kEFAULT;
  if (len % kPage != 0 || len % buf != 0) return -kEINVAL;
  if (s.area_dmabuf) return -kEOPNOTSUPP;
  if (s.area_mem_small) return -kEINVAL;
  if (!nodev && s.rxq >= kQueues) return -kENODEV;
  if (!nodev && bound(s.port, s.rxq)) return -kEEXIST;

  Real q;
  q.port = s.port;
  q.rxq = s.rxq;
  q.rq_entries = round_pow2(s.rq_entries > kMaxRq ? kMaxRq : s.rq_entries);
  q.refs = 1;
  q.user_refs = 1;
  q.open = true;
  q.nodev = nodev;
  q.niovs.resize(len / buf);
  q.niov_shift = niov_shift_of(buf);
  reals_.push_back(q);
  const int r = static_cast<int>(reals_.size()) - 1;
  totals_.ifqs_live++;
  reals_[r].entry = add_entry(c, Kind::real, r, id);
  // The descriptor's allowed types; none without a descriptor.
  reals_[r].event_mask = s.event_desc ? s.event_mask : 0;
  // zcrx_set_ring_ctx (seed 000): every registration, with or without
  // events; set once, taking a reference on the ring.
  reals_[r].master = c;
  ctxs_[c].refs++;
  *real_out = r;
  return static_cast<int>(id);
}

bool Model::bound(uint32_t port, uint32_t rxq) const {
  for (const Real& q : reals_)
    if (q.open && !q.nodev && q.port == port && q.rxq == rxq) return true;
  return false;
}

// ---- export / import ----------------------------------------------------------

int Model::export_ifq(int c, const CtrlSpec& s, int* box_out) {
  *box_out = kNone;
  if (s.resv_nonzero) return -kEFAULT;
  const int e = lookup(c, s.zcrx_id);
  if (e == kNone) return -kENXIO;
  if (s.op != 1) return -kEOPNOTSUPP;
  if (s.payload_nonzero) return -kEINVAL;
  const int r = entries_[e].real;
  reals_[r].refs++;
  reals_[r].user_refs++;
  boxes_.push_back(Box{r, false});
  totals_.boxes_live++;
  *box_out = static_cast<int>(boxes_.size()) - 1;
  return 0;
}

// zcrx_box_release: unregister with no ring, so the master stays.
void Model::release_box(int b) {
  Box& x = boxes_[b];
  x.released = true;
  totals_.boxes_live--;
  unregister_user(x.real, kNone);
  put_real(x.real);
}

int Model::import_ifq(int c, const ShareSpec& s, int b) {
  if (s.resv_nonzero) return -kEINVAL;
  if (s.flags != 1) return -kEINVAL;
  if (s.if_rxq || s.rq_entries || s.area_ptr || s.region_ptr) return -kEINVAL;
  if (b == kNone) return -kEBADF;
  const int r = boxes_[b].real;
  reals_[r].refs++;
  reals_[r].user_refs++;
  const uint32_t id = free_id(c);
  const bool busy = id == kMaxIds || reals_[r].live_entries == kMaxEntries;
  if (busy || s.rq_mem == RqMem::too_small) {
    // Seed 000: the error path unregisters with this ring, which clears
    // the master when this ring is it.
    unregister_user(r, c);
    put_real(r);
    return busy ? -kEBUSY : -kEINVAL;
  }
  add_entry(c, Kind::import, r, id);
  return static_cast<int>(id);
}

// ---- clone (seed 003) ---------------------------------------------------------

int Model::clone_ifq(int c, const ShareSpec& s, int src) {
  if (s.resv_nonzero) return -kEINVAL;
  if (s.flags != 1) return -kEINVAL;
  if (src == kNone || ctxs_[src].terminated) return -kEBADF;
  if (src == c) return -kEBADFD;
  const int se = lookup(src, s.if_rxq);
  if (se == kNone) return -kEINVAL;
  const int r = entries_[se].real;  // a clone of a clone is of the real
  if (!reals_[r].open) return -kEINVAL;
  const uint32_t id = free_id(c);
  if (id == kMaxIds || reals_[r].live_entries == kMaxEntries) return -kEBUSY;
  if (s.rq_mem == RqMem::too_small) return -kEINVAL;  // undone: nothing changed
  // The proxy pins the ring that owns the real (its registering ring, if
  // not freed yet), not `src`, which may hold only a proxy or an import.
  const int owner = entries_[reals_[r].entry].ctx;
  const int pinned = ctxs_[owner].freed ? kNone : owner;
  if (pinned != kNone) ctxs_[pinned].refs++;
  reals_[r].refs++;
  reals_[r].user_refs++;
  const int e = add_entry(c, Kind::proxy, r, id);
  entries_[e].src_ctx = pinned;
  return static_cast<int>(id);
}

int Model::ctrl(int c, const CtrlSpec& s) {
  if (s.resv_nonzero) return -kEFAULT;
  if (lookup(c, s.zcrx_id) == kNone) return -kENXIO;
  if (s.op == 0) return s.payload_nonzero ? -kEINVAL : 0;
  if (s.op == 1) return -kEINVAL;
  if (s.op == 2) {
    // zcrx_arm_notif: a known type, clear reserved words, fired before.
    if (s.event_type >= 2 || s.payload_nonzero) return -kEINVAL;
    Real& q = reals_[entries_[lookup(c, s.zcrx_id)].real];
    const uint32_t bit = 1u << s.event_type;
    if (!(q.fired & bit)) return -kEINVAL;
    q.fired &= ~bit;
    return 0;
  }
  return -kEOPNOTSUPP;
}

// ---- datapath -------------------------------------------------------------------

bool Model::niov_free(int r, uint32_t idx) const {
  const Real& q = reals_[r];
  return idx < q.niovs.size() && q.niovs[idx].user_refs == 0;
}

uint32_t Model::free_count(int r) const {
  uint32_t n = 0;
  for (const Niov& x : reals_[r].niovs) n += x.user_refs == 0;
  return n;
}

uint64_t Model::held_total() const {
  uint64_t n = 0;
  for (const Real& q : reals_)
    for (const Niov& x : q.niovs) n += x.user_refs;
  return n;
}

void Model::deliver(int e, uint32_t idx) {
  Entry& en = entries_[e];
  Niov& n = reals_[en.real].niovs[idx];
  assert(en.live && n.user_refs == 0);
  n.user_refs = 1;
  n.owner = e;
  en.stats.delivered++;
}

void Model::report_no_buffers(int e) {
  Real& q = reals_[entries_[e].real];
  q.no_buffers++;
  // zcrx_send_notif: allowed, a master, not fired since the last arm.
  if (!(q.event_mask & 1u) || q.master == kNone || (q.fired & 1u)) return;
  q.fired |= 1u;
  ctxs_[q.master].no_buffer_events++;
}

void Model::corrupt_rq(int e, uint32_t ahead) { entries_[e].tail += ahead; }

bool Model::set_master(int e, int c) {
  Real& q = reals_[entries_[e].real];
  if (q.master != kNone) return false;
  q.master = c;
  ctxs_[c].refs++;
  return true;
}

bool Model::push_rqe(int e, Rqe rqe) {
  Entry& en = entries_[e];
  // Full, or indices the producer cannot make sense of (a tail more than
  // the ring ahead of the head): nothing is written.
  if (en.tail - en.head >= en.rq_entries) return false;
  en.slots[en.tail % en.rq_entries] = rqe;
  en.tail++;
  return true;
}

// Refill: token (and __pad), index, a user reference, the owning entry;
// anything else is skipped and counted.
uint32_t Model::refill(int e, uint32_t budget) {
  Entry& en = entries_[e];
  Real& q = reals_[en.real];
  if (!en.live || !q.open) return 0;
  const uint64_t token_mask = ~((uint64_t{1} << kTokenShift) - 1);
  // What the consumer published, never more than the ring holds.
  uint32_t ready = en.tail - en.head;
  if (ready > en.rq_entries) {
    ready = en.rq_entries;
    en.stats.rq_clamped++;
  }
  uint32_t returned = 0;
  for (uint32_t i = 0; i < ready && i < budget; i++) {
    const Rqe rqe = en.slots[en.head % en.rq_entries];
    en.head++;
    if ((rqe.off & token_mask) != 0 || rqe.pad != 0) {  // every area is id 0
      en.stats.rqe_bad_token++;
      continue;
    }
    const uint64_t idx = rqe.off >> q.niov_shift;
    if (idx >= q.niovs.size()) {
      en.stats.rqe_bad_index++;
      continue;
    }
    Niov& n = q.niovs[idx];
    if (n.user_refs == 0) {
      en.stats.rqe_no_ref++;
      continue;
    }
    if (n.owner != e) {
      en.stats.rqe_wrong_owner++;
      continue;
    }
    if (--n.user_refs == 0) {
      n.owner = kNone;
      returned++;
      en.stats.refilled++;
    }
  }
  return returned;
}

}  // namespace zcrx::model
