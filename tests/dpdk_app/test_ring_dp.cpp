// SPDX-License-Identifier: MIT
// The datapath's ring view: SQE rules (the kernel's io_recvzc_prep checks,
// NOP, ASYNC_CANCEL), multishot and len-limited completions, CQ-full
// back-pressure, closed flows, need-wakeup eventfd, a corrupt SQ.
#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "eventfd_signal.h"
#include "ring_dp.h"
#include "zcrx/proto.h"

using namespace zcrxd;
namespace uapi = zcrx::uapi;

namespace {

struct Region {
  zcrx::RingRegionLayout l;
  void* mem;
  zcrx::SqProducer sq;
  zcrx::CqConsumer cq;
  Region(uint32_t sq_entries, uint32_t cq_entries)
      : l(zcrx::ring_region_layout(sq_entries, cq_entries)),
        mem(std::aligned_alloc(4096, l.size)) {
    zcrx::init_ring_region(mem, l);
    sq = zcrx::sq_producer(mem, l);
    cq = zcrx::cq_consumer(mem, l);
  }
  ~Region() { std::free(mem); }
  uint32_t& word(uint32_t off) { return *reinterpret_cast<uint32_t*>(static_cast<char*>(mem) + off); }
};

// Fake engine objects: RingDp compares and stores the pointers only.
Ifq* fake(int i) {
  static char objs[8];
  return reinterpret_cast<Ifq*>(&objs[i]);
}

uapi::io_uring_sqe recv_zc(uint64_t ud, int32_t handle, uint32_t id, uint32_t len = 0) {
  uapi::io_uring_sqe s{};
  s.opcode = uapi::kOpRecvZc;
  s.ioprio = uapi::kRecvMultishot;
  s.fd = handle;
  s.zcrx_ifq_idx = id;
  s.len = len;
  s.user_data = ud;
  return s;
}

std::vector<uapi::io_uring_cqe32> reap(Region& r) {
  std::vector<uapi::io_uring_cqe32> out;
  uapi::io_uring_cqe32 c;
  while (r.cq.pop(c)) out.push_back(c);
  return out;
}

}  // namespace

TEST_CASE("NOP completes with 0; unknown opcodes and NOP flags with -EINVAL") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  uapi::io_uring_sqe s{};
  s.opcode = uapi::kOpNop;
  s.user_data = 7;
  r.sq.push(s);
  s.user_data = 8;
  s.rw_flags = 1;
  r.sq.push(s);
  uapi::io_uring_sqe u{};
  u.opcode = 99;
  u.user_data = 9;
  r.sq.push(u);
  CHECK(dp.poll_sq(16) == 3);
  CHECK(dp.flush());
  auto c = reap(r);
  REQUIRE(c.size() == 3);
  CHECK(c[0].cqe.user_data == 7);
  CHECK(c[0].cqe.res == 0);
  CHECK(c[1].cqe.res == -EINVAL);
  CHECK(c[2].cqe.user_data == 9);
  CHECK(c[2].cqe.res == -EINVAL);
}

TEST_CASE("RECV_ZC prep errors follow the kernel's, then arm") {
  Region r(16, 32);
  RingDp dp(r.mem, r.l);
  dp.set_entry(0, fake(0), fake(1));
  dp.set_entry(1, fake(2), fake(3));  // another queue's ifq
  dp.set_flow(4, fake(1));
  auto not_multishot = recv_zc(1, 4, 0);
  not_multishot.ioprio = 0;
  auto bad_ioprio = recv_zc(2, 4, 0);
  bad_ioprio.ioprio |= 1u << 5;
  auto addr_set = recv_zc(3, 4, 0);
  addr_set.addr = 1;
  auto no_id = recv_zc(4, 4, 5);
  auto big_id = recv_zc(5, 4, 1000);
  auto bad_handle = recv_zc(6, 9, 0);
  auto neg_handle = recv_zc(7, -1, 0);
  auto wrong_queue = recv_zc(8, 4, 1);
  auto msg_flags = recv_zc(9, 4, 0);
  msg_flags.msg_flags = 0x40;
  auto good = recv_zc(10, 4, 0);
  auto again = recv_zc(11, 4, 0);
  for (auto& s : {not_multishot, bad_ioprio, addr_set, no_id, big_id, bad_handle,
                  neg_handle, wrong_queue, msg_flags, good, again})
    REQUIRE(r.sq.push(s));
  CHECK(dp.poll_sq(32) == 11);
  dp.flush();
  auto c = reap(r);
  REQUIRE(c.size() == 10);  // the good one completes nothing yet
  int expect[] = {-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EBADF, -EBADF,
                  -EINVAL, -EINVAL, -EBUSY};
  uint64_t ud[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11};
  for (int i = 0; i < 10; i++) {
    CHECK(c[i].cqe.user_data == ud[i]);
    CHECK(c[i].cqe.res == expect[i]);
    CHECK(c[i].cqe.flags == 0);
  }
  REQUIRE(dp.armed(4));
  CHECK(dp.armed(4)->entry == fake(0));
  CHECK(dp.armed_count() == 1);
}

