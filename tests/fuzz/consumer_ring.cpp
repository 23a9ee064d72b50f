// SPDX-License-Identifier: MIT
#include "consumer_ring.h"

#include <atomic>
#include <cinttypes>
#include <cstring>

namespace zcrx::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_ring_memory";

using zcrxd::RecvRequest;

}  // namespace

std::unique_ptr<GuardedRegion> make_rq_region(const RqRegionLayout& l, uint64_t stats_off) {
  auto r = std::make_unique<GuardedRegion>(l.size);
  r->allow(l.off.head, 4);
  r->allow(l.off.tail, 4);
  r->allow(l.off.rqes, uint64_t{l.rq_entries} * sizeof(uapi::io_uring_zcrx_rqe));
  if (stats_off) r->allow(stats_off, sizeof(uapi::zcrx_stats));
  r->seal();
  return r;
}

ConsumerRing::ConsumerRing(uint32_t sq_entries, uint32_t cq_entries)
    : layout_(ring_region_layout(sq_entries, cq_entries)), region_(layout_.size) {
  init_ring_region(region_.base(), layout_);
  const auto& sq = layout_.sq_off;
  const auto& cq = layout_.cq_off;
  for (uint32_t off : {sq.head, sq.tail, sq.ring_mask, sq.ring_entries, sq.flags, sq.dropped,
                       cq.head, cq.tail, cq.ring_mask, cq.ring_entries, cq.overflow, cq.flags})
    region_.allow(off, 4);
  region_.allow(cq.cqes, uint64_t{cq_entries} * sizeof(uapi::io_uring_cqe32));
  region_.allow(layout_.sqes_off, uint64_t{sq_entries} * sizeof(uapi::io_uring_sqe));
  region_.seal();
  dp_ = std::make_unique<zcrxd::RingDp>(region_.base(), layout_);
  events_ = std::make_unique<zcrxd::RingEvents>(*dp_);
}

ConsumerRing::~ConsumerRing() = default;

void ConsumerRing::add_entry(const RingEntry& e, core::Ifq* real,
                             std::unique_ptr<GuardedRegion> owned) {
  FUZZ_CHECK(n_entries_ < kMaxEntries);
  owned_rq_[n_entries_] = std::move(owned);
  entries_[n_entries_++] = e;
  dp_->set_entry(e.id, e.ifq, real);
}

void ConsumerRing::open_flows(core::Ifq* real) {
  for (uint32_t h = 0; h < kFlows; h++) {
    dp_->set_flow(h, real);
    flow_open_[h] = true;
  }
}

void ConsumerRing::toggle_flow(uint32_t h, core::Ifq* real) {
  flow_open_[h] = !flow_open_[h];
  dp_->set_flow(h, flow_open_[h] ? real : nullptr);
}

void ConsumerRing::close_flows() {
  for (uint32_t h = 0; h < kFlows; h++) {
    dp_->set_flow(h, nullptr);
    flow_open_[h] = false;
  }
}

// ---- the consumer ----------------------------------------------------------------

void ConsumerRing::write_anywhere(FuzzInput& in) {
  const uint8_t sel = in.u8() % (1 + n_entries_);
  GuardedRegion* r = sel == 0 ? &region_ : entries_[sel - 1].rq;
  const uint64_t off = in.u32() % r->size();
  uint8_t buf[16];
  const size_t n = 1 + in.u8() % sizeof(buf);
  in.bytes(buf, n);
  r->consumer_write(off, buf, n);
  // The consumer may scribble over its own CQEs: from then on what it
  // reaps says nothing about what zcrxd posted.
  const uint64_t cqes = layout_.cq_off.cqes;
  const uint64_t cqes_end = cqes + uint64_t{layout_.cq_entries} * sizeof(uapi::io_uring_cqe32);
  if (sel == 0 && off < cqes_end && off + n > cqes) cqes_written_ = true;
}

void ConsumerRing::push_sqe(const uapi::io_uring_sqe& sqe) {
  uint32_t* tail = region_.at<uint32_t>(layout_.sq_off.tail);
  auto* sqes = region_.at<uapi::io_uring_sqe>(layout_.sqes_off);
  // The consumer's own tail word, whatever it wrote there before.
  std::memcpy(&sqes[*tail & (layout_.sq_entries - 1)], &sqe, sizeof(sqe));
  std::atomic_ref<uint32_t>(*tail).store(*tail + 1, std::memory_order_release);
}

