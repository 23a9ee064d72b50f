// SPDX-License-Identifier: MIT
#include "ring_dp.h"

#include <cerrno>

#include "eventfd_signal.h"
#include "tcp_socket.h"
#include "zcrx/proto.h"

namespace zcrxd {

using zcrx::uapi::io_uring_cqe32;
using zcrx::uapi::io_uring_sqe;
namespace uapi = zcrx::uapi;

namespace {

std::atomic_ref<uint32_t> word(uint32_t* p) { return std::atomic_ref<uint32_t>(*p); }

// Most completions one SQE can produce: a cancel ends a request and
// reports its own result (a socket SQE: kSocketSqeCqes; one that ends
// more requests reserves the rest itself).
constexpr uint32_t kMaxCqesPerSqe = 2;
static_assert(kSocketSqeCqes <= kMaxCqesPerSqe);

}  // namespace

RingDp::RingDp(void* region, const zcrx::RingRegionLayout& l)
    : sq_(zcrx::sq_consumer(region, l)), cq_(zcrx::cq_producer(region, l)) {
  auto* base = static_cast<uint8_t*>(region);
  cq_flags_ = reinterpret_cast<uint32_t*>(base + l.cq_off.flags);
  // Our own layout: resv1 names the consumer's wake target word, if any.
  if (l.cq_off.resv1) cq_wake_target_ = reinterpret_cast<uint32_t*>(base + l.cq_off.resv1);
  cq_overflow_ = reinterpret_cast<uint32_t*>(base + l.cq_off.overflow);
  sq_flags_ = reinterpret_cast<uint32_t*>(base + l.sq_off.flags);
  for (auto& f : flows_) f.store(nullptr, std::memory_order_relaxed);
}

void RingDp::set_entry(uint32_t id, Ifq* entry, Ifq* real) {
  if (id >= kMaxZcrxIds) return;
  // relaxed then release: `entry` is read only after `real` (acquire) is
  // seen non-null, and the consumer learns the id only from our reply.
  entries_[id].entry.store(entry, std::memory_order_relaxed);
  entries_[id].real.store(real, std::memory_order_release);
}

void RingDp::set_flow(uint32_t h, Ifq* real) {
  if (h >= kMaxFlowsPerRing) return;
  // release: pairs with the datapath's acquire in prep_recv_zc.
  flows_[h].store(real, std::memory_order_release);
  // release: tells the datapath to look for requests on closed handles.
  if (!real) flow_gen_.fetch_add(1, std::memory_order_release);
}

void RingDp::set_eventfd(EventfdSignal* sig) {
  // release: the signaller is complete before the datapath can see it.
  eventfd_.store(sig, std::memory_order_release);
}

void RingDp::mark_broken() {
  // The ring is no longer served, whichever index went wrong: its
  // requests are dropped without a CQE (nothing is written to its CQ
  // again), so the datapath finds nothing armed to deliver to, and CQEs
  // not yet published or queued events go too. Only this thread touches
  // them.
  for (RecvRequest& r : req_) r.armed = false;
  armed_count_ = 0;
  pending_ = 0;
  room_ = 0;  // nothing is reserved on a broken ring again
  n_events_ = 0;
  // release: control reads it to report and close the session.
  broken_.store(true, std::memory_order_release);
}

bool RingDp::reserve_slow(uint32_t n) {
  // Room for what is already filled and not yet flushed, plus `n`.
  const uint32_t want = pending_ + n;
  const uint32_t free = cq_.free_slots(want);
  if (free >= want) {
    // Capped: a CQ has at most 2^31 entries anyway (proto.h limits it far
    // lower); the cap keeps the signed count meaningful whatever the size.
    const uint32_t room = free - pending_;
    room_ = room > INT32_MAX ? INT32_MAX : static_cast<int32_t>(room);
    return true;
  }
  room_ = 0;
  if (cq_.state() != zcrx::RingState::ok) mark_broken();
  return false;
}

void RingDp::end_limited(RecvRequest& r) { end_request(r, 0); }

void RingDp::mark_dirty() {
  dirty_ = true;
  if (dirty_list_) dirty_list_->rings.push_back(this);  // capacity reserved
}

bool RingDp::sq_try_sleep(uint64_t now, uint64_t idle) {
  if (now - sq_busy_at_ < idle) return false;
  // seq_cst RMW, then the tail re-read (acquire, in available()): see
  // proto.h SQ_WAKEUP for the consumer's half.
  word(sq_flags_).fetch_or(uapi::kSqNeedWakeup, std::memory_order_seq_cst);
  if (sq_.available(1) != 0 || sq_.state() != zcrx::RingState::ok) {
    // SQEs came in meanwhile (or the ring broke: poll_sq reports that).
    // relaxed: our own bit; the consumer only reads it as a hint.
    word(sq_flags_).fetch_and(~uapi::kSqNeedWakeup, std::memory_order_relaxed);
    sq_busy_at_ = now;
    return false;
  }
  // release: control reads it (sq_asleep) before asking for a wakeup.
  sq_asleep_.store(true, std::memory_order_release);
  return true;
}

bool RingDp::sq_wake(uint64_t now) {
  // release: the wakeup this answers is consumed; the next sleep may be
  // woken again (claim_wake).
  wake_queued_.store(false, std::memory_order_release);
  // relaxed: only this thread writes it.
  if (!sq_asleep_.load(std::memory_order_relaxed)) return false;
  sq_asleep_.store(false, std::memory_order_release);
  // relaxed: the consumer re-reads the bit after each submit anyway.
  word(sq_flags_).fetch_and(~uapi::kSqNeedWakeup, std::memory_order_relaxed);
  sq_busy_at_ = now;
  return true;
}

void RingDp::attach(DirtyRings* dirty, uint64_t now) {
  if (dirty_list_ == dirty) return;
  sq_busy_at_ = now;
  // A ring new to this datapath is in no flush list yet (the one it left
  // dropped it before control handed it over).
  dirty_list_ = dirty;
  dirty_ = false;
  if (n_events_) mark_dirty();
}

bool RingDp::post_event(uint64_t user_data, int32_t res) {
  if (broken_.load(std::memory_order_relaxed)) return false;  // relaxed: our own flag
  const uint32_t want = pending_ + n_events_ + 1;
  if (n_events_ == kMaxQueuedEvents || cq_.free_slots(want) < want) return false;
  events_[n_events_++] = {user_data, res};
  if (!dirty_) mark_dirty();
  return true;
}

bool RingDp::flush() {
  // A broken ring publishes nothing (a cancel's result may still have been
  // filled in the iteration that found the CQ corrupt).
  if (broken_.load(std::memory_order_relaxed)) {  // relaxed: our own flag
    pending_ = 0;
    return false;
  }
  // Events go after the receive CQEs, once every reserved slot is filled.
  // Data reserved after post_event() may have taken their room: then they
  // wait for a flush that finds it.
  if (n_events_ && cq_.free_slots(pending_ + n_events_) >= pending_ + n_events_) {
    for (uint32_t i = 0; i < n_events_; i++) post(events_[i].user_data, events_[i].res, 0, 0, 0);
    n_events_ = 0;
  }
  if (!pending_) return false;
  // reserve() checked the room for every filled slot, and the consumer's
  // head only moves forward, so this succeeds unless the ring went corrupt.
  if (!cq_.reserve_bulk(pending_)) {
    mark_broken();
    pending_ = 0;
    return false;
  }
  cq_.commit(pending_);
  pending_ = 0;
  return true;
}

bool RingDp::wake_if_needed() {
  EventfdSignal* sig = eventfd_.load(std::memory_order_acquire);  // acquire: see set_eventfd
  if (!sig) return false;
  // seq_cst fence: our tail store (release, in flush) is ordered before
  // the flag load; the consumer sets the flag, fences, then reads the tail
  // (proto.h kCqNeedWakeup), so one of us sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // acquire: the consumer's flags RMW releases the wake target it stored
  // just before, so seeing the bits means seeing that target.
  const uint32_t f = word(cq_flags_).load(std::memory_order_acquire);
  if (!(f & zcrx::proto::kCqNeedWakeup)) return false;
  if ((f & zcrx::proto::kCqWakeTarget) && !wake_target_reached()) return false;
  // relaxed RMW: clearing our own request bits; the eventfd signal is the
  // synchronising event the consumer waits on.
  word(cq_flags_).fetch_and(~(zcrx::proto::kCqNeedWakeup | zcrx::proto::kCqWakeTarget),
                            std::memory_order_relaxed);
  sig->signal();
  return true;
}

bool RingDp::wake_target_reached() {
  if (!cq_wake_target_) return true;
  // relaxed: ordered by the acquire load of the flags (wake_if_needed).
  // Untrusted: any value only delays this consumer's own wakeup.
  const uint32_t target = word(cq_wake_target_).load(std::memory_order_relaxed);
  if (static_cast<int32_t>(cq_.tail() - target) >= 0) return true;
  // A full CQ, or events waiting for room, cannot move the tail any
  // further until the consumer drains it: wake whatever the target says
  // (so a target beyond the CQ's reach is never a deadlock). free_slots
  // reads the consumer's head only when the cached one says full.
  return n_events_ != 0 || cq_.free_slots(1) == 0;
}

void RingDp::count_overflow() {
  // relaxed: a statistic the consumer may read; we are its only writer.
  auto w = word(cq_overflow_);
  w.store(w.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void RingDp::end_request(RecvRequest& r, int32_t res) {
  post(r.user_data, res, 0, 0, 0);
  r.armed = false;
  armed_count_--;
}

int RingDp::prep_recv_zc(const io_uring_sqe& sqe) {
  // The kernel's io_recvzc_prep rules, then our own (flow handle as fd).
  if (sqe.addr2 || sqe.addr || sqe.addr3 || sqe.flags) return -EINVAL;
  if (sqe.msg_flags) return -EINVAL;
  if (sqe.ioprio & ~(uapi::kRecvMultishot | kRecvPollFirst)) return -EINVAL;
  if (!(sqe.ioprio & uapi::kRecvMultishot)) return -EINVAL;
  uint32_t id = sqe.zcrx_ifq_idx;
  if (id >= kMaxZcrxIds) return -EINVAL;
  // acquire: pairs with set_entry's release.
  Ifq* real = entries_[id].real.load(std::memory_order_acquire);
  if (!real) return -EINVAL;
  if (sqe.fd < 0 || static_cast<uint32_t>(sqe.fd) >= kMaxFlowsPerRing) return -EBADF;
  uint32_t h = static_cast<uint32_t>(sqe.fd);
  // acquire: pairs with set_flow's release.
  Ifq* flow_real = flows_[h].load(std::memory_order_acquire);
  if (!flow_real) return -EBADF;
  if (flow_real != real) return -EINVAL;  // the flow is on another queue
  RecvRequest& r = req_[h];
  if (r.armed) return -EBUSY;
  r.user_data = sqe.user_data;
  r.entry = entries_[id].entry.load(std::memory_order_relaxed);
  r.limited = sqe.len != 0;
  r.remaining = sqe.len;
  r.armed = true;
  armed_count_++;
  return 0;
}

void RingDp::cancel(const io_uring_sqe& sqe) {
  // The kernel's io_async_cancel_prep: no offset or splice fd, known
  // flags only, FD and ANY exclusive. (FD_FIXED, USERDATA and OP are not
  // served: -EINVAL, as a kernel before them answers.)
  constexpr uint32_t kKnown = uapi::kAsyncCancelAll | kAsyncCancelFd | kAsyncCancelAny;
  const uint32_t fl = sqe.cancel_flags;
  if (sqe.off || sqe.splice_fd_in || (fl & ~kKnown) || sqe.flags ||
      ((fl & kAsyncCancelFd) && (fl & kAsyncCancelAny))) {
    post(sqe.user_data, -EINVAL, 0, 0, 0);
    return;
  }
  CancelMatch m;
  m.user_data = sqe.addr;
  m.fd = sqe.fd;
  m.by_fd = fl & kAsyncCancelFd;
  m.any = fl & kAsyncCancelAny;
  m.all = fl & (uapi::kAsyncCancelAll | kAsyncCancelAny);
  int32_t found = cancel_flow_requests(m, 0);
  // Socket requests (ACCEPT, CONNECT, SEND, RECV_ZC on a socket handle).
  if (sock_handler_ && socks_ && (m.all || !found))
    found += sock_handler_->cancel_requests(*this, *socks_, m, found);
  // The kernel: the number cancelled for ALL/ANY (0 when none), else 0 or
  // -ENOENT.
  post(sqe.user_data, m.all ? found : (found ? 0 : -ENOENT), 0, 0, 0);
}

int32_t RingDp::cancel_flow_requests(const CancelMatch& m, int32_t found) {
  for (uint32_t h = 0; h < kMaxFlowsPerRing; h++) {
    RecvRequest& r = req_[h];
    if (!r.armed || !m.matches(r.user_data, h)) continue;
    // One CQE for the cancelled request, one kept for the cancel's own.
    if (found && !reserve(2)) break;
    end_request(r, -ECANCELED);
    found++;
    if (!m.all) break;
  }
  return found;
}

void RingDp::sweep_closed_flows() {
  // acquire: pairs with set_flow's release of the generation.
  uint32_t gen = flow_gen_.load(std::memory_order_acquire);
  if (gen == seen_flow_gen_) return;
  for (uint32_t h = 0; h < kMaxFlowsPerRing; h++) {
    RecvRequest& r = req_[h];
    if (!r.armed || flows_[h].load(std::memory_order_acquire)) continue;
    if (!reserve(1)) return;  // retry on a later iteration
    end_request(r, 0);
  }
  seen_flow_gen_ = gen;
}

uint32_t RingDp::poll_sq(uint32_t max) {
  if (broken_.load(std::memory_order_relaxed)) return 0;  // relaxed: our own flag
  sweep_closed_flows();
  uint32_t n = sq_.peek(max);
  if (sq_.state() != zcrx::RingState::ok) {
    mark_broken();
    return 0;
  }
  // Nothing queued (the common case with multishot requests): no SQE to
  // read and no head to store, so the line the consumer reads stays clean.
  if (n == 0) return 0;
  uint32_t done = 0;
  for (; done < n; done++) {
    if (!reserve(kMaxCqesPerSqe)) break;
    io_uring_sqe sqe = sq_.load(done);
    switch (sqe.opcode) {
      case uapi::kOpNop:
        post(sqe.user_data, sqe.rw_flags || sqe.flags ? -EINVAL : 0, 0, 0, 0);
        break;
      case uapi::kOpRecvZc: {
        if (sock_handler_ && sqe.fd >= static_cast<int32_t>(zcrx::proto::kSocketHandleBase)) {
          sock_handler_->socket_sqe(*this, *socks_, sqe);
          break;
        }
        int rc = prep_recv_zc(sqe);
        if (rc) post(sqe.user_data, rc, 0, 0, 0);
        break;
      }
      case uapi::kOpAsyncCancel:
        cancel(sqe);
        break;
      case uapi::kOpAccept:
      case uapi::kOpConnect:
      case uapi::kOpSend:
      case uapi::kOpShutdown:
      case uapi::kOpClose:
        if (sock_handler_) sock_handler_->socket_sqe(*this, *socks_, sqe);
        else post(sqe.user_data, -EINVAL, 0, 0, 0);
        break;
      default:
        post(sqe.user_data, -EINVAL, 0, 0, 0);
        break;
    }
  }
  if (done) sq_.advance(done);
  return done;
}

void RingDp::terminate_requests(int32_t res) {
  for (RecvRequest& r : req_) {
    if (!r.armed) continue;
    if (reserve(1)) {
      end_request(r, res);
      continue;
    }
    // A full CQ: the request ends without its final CQE, counted as an
    // overflow. A CQ found corrupt instead broke the ring, which ended
    // every request already (and writes nothing more).
    if (!r.armed) continue;
    r.armed = false;
    armed_count_--;
    count_overflow();
  }
  flush();
}

}  // namespace zcrxd