TEST_CASE("multishot deliveries carry F_MORE; a len-limited request ends with res 0") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  dp.set_entry(0, fake(0), fake(1));
  dp.set_flow(0, fake(1));
  dp.set_flow(1, fake(1));
  r.sq.push(recv_zc(100, 0, 0));
  r.sq.push(recv_zc(200, 1, 0, 1500));
  dp.poll_sq(8);
  RecvRequest* m = dp.armed(0);
  RecvRequest* l = dp.armed(1);
  REQUIRE(m);
  REQUIRE(l);
  REQUIRE(dp.reserve(4));
  CHECK(dp.post_data(*m, 1000, 0x10, 5, true) == 1000);
  CHECK(dp.post_data(*l, 1000, 0x20, 0, false) == 1000);  // a datagram goes on
  CHECK(dp.post_data(*l, 1000, 0x30, 0, false) == 500);  // cut at the limit, then final
  CHECK_FALSE(dp.armed(1));
  CHECK(dp.armed_count() == 1);
  dp.flush();
  auto c = reap(r);
  REQUIRE(c.size() == 4);
  CHECK(c[0].cqe.user_data == 100);
  CHECK(c[0].cqe.res == 1000);
  CHECK(c[0].cqe.flags == (uapi::kCqeFMore | zcrx::proto::kCqeFDatagramEnd));
  CHECK(c[0].zcqe.off == 0x10);
  CHECK(c[0].zcqe.__pad == 5);
  CHECK(c[1].cqe.flags == uapi::kCqeFMore);
  CHECK(c[2].cqe.res == 500);
  // Nothing more of that datagram comes: the limit ends it.
  CHECK(c[2].cqe.flags == (uapi::kCqeFMore | zcrx::proto::kCqeFDatagramEnd));
  CHECK(c[3].cqe.user_data == 200);
  CHECK(c[3].cqe.res == 0);
  CHECK(c[3].cqe.flags == 0);
}

TEST_CASE("ASYNC_CANCEL by user_data, by fd, ALL; -ENOENT when nothing matches") {
  Region r(16, 32);
  RingDp dp(r.mem, r.l);
  dp.set_entry(0, fake(0), fake(1));
  for (uint32_t h = 0; h < 4; h++) dp.set_flow(h, fake(1));
  for (uint32_t h = 0; h < 4; h++) r.sq.push(recv_zc(10 + h, static_cast<int32_t>(h), 0));
  uapi::io_uring_sqe c1{};
  c1.opcode = uapi::kOpAsyncCancel;
  c1.addr = 11;
  c1.user_data = 50;
  uapi::io_uring_sqe c2 = c1;
  c2.user_data = 51;  // 11 again: gone
  uapi::io_uring_sqe c3{};
  c3.opcode = uapi::kOpAsyncCancel;
  c3.cancel_flags = 1u << 1;  // FD
  c3.fd = 2;
  c3.user_data = 52;
  uapi::io_uring_sqe c4{};
  c4.opcode = uapi::kOpAsyncCancel;
  c4.cancel_flags = 1u << 2;  // ANY
  c4.user_data = 53;
  uapi::io_uring_sqe c5{};
  c5.opcode = uapi::kOpAsyncCancel;
  c5.cancel_flags = 1u << 7;
  c5.user_data = 54;
  for (auto& s : {c1, c2, c3, c4, c5}) r.sq.push(s);
  dp.poll_sq(16);
  dp.flush();
  auto c = reap(r);
  REQUIRE(c.size() == 9);
  CHECK(c[0].cqe.user_data == 11);
  CHECK(c[0].cqe.res == -ECANCELED);
  CHECK(c[1].cqe.user_data == 50);
  CHECK(c[1].cqe.res == 0);
  CHECK(c[2].cqe.user_data == 51);
  CHECK(c[2].cqe.res == -ENOENT);
  CHECK(c[3].cqe.user_data == 12);
  CHECK(c[3].cqe.res == -ECANCELED);
  CHECK(c[4].cqe.user_data == 52);
  CHECK(c[4].cqe.res == 0);
  CHECK(c[5].cqe.user_data == 10);
  CHECK(c[6].cqe.user_data == 13);
  CHECK(c[7].cqe.user_data == 53);
  CHECK(c[7].cqe.res == 2);
  CHECK(c[8].cqe.res == -EINVAL);
  CHECK(dp.armed_count() == 0);
}

