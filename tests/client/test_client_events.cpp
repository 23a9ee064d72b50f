// SPDX-License-Identifier: MIT
// libzcrx and zcrx events against the fake server: the descriptor on the
// wire, event CQEs told apart from RECV_ZC completions, re-arming, the
// shared copy counters, and the C API.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fake_server.h"
#include "zcrx/client.h"
#include "zcrx/zcrx.h"

using namespace zcrx;
using namespace zcrx::proto;

namespace {

constexpr uint64_t kEventData = 0xe5e5'0000'0000'0001ull;
constexpr uint32_t kAllocFail = uapi::ZCRX_EVENT_ALLOC_FAIL;
constexpr uint32_t kCopy = uapi::ZCRX_EVENT_COPY;

struct EventRing {
  fake::Server srv;
  Ring ring;
  Ifq* ifq = nullptr;
  int id = -1;

  explicit EventRing(uint32_t mask, bool stats = false, uint32_t rq = 64) {
    REQUIRE(ring.attach(srv.open_session()) == 0);
    REQUIRE(ring.create(8, 16) == 0);
    IfqParams p;
    p.rq_entries = rq;
    p.area_len = 1 << 20;
    p.event_mask = mask;
    p.event_user_data = kEventData;
    p.event_stats = stats;
    id = ring.register_ifq(p, &ifq);
    REQUIRE(id >= 0);
  }

  /// The single ready CQE (consumed).
  uapi::io_uring_cqe32 one_cqe() {
    REQUIRE(ring.cq_ready() == 1);
    uapi::io_uring_cqe32 c{};
    REQUIRE(ring.peek_cqes(&c, 1) == 1);
    ring.cq_advance(1);
    return c;
  }
};

}  // namespace

TEST_CASE("events: the descriptor goes by value with a non-zero event_desc") {
  EventRing r(1u << kAllocFail | 1u << kCopy, true, 100);
  const RegisterIfqReq req = r.srv.last_register();
  CHECK(req.reg.event_desc != 0);
  CHECK(req.event.user_data == kEventData);
  CHECK(req.event.type_mask == 3u);
  CHECK(req.event.flags == uapi::kZcrxEventDescFlagStats);
  CHECK(req.event.stats_offset == stats_offset_for(100));
  for (uint64_t w : req.event.__resv2) CHECK(w == 0);
  CHECK(r.ifq->event_mask() == 3u);
  CHECK(r.ifq->event_user_data() == kEventData);

  // Without events nothing is sent: event_desc 0, descriptor all zero.
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  REQUIRE(ring.create(8, 16) == 0);
  IfqParams p;
  p.area_len = 1 << 20;
  Ifq* q = nullptr;
  REQUIRE(ring.register_ifq(p, &q) >= 0);
  const RegisterIfqReq plain = srv.last_register();
  CHECK(plain.reg.event_desc == 0);
  const uapi::zcrx_event_desc zero{};
  CHECK(std::memcmp(&plain.event, &zero, sizeof zero) == 0);
  CHECK(q->event_mask() == 0);
}

TEST_CASE("events: an event CQE is told apart from RECV_ZC completions, then re-armed") {
  EventRing r(1u << kAllocFail);
  REQUIRE(r.srv.raise_event(0, r.id, kAllocFail));
  const uapi::io_uring_cqe32 ev = r.one_cqe();
  CHECK(ev.cqe.user_data == kEventData);
  CHECK(ev.cqe.res == static_cast<int32_t>(kAllocFail));
  CHECK(ev.cqe.flags == 0);
  CHECK(r.ifq->event_type(ev) == static_cast<int>(kAllocFail));
  CHECK(is_event_cqe(ev, kEventData));
  CHECK(r.ifq->data(ev) == nullptr);  // never taken for a payload
  CHECK_FALSE(r.ifq->refill(ev));

  // Fired once: more starvation posts nothing until re-armed.
  CHECK_FALSE(r.srv.raise_event(0, r.id, kAllocFail));
  CHECK(r.ring.cq_ready() == 0);
  CHECK(r.ring.arm_event(r.id, kAllocFail) == 0);
  CHECK(r.srv.arms == 1);
  CHECK(r.ring.arm_event(r.id, kAllocFail) == -EINVAL);  // not fired since
  CHECK(r.ring.arm_event(r.id, uapi::__ZCRX_EVENT_TYPE_LAST) == -EINVAL);
  CHECK(r.ring.arm_event(r.id + 5, kAllocFail) == -ENXIO);
  REQUIRE(r.srv.raise_event(0, r.id, kAllocFail));
  CHECK(r.ifq->event_type(r.one_cqe()) == static_cast<int>(kAllocFail));
  // A type the registration did not ask for is never posted.
  CHECK_FALSE(r.srv.raise_event(0, r.id, kCopy));
}

TEST_CASE("events: event_type() rejects everything that is not this ifq's event") {
  EventRing r(1u << kCopy);
  uapi::io_uring_cqe32 c{};
  c.cqe.user_data = kEventData;
  c.cqe.res = static_cast<int32_t>(kCopy);
  CHECK(r.ifq->event_type(c) == static_cast<int>(kCopy));
  SUBCASE("a RECV_ZC completion with the same user_data (F_MORE)") { c.cqe.flags = uapi::kCqeFMore; }
  SUBCASE("another user_data") { c.cqe.user_data = kEventData + 1; }
  SUBCASE("a type it did not register") { c.cqe.res = static_cast<int32_t>(kAllocFail); }
  SUBCASE("an unknown type") { c.cqe.res = 2; }
  SUBCASE("a negative res") { c.cqe.res = -ENOBUFS; }
  CHECK(r.ifq->event_type(c) == -1);
  // An ifq registered without events never claims a CQE.
  EventRing plain(0);
  c = {};
  c.cqe.user_data = plain.ifq->event_user_data();
  CHECK(plain.ifq->event_type(c) == -1);
}