void ConsumerRing::push_raw_sqe(FuzzInput& in) {
  uapi::io_uring_sqe s;
  in.bytes(&s, sizeof(s));
  push_sqe(s);
}

void ConsumerRing::push_recv_zc(FuzzInput& in) {
  const uint8_t a = in.u8(), b = in.u8();
  uapi::io_uring_sqe s{};
  s.opcode = uapi::kOpRecvZc;
  s.fd = static_cast<int32_t>((a & 7) % 6) - 1;  // -1, the open handles, a closed one
  s.zcrx_ifq_idx = (a >> 3) % 3;                 // the entries and one id unused
  s.ioprio = b & 1 ? 0 : uapi::kRecvMultishot;
  if (b & 2) s.ioprio |= zcrxd::kRecvPollFirst;
  if (b & 4) s.len = 1 + in.u16() % 9000;  // a byte limit
  s.user_data = 0x100 + (b >> 5);
  // Fields RECV_ZC must have zero, one of them set.
  switch ((b >> 3) & 3) {
    case 1: s.addr = 1; break;
    case 2: s.flags = 1; break;
    case 3: s.msg_flags = 1; break;
    default: break;
  }
  if ((b & 0xe0) == 0xe0) s.ioprio |= 0x8000;  // an unknown ioprio bit
  push_sqe(s);
}

void ConsumerRing::push_cancel(FuzzInput& in) {
  const uint8_t a = in.u8(), b = in.u8();
  uapi::io_uring_sqe s{};
  s.opcode = uapi::kOpAsyncCancel;
  s.cancel_flags = a & 7;                // ALL, FD, ANY
  if (a & 8) s.cancel_flags |= 1u << 5;  // an unknown flag
  s.fd = static_cast<int32_t>((a >> 4) % 6) - 1;
  s.addr = 0x100 + (b & 7);  // a RECV_ZC's user_data
  if (b & 8) s.off = 1;
  if (b & 0x10) s.flags = 1;
  s.user_data = 0x200 + (b >> 5);
  push_sqe(s);
}

void ConsumerRing::push_nop(FuzzInput& in) {
  const uint8_t a = in.u8();
  uapi::io_uring_sqe s{};
  s.opcode = uapi::kOpNop;
  s.rw_flags = a & 1;
  s.flags = (a >> 1) & 1;
  s.user_data = 0x300 + (a >> 2);
  push_sqe(s);
}

void ConsumerRing::move_cq_head(FuzzInput& in, const core::Area& area) {
  const uint8_t mode = in.u8();
  uint32_t* head = region_.at<uint32_t>(layout_.cq_off.head);
  if (mode % 3 == 0) return reap(area);
  // Forwards, backwards, past the tail.
  *head = mode % 3 == 1 ? *head + static_cast<int8_t>(in.u8()) : in.u32();
}

void ConsumerRing::reap(const core::Area& area) {
  const uint32_t tail = std::atomic_ref<uint32_t>(*region_.at<uint32_t>(layout_.cq_off.tail))
                            .load(std::memory_order_acquire);
  uint32_t n = tail - cq_reaped_;
  // More than the CQ holds can only follow a head the consumer corrupted.
  if (n > layout_.cq_entries) n = 0;
  const auto* cqes = region_.at<uapi::io_uring_cqe32>(layout_.cq_off.cqes);
  const uint64_t niov_size = uint64_t{1} << area.niov_shift();
  for (uint32_t i = 0; !cqes_written_ && i < n; i++) {
    const uapi::io_uring_cqe32& c = cqes[(cq_reaped_ + i) & (layout_.cq_entries - 1)];
    if (!(c.cqe.flags & uapi::kCqeFMore) || c.cqe.res <= 0) continue;
    // A delivery: its bytes lie inside one niov of the area.
    FUZZ_CHECK(uapi::area_id_of(c.zcqe.off) == area.id());
    const uint64_t byte = uapi::area_offset_of(c.zcqe.off);
    const uint64_t niov_start = byte & ~(niov_size - 1);
    FUZZ_CHECK(niov_start < area.len());
    FUZZ_CHECK(byte + static_cast<uint32_t>(c.cqe.res) <= niov_start + niov_size);
  }
  cq_reaped_ += n;
  std::atomic_ref<uint32_t>(*region_.at<uint32_t>(layout_.cq_off.head))
      .store(cq_reaped_, std::memory_order_release);
}