TEST_CASE("a closed flow ends its armed request with a final CQE") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  dp.set_entry(0, fake(0), fake(1));
  dp.set_flow(3, fake(1));
  r.sq.push(recv_zc(77, 3, 0));
  dp.poll_sq(8);
  REQUIRE(dp.armed(3));
  dp.set_flow(3, nullptr);
  dp.poll_sq(8);
  CHECK_FALSE(dp.armed(3));
  dp.flush();
  auto c = reap(r);
  REQUIRE(c.size() == 1);
  CHECK(c[0].cqe.user_data == 77);
  CHECK(c[0].cqe.res == 0);
  CHECK(c[0].cqe.flags == 0);
}

TEST_CASE("a full CQ stops SQ consumption; nothing is lost") {
  Region r(16, 16);
  RingDp dp(r.mem, r.l);
  uapi::io_uring_sqe s{};
  s.opcode = uapi::kOpNop;
  for (int i = 0; i < 16; i++) {
    s.user_data = static_cast<uint64_t>(i);
    r.sq.push(s);
  }
  // Each SQE needs room for 2 completions: 15 fit in 16 slots.
  CHECK(dp.poll_sq(16) == 15);
  dp.flush();
  CHECK_FALSE(dp.reserve(2));
  CHECK(dp.poll_sq(16) == 0);
  auto c = reap(r);
  CHECK(c.size() == 15);
  CHECK(dp.poll_sq(16) == 1);
  dp.flush();
  c = reap(r);
  REQUIRE(c.size() == 1);
  CHECK(c[0].cqe.user_data == 15);
  dp.count_overflow();
  CHECK(r.word(r.l.cq_off.overflow) == 1);
}

TEST_CASE("eventfd signalled only when the consumer asked, flag cleared") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  int efd = eventfd(0, EFD_NONBLOCK);
  REQUIRE(efd >= 0);
  std::unique_ptr<EventfdSignal> sig;
  REQUIRE(EventfdSignal::open(efd, &sig) == 0);
  CHECK_FALSE(dp.wake_if_needed());  // no eventfd yet
  dp.set_eventfd(sig.get());
  CHECK_FALSE(dp.wake_if_needed());  // flag clear
  r.word(r.l.cq_off.flags) |= zcrx::proto::kCqNeedWakeup;
  CHECK(dp.wake_if_needed());
  CHECK((r.word(r.l.cq_off.flags) & zcrx::proto::kCqNeedWakeup) == 0);
  uint64_t v = 0;
  CHECK(read(efd, &v, 8) == 8);
  CHECK(v == 1);
  CHECK_FALSE(dp.wake_if_needed());
  close(efd);
}

TEST_CASE("a saturated blocking eventfd never blocks the signal") {
  // A hostile consumer shares the eventfd's file description: it clears
  // O_NONBLOCK and raises the count to the most write(2) allows. A write
  // of 1 would now block; the signal saturates the count instead.
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  int efd = eventfd(0, 0);
  REQUIRE(efd >= 0);
  uint64_t v = 0xfffffffffffffffeull;
  REQUIRE(write(efd, &v, 8) == 8);
  std::unique_ptr<EventfdSignal> sig;
  REQUIRE(EventfdSignal::open(efd, &sig) == 0);
  dp.set_eventfd(sig.get());
  for (int i = 0; i < 3; i++) {
    r.word(r.l.cq_off.flags) |= zcrx::proto::kCqNeedWakeup;
    CHECK(dp.wake_if_needed());  // returns: nothing blocked
  }
  REQUIRE(read(efd, &v, 8) == 8);
  CHECK(v == 0xffffffffffffffffull);  // saturated, as the kernel's eventfd_signal
  close(efd);
}

TEST_CASE("EventfdSignal refuses what is not an eventfd") {
  std::unique_ptr<EventfdSignal> sig;
  CHECK(EventfdSignal::open(-1, &sig) == -EBADF);
  int p[2];
  REQUIRE(pipe(p) == 0);
  CHECK(EventfdSignal::open(p[0], &sig) == -EINVAL);
  CHECK_FALSE(sig);
  close(p[0]);
  close(p[1]);
}