TEST_CASE("events: copy counters in the RQ region, and ZCRX_EVENT_COPY") {
  EventRing r(1u << kCopy, true);
  uapi::zcrx_stats s{1, 1};
  REQUIRE(r.ifq->copy_stats(&s));
  CHECK(s.copy_count == 0);
  CHECK(s.copy_bytes == 0);
  CHECK(r.srv.report_copy(0, r.id, 1400));
  CHECK_FALSE(r.srv.report_copy(0, r.id, 600));  // counted, not posted again
  REQUIRE(r.ifq->copy_stats(&s));
  CHECK(s.copy_count == 2);
  CHECK(s.copy_bytes == 2000);
  CHECK(r.ifq->event_type(r.one_cqe()) == static_cast<int>(kCopy));
  // The RQ next to the block still carries refills.
  CHECK(r.ifq->refill(uapi::area_token(1) | 4096, 10));
  r.ifq->flush_refills();
  std::vector<uapi::io_uring_zcrx_rqe> rqes;
  CHECK(r.srv.drain_rq(0, r.id, rqes) == 1);
  REQUIRE(r.ifq->copy_stats(&s));
  CHECK(s.copy_count == 2);

  EventRing plain(1u << kCopy, false);
  CHECK_FALSE(plain.ifq->copy_stats(&s));
}

TEST_CASE("events: an importer has no events of its own but may re-arm") {
  EventRing r(1u << kAllocFail);
  const int efd = r.ring.export_ifq(r.id);
  REQUIRE(efd >= 0);
  Ring other;
  REQUIRE(other.attach(r.srv.open_session()) == 0);
  REQUIRE(other.create(8, 16) == 0);
  Ifq* imp = nullptr;
  const int iid = other.import_ifq(efd, &imp);
  REQUIRE(iid >= 0);
  close(efd);
  CHECK(imp->event_mask() == 0);
  // Raised through the importer's entry, posted on the master's ring.
  REQUIRE(r.srv.raise_event(1, iid, kAllocFail));
  CHECK(other.cq_ready() == 0);
  CHECK(r.ifq->event_type(r.one_cqe()) == static_cast<int>(kAllocFail));
  CHECK(other.arm_event(iid, kAllocFail) == 0);
  CHECK(r.srv.raise_event(0, r.id, kAllocFail));
}

TEST_CASE("events: the C API registers, recognises, re-arms and reads the counters") {
  fake::Server srv;
  zcrx_ring* ring = nullptr;
  REQUIRE(zcrx_ring_new(&ring) == 0);
  REQUIRE(zcrx_attach(ring, srv.open_session()) == 0);
  REQUIRE(zcrx_create(ring, 8, 16) == 0);
  zcrx_ifq_params p = ZCRX_IFQ_PARAMS_INIT;
  p.area_len = 1 << 20;
  p.rq_entries = 32;
  zcrx_event_params ev{};
  ev.user_data = 4242;
  ev.type_mask = 1u << ZCRX_EVT_ALLOC_FAIL | 1u << ZCRX_EVT_COPY;
  ev.stats = 1;
  zcrx_ifq* ifq = nullptr;
  const int id = zcrx_register_ifq_events(ring, &p, &ev, &ifq);
  REQUIRE(id >= 0);
  CHECK(srv.last_register().event.stats_offset == stats_offset_for(32));
  REQUIRE(srv.report_copy(0, static_cast<uint32_t>(id), 777));
  zcrx_cqe32 c{};
  REQUIRE(zcrx_peek_cqes(ring, &c, 1) == 1);
  zcrx_cq_advance(ring, 1);
  CHECK(c.user_data == 4242);
  CHECK(zcrx_ifq_event(ifq, &c) == ZCRX_EVT_COPY);
  uint64_t count = 0, bytes = 0;
  CHECK(zcrx_ifq_copy_stats(ifq, &count, &bytes) == 0);
  CHECK(count == 1);
  CHECK(bytes == 777);
  CHECK(zcrx_arm_event(ring, static_cast<uint32_t>(id), ZCRX_EVT_COPY) == 0);
  CHECK(zcrx_arm_event(ring, static_cast<uint32_t>(id), ZCRX_EVT_COPY) == -EINVAL);
  c.user_data = 1;
  CHECK(zcrx_ifq_event(ifq, &c) == -1);
  zcrx_ring_free(ring);

  // Registered without a descriptor: no counters.
  zcrx_ring* r2 = nullptr;
  REQUIRE(zcrx_ring_new(&r2) == 0);
  REQUIRE(zcrx_attach(r2, srv.open_session()) == 0);
  REQUIRE(zcrx_create(r2, 8, 16) == 0);
  zcrx_ifq* q2 = nullptr;
  REQUIRE(zcrx_register_ifq(r2, &p, &q2) >= 0);
  CHECK(zcrx_ifq_copy_stats(q2, &count, &bytes) == -ENOENT);
  zcrx_ring_free(r2);
}