void ConsumerRing::push_rqe(FuzzInput& in, const core::Area& area) {
  const uint8_t a = in.u8();
  const RingEntry& e = entries_[a % n_entries_];
  uapi::io_uring_zcrx_rqe rqe{};
  if (a & 0x80) {
    rqe.off = in.u64();
    rqe.__pad = in.u32();
  } else {
    // A buffer of the area (or just past it), maybe with a wrong token or pad.
    const uint64_t idx = in.u8() % (area.num_niovs() + 2);
    rqe.off = area.token() | ((idx << area.niov_shift()) + ((a >> 1) & 7) * 64);
    if (a & 0x10) rqe.off ^= uint64_t{1} << uapi::kZcrxAreaShift;
    if (a & 0x20) rqe.__pad = 1;
  }
  rqe.len = 1u << area.niov_shift();
  const RqRegionLayout& l = e.ifq->rq_layout();
  uint32_t* tail = e.rq->at<uint32_t>(l.off.tail);
  auto* rqes = e.rq->at<uapi::io_uring_zcrx_rqe>(l.off.rqes);
  std::memcpy(&rqes[*tail & (l.rq_entries - 1)], &rqe, sizeof(rqe));
  std::atomic_ref<uint32_t>(*tail).store(*tail + 1, std::memory_order_release);
}

void ConsumerRing::move_rq_tail(FuzzInput& in) {
  const uint8_t a = in.u8();
  const RingEntry& e = entries_[a % n_entries_];
  uint32_t* tail = e.rq->at<uint32_t>(e.ifq->rq_layout().off.tail);
  *tail = a & 0x80 ? in.u32() : *tail + static_cast<int16_t>(in.u16());
}

void ConsumerRing::move_sq_tail(FuzzInput& in) {
  const uint8_t a = in.u8();
  uint32_t* tail = region_.at<uint32_t>(layout_.sq_off.tail);
  *tail = a & 1 ? in.u32() : *tail + static_cast<int8_t>(in.u8());
}

// ---- checks ------------------------------------------------------------------------

ConsumerRing::Watch ConsumerRing::watch() const {
  Watch w;
  w.broken = dp_->broken();
  w.sq_head = word(layout_.sq_off.head);
  w.cq_tail = word(layout_.cq_off.tail);
  for (uint32_t i = 0; i < n_entries_; i++) w.rqes_read[i] = rqes_read(i);
  return w;
}

void ConsumerRing::check_quiet(const Watch& before) const {
  if (before.broken) {
    FUZZ_CHECK(word(layout_.sq_off.head) == before.sq_head);
    FUZZ_CHECK(word(layout_.cq_off.tail) == before.cq_tail);
  }
  for (uint32_t i = 0; i < n_entries_; i++)
    FUZZ_CHECK(rqes_read(i) - before.rqes_read[i] <= entries_[i].ifq->rq_layout().rq_entries);
}

uint64_t ConsumerRing::rqes_read(uint32_t i) const {
  const core::IfqStats st = entries_[i].ifq->stats();
  return st.refilled + st.rqe_bad_token + st.rqe_bad_index + st.rqe_no_ref + st.rqe_wrong_owner;
}

void ConsumerRing::trace(FILE* f) const {
  std::fprintf(f, "ring: sq %u cq %u broken %d asleep %d armed %u, CQEs reaped %u\n",
               layout_.sq_entries, layout_.cq_entries, dp_->broken(), dp_->sq_asleep(),
               dp_->armed_count(), cq_reaped_);
  for (uint32_t h = 0; h < zcrxd::kMaxFlowsPerRing; h++)
    if (const RecvRequest* r = dp_->armed(h))
      std::fprintf(f, "  armed: handle %u user_data %" PRIu64 " limited %d remaining %u\n", h,
                   r->user_data, r->limited, r->remaining);
  for (uint32_t i = 0; i < n_entries_; i++) {
    const core::IfqStats st = entries_[i].ifq->stats();
    std::fprintf(f,
                 "  entry %u (rq %u): delivered %" PRIu64 " refilled %" PRIu64
                 " bad_token %" PRIu64 " bad_index %" PRIu64 " no_ref %" PRIu64
                 " wrong_owner %" PRIu64 " rq_clamped %" PRIu64 " reclaimed %" PRIu64
                 " events %" PRIu64 "/%" PRIu64 " lost\n",
                 entries_[i].id, entries_[i].ifq->rq_layout().rq_entries, st.delivered,
                 st.refilled, st.rqe_bad_token, st.rqe_bad_index, st.rqe_no_ref,
                 st.rqe_wrong_owner, st.rq_clamped, st.reclaimed, st.events_posted,
                 st.events_lost);
  }
}

}  // namespace zcrx::fuzz