TEST_CASE("an SQ tail beyond the ring marks the ring broken") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  r.word(r.l.sq_off.tail) = 1000;
  CHECK(dp.poll_sq(8) == 0);
  CHECK(dp.broken());
  CHECK(dp.poll_sq(8) == 0);
}

TEST_CASE("a ring broken by its SQ is no longer served: requests disarmed, its CQ left alone") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  dp.set_entry(0, fake(0), fake(1));
  dp.set_flow(0, fake(1));
  dp.set_flow(1, fake(1));
  r.sq.push(recv_zc(100, 0, 0));
  r.sq.push(recv_zc(200, 1, 0, 1500));
  CHECK(dp.poll_sq(8) == 2);
  REQUIRE(dp.armed(0));
  REQUIRE(dp.armed(1));
  // An event queued for the next flush, then the consumer corrupts its SQ.
  REQUIRE(dp.post_event(0xe7, 0));
  const uint32_t cq_tail = r.word(r.l.cq_off.tail);
  r.word(r.l.sq_off.tail) = 1000;
  CHECK(dp.poll_sq(8) == 0);
  REQUIRE(dp.broken());
  // The datapath finds nothing to deliver to, and nothing is published.
  CHECK_FALSE(dp.armed(0));
  CHECK_FALSE(dp.armed(1));
  CHECK(dp.armed_count() == 0);
  CHECK_FALSE(dp.has_queued_events());
  CHECK_FALSE(dp.post_event(0xe7, 1));
  CHECK_FALSE(dp.flush());
  dp.terminate_requests(-ECANCELED);
  CHECK(r.word(r.l.cq_off.tail) == cq_tail);
  CHECK(reap(r).empty());
}

TEST_CASE("a CQ found corrupt while requests end leaves none armed and publishes nothing") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  dp.set_entry(0, fake(0), fake(1));
  dp.set_flow(0, fake(1));
  dp.set_flow(1, fake(1));
  r.sq.push(recv_zc(100, 0, 0));
  r.sq.push(recv_zc(200, 1, 0));
  CHECK(dp.poll_sq(8) == 2);
  REQUIRE(dp.armed_count() == 2);
  // A full CQ, then the consumer's head runs past everything published:
  // the first final CQE finds the CQ corrupt.
  REQUIRE(dp.reserve(16));
  for (uint64_t i = 0; i < 16; i++) dp.post_data(*dp.armed(0), 10, i, 0, true);
  REQUIRE(dp.flush());
  r.word(r.l.cq_off.head) = 1000;
  dp.terminate_requests(-ECANCELED);
  CHECK(dp.broken());
  CHECK(dp.armed_count() == 0);
  CHECK_FALSE(dp.armed(0));
  CHECK_FALSE(dp.armed(1));
  CHECK(r.word(r.l.cq_off.tail) == 16);
  CHECK(r.word(r.l.cq_off.overflow) == 0);
}

TEST_CASE("an idle SQ sleeps with IORING_SQ_NEED_WAKEUP set; SQEs or a wakeup keep it awake") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  auto sq_flags = [&] { return r.word(r.l.sq_off.flags); };
  dp.note_sq_busy(1000);
  CHECK_FALSE(dp.sq_try_sleep(1500, 1000));  // empty for 500 cycles only
  CHECK((sq_flags() & uapi::kSqNeedWakeup) == 0);
  CHECK_FALSE(dp.sq_asleep());
  CHECK(dp.sq_try_sleep(2000, 1000));
  CHECK((sq_flags() & uapi::kSqNeedWakeup) != 0);
  CHECK(dp.sq_asleep());
  // A wakeup: polled again, the bit cleared, idle time counted anew.
  CHECK(dp.claim_wake());
  CHECK_FALSE(dp.claim_wake());  // one in flight per sleep
  CHECK(dp.sq_wake(2100));
  CHECK_FALSE(dp.sq_asleep());
  CHECK((sq_flags() & uapi::kSqNeedWakeup) == 0);
  CHECK(dp.claim_wake());  // the next one may go
  CHECK_FALSE(dp.sq_wake(2200));  // a wakeup of an awake ring changes nothing
  CHECK_FALSE(dp.sq_try_sleep(2300, 1000));
}

TEST_CASE("an SQE published before the sleep's re-read keeps the SQ awake") {
  // The consumer's tail store came between the datapath's last poll and
  // its attempt to sleep: the re-read after setting the bit sees it.
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  dp.note_sq_busy(0);
  uapi::io_uring_sqe nop{};
  nop.opcode = uapi::kOpNop;
  nop.user_data = 9;
  REQUIRE(r.sq.push(nop));
  CHECK_FALSE(dp.sq_try_sleep(5000, 1000));
  CHECK_FALSE(dp.sq_asleep());
  CHECK((r.word(r.l.sq_off.flags) & uapi::kSqNeedWakeup) == 0);
  CHECK(dp.poll_sq(8) == 1);
}

TEST_CASE("posts join the attached flush list once per iteration") {
  Region r(8, 16);
  RingDp dp(r.mem, r.l);
  DirtyRings dirty;
  dirty.rings.reserve(4);
  dp.attach(&dirty, 0);
  REQUIRE(dp.reserve(3));
  dp.post(1, 1, 0, 0, 0);
  dp.post(2, 1, 0, 0, 0);
  CHECK(dirty.rings.size() == 1);
  CHECK(dirty.rings[0] == &dp);
  CHECK(dp.flush());
  dp.clear_dirty();
  dirty.rings.clear();
  CHECK(dp.post_event(77, 1));  // an event alone marks the ring too
  CHECK(dirty.rings.size() == 1);
  CHECK(dp.flush());
  CHECK(reap(r).size() == 3);
}

TEST_CASE("reserve keeps the room it found across posts and flushes, and refuses once it is used") {
  Region r(8, 8);
  RingDp dp(r.mem, r.l);
  // One CQE reserved and posted at a time, as the datapath delivers: the
  // first reserve finds all eight slots, the ninth finds none.
  for (uint64_t i = 0; i < 8; i++) {
    REQUIRE(dp.reserve(1));
    dp.post(i, 1, 0, 0, 0);
    if (i == 4) CHECK(dp.flush());  // a flush in between moves nothing
  }
  CHECK_FALSE(dp.reserve(1));
  CHECK(dp.flush());
  CHECK_FALSE(dp.reserve(1));
  CHECK(dp.cq_room() == 0);
  // The consumer reaps three: exactly three fit again.
  uapi::io_uring_cqe32 c;
  for (int i = 0; i < 3; i++) REQUIRE(r.cq.pop(c));
  CHECK_FALSE(dp.reserve(4));
  REQUIRE(dp.reserve(3));
  for (uint64_t i = 0; i < 3; i++) dp.post(100 + i, 1, 0, 0, 0);
  CHECK_FALSE(dp.reserve(1));
  // An event queued while room remained takes its slot at the flush: the
  // room left before it is no longer promised.
  for (int i = 0; i < 2; i++) REQUIRE(r.cq.pop(c));
  REQUIRE(dp.flush());
  REQUIRE(dp.reserve(1));  // two free: one noted
  CHECK(dp.post_event(7, 1));
  CHECK(dp.flush());  // the event takes one slot, one stays free
  REQUIRE(dp.reserve(1));
  dp.post(200, 1, 0, 0, 0);
  CHECK_FALSE(dp.reserve(1));
  CHECK(dp.flush());
  auto got = reap(r);
  REQUIRE(got.size() == 8);
  CHECK(got[0].cqe.user_data == 5);
  CHECK(got[3].cqe.user_data == 100);
  CHECK(got[6].cqe.user_data == 7);
  CHECK(got[7].cqe.user_data == 200);
  CHECK_FALSE(dp.broken());
}

namespace {

// A ring with an eventfd whose consumer asks for a wakeup at CQ tail
// `target` (kCqWakeTarget), or without a target when `with_target` is
// false (kCqNeedWakeup alone).
struct WakeRig {
  Region r{32, 16};
  RingDp dp{r.mem, r.l};
  int efd = eventfd(0, EFD_NONBLOCK);
  std::unique_ptr<EventfdSignal> sig;
  uint64_t next_ud = 1;
  WakeRig() {
    REQUIRE(efd >= 0);
    REQUIRE(EventfdSignal::open(efd, &sig) == 0);
    dp.set_eventfd(sig.get());
  }
  ~WakeRig() { close(efd); }
  void sleep_until(uint32_t target, bool with_target = true) {
    REQUIRE(r.l.cq_off.resv1 != 0);
    r.word(r.l.cq_off.resv1) = target;
    r.word(r.l.cq_off.flags) |=
        zcrx::proto::kCqNeedWakeup | (with_target ? zcrx::proto::kCqWakeTarget : 0u);
  }
  // Publishes `n` NOP completions in one flush, then asks for the wakeup
  // decision as the datapath does after a flush that published.
  bool publish(unsigned n) {
    for (unsigned i = 0; i < n; i++) {
      uapi::io_uring_sqe s{};
      s.opcode = uapi::kOpNop;
      s.user_data = next_ud++;
      REQUIRE(r.sq.push(s));
    }
    REQUIRE(dp.poll_sq(n) == n);
    REQUIRE(dp.flush());
    return dp.wake_if_needed();
  }
  // Publishes one event CQE (these need one free slot, where an SQE
  // needs room for its most CQEs), then asks for the wakeup decision.
  bool publish_event() {
    REQUIRE(dp.post_event(next_ud++, -ECANCELED));
    REQUIRE(dp.flush());
    return dp.wake_if_needed();
  }
  uint64_t signals() {
    uint64_t v = 0;
    return read(efd, &v, 8) == 8 ? v : 0;
  }
  uint32_t flags() { return r.word(r.l.cq_off.flags); }
};

}  // namespace

TEST_CASE("wake target: 7 of 8 CQEs do not signal, the 8th does and clears both bits") {
  WakeRig w;
  // Start from a head that is not 0 (the target is head + wait_nr).
  CHECK_FALSE(w.publish(3));
  CHECK(reap(w.r).size() == 3);
  const uint32_t head = w.r.word(w.r.l.cq_off.head);
  REQUIRE(head == 3);
  w.sleep_until(head + 8);
  for (int i = 0; i < 7; i++) CHECK_FALSE(w.publish(1));
  CHECK(w.signals() == 0);
  CHECK(w.flags() == (zcrx::proto::kCqNeedWakeup | zcrx::proto::kCqWakeTarget));
  CHECK(w.publish(1));
  CHECK(w.signals() == 1);
  CHECK(w.flags() == 0);
  CHECK(reap(w.r).size() == 8);
}

TEST_CASE("wake target: a burst past the target signals once; a target behind the tail at once") {
  WakeRig w;
  w.sleep_until(5);
  CHECK_FALSE(w.publish(4));
  CHECK(w.publish(6));  // 10 >= 5
  CHECK(w.signals() == 1);
  CHECK_FALSE(w.publish(1));  // the bits were cleared
  CHECK(reap(w.r).size() == 11);
  w.sleep_until(2);  // long reached (tail 11): any flush signals
  CHECK(w.publish(1));
  CHECK(w.signals() == 1);
}

TEST_CASE("wake target: ignored without kCqWakeTarget and trivially met with wait_nr 1") {
  WakeRig w;
  w.sleep_until(0x12345678, /*with_target=*/false);  // garbage, but not asked for
  CHECK(w.publish(1));
  CHECK(w.signals() == 1);
  reap(w.r);
  const uint32_t head = w.r.word(w.r.l.cq_off.head);
  w.sleep_until(head + 1);  // what wait_cqe(1) stores
  CHECK(w.publish(1));
  CHECK(w.signals() == 1);
}

TEST_CASE("wake target: a garbage target never sleeps past a full CQ") {
  for (uint32_t target : {0x80000000u, 0x7fffffffu, 1000u, 17u}) {
    CAPTURE(target);
    WakeRig w;
    w.sleep_until(target);
    // 16 CQ entries: 15 CQEs leave room, the 16th fills the CQ.
    for (int i = 0; i < 15; i++) CHECK_FALSE(w.publish_event());
    CHECK(w.signals() == 0);
    CHECK(w.publish_event());
    CHECK(w.signals() == 1);
    CHECK(reap(w.r).size() == 16);
  }
}

TEST_CASE("wake target: events waiting for CQ room wake the sleeper") {
  WakeRig w;
  w.sleep_until(1000);
  CHECK_FALSE(w.publish(14));  // 2 slots left
  // Two events fit now; data reserved after them takes one slot, so one
  // event waits for room when the data is published.
  REQUIRE(w.dp.post_event(900, -ENOBUFS));
  REQUIRE(w.dp.post_event(901, -ENOBUFS));
  uapi::io_uring_sqe s{};
  s.opcode = uapi::kOpNop;
  s.user_data = 77;
  REQUIRE(w.r.sq.push(s));
  REQUIRE(w.dp.poll_sq(1) == 1);
  REQUIRE(w.dp.flush());
  REQUIRE(w.dp.has_queued_events());
  CHECK(w.dp.wake_if_needed());
  CHECK(w.signals() == 1);
}
