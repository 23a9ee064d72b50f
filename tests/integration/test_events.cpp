// SPDX-License-Identifier: MIT
// zcrx events through zcrxd: ZCRX_EVENT_COPY from the copy fallback
// (net_ring + --inject), ZCRX_EVENT_ALLOC_FAIL from a starved area, each
// once until re-armed and only on the master ring, the shared zcrx_stats
// block, and the kernel's errnos for descriptors and ARM_EVENT. Last, the
// ring's event sink (dpdk_app/event_sink.h) on plain memory: where its
// CQE goes among the receive CQEs of the same iteration.
#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "consumer.h"
#include "daemon.h"
#include "event_sink.h"
#include "eventfd_signal.h"
#include "raw_session.h"
#include "ring_dp.h"
#include "zcrx/pattern.h"
#include "zcrx/proto.h"

using namespace itest;
namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;

namespace {

constexpr uint64_t kDataUd = 5;
constexpr uint64_t kEventUd = 0xE7E7'0000'0001ull;
constexpr uint32_t kPayload = 1200;

// What a consumer saw: data CQEs of kDataUd (checked byte by byte), event
// CQEs of kEventUd (checked field by field), anything else.
struct Seen {
  uint64_t packets = 0, bytes = 0, bad_payloads = 0, bad_offsets = 0;
  std::vector<uint64_t> seqs;
  std::vector<int32_t> events;  // res of each event CQE, in order
  uint64_t bad_events = 0;      // flags or the zcrx half not zero
  uint64_t other = 0;           // any other CQE
  std::vector<uapi::io_uring_cqe32> held;  // data CQEs not refilled yet
};

// Reads completions until `done(seen)` or `timeout_ms`. Data buffers are
// refilled when `refill`, else kept in seen.held.
void pump(zcrx::Ring& ring, zcrx::Ifq* ifq, Seen& s, const std::function<bool(const Seen&)>& done,
          int timeout_ms, bool refill, zcrx::WaitMode mode = zcrx::WaitMode::busy_poll) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done(s) && std::chrono::steady_clock::now() < end) {
    if (ring.wait_cqe(1, mode, 10'000'000) <= 0) continue;
    ring.for_each_cqe([&](const uapi::io_uring_cqe32& c) {
      if (c.cqe.user_data == kEventUd) {
        s.events.push_back(c.cqe.res);
        if (c.cqe.flags != 0 || c.zcqe.off != 0 || c.zcqe.__pad != 0) s.bad_events++;
        return;
      }
      if (c.cqe.user_data != kDataUd || c.cqe.res <= 0 || !(c.cqe.flags & uapi::kCqeFMore)) {
        s.other++;
        return;
      }
      const uint8_t* p = ifq->data(c);
      if (!p) {
        s.bad_offsets++;
        return;
      }
      const size_t len = static_cast<size_t>(c.cqe.res);
      if (zcrx::pattern::first_mismatch(p, len) != len) s.bad_payloads++;
      s.seqs.push_back(zcrx::pattern::seq_of(p, len));
      s.packets++;
      s.bytes += len;
      if (refill) ifq->refill(c);
      else s.held.push_back(c);
    });
    if (refill) ifq->flush_refills();
  }
}

// Gives back `n` held buffers (all when n exceeds what is held).
void give_back(zcrx::Ifq* ifq, Seen& s, size_t n) {
  if (n > s.held.size()) n = s.held.size();
  for (size_t i = 0; i < n; i++) REQUIRE(ifq->refill(s.held[i]));
  ifq->flush_refills();
  s.held.erase(s.held.begin(), s.held.begin() + static_cast<long>(n));
}

int setup_events(zcrx::Ring& ring, const std::string& sock, zcrx::Ifq** ifq, size_t area_len,
                 uint32_t mask, bool stats) {
  if (int rc = open_ring(ring, sock, 8192)) return rc;
  zcrx::IfqParams p;
  p.area_len = area_len;
  p.rq_entries = 4096;
  p.event_mask = mask;
  p.event_user_data = kEventUd;
  p.event_stats = stats;
  return ring.register_ifq(p, ifq);
}

bool no_cqe_within(zcrx::Ring& ring, int ms) {
  return ring.wait_cqe(1, zcrx::WaitMode::busy_poll, int64_t{ms} * 1'000'000) == -ETIME;
}

}  // namespace

TEST_CASE("COPY events: the master gets them once per arm, clone and import members none") {
  const uint64_t n = 2000;
  std::string pcap = scratch_dir() + "/events-copy.pcap";
  REQUIRE(make_pcap(pcap, n, kPayload, "9000"));
  Daemon d("net_ring0", {"--inject", pcap, "--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    // A small area (256 niovs): while A holds its buffers the copies stop,
    // so the re-arm below lands before the traffic is over.
    zcrx::Ring a;
    zcrx::Ifq* qa = nullptr;
    const int ida = setup_events(a, d.socket(), &qa, 1u << 20, 1u << uapi::ZCRX_EVENT_COPY, true);
    REQUIRE(ida >= 0);
    uapi::zcrx_stats st{};
    REQUIRE(qa->copy_stats(&st));
    CHECK(st.copy_count == 0);
    CHECK(st.copy_bytes == 0);
    // Members without events: a clone (B) and an import (C).
    zcrx::Ring b, c;
    zcrx::Ifq* qb = nullptr;
    zcrx::Ifq* qc = nullptr;
    REQUIRE(open_ring(b, d.socket(), 256) == 0);
    const int idb = b.clone_ifq(a.ring_fd(), static_cast<uint32_t>(ida), 64, &qb);
    REQUIRE(idb >= 0);
    CHECK(qb->event_mask() == 0);
    REQUIRE(open_ring(c, d.socket(), 256) == 0);
    const int exp = a.export_ifq(static_cast<uint32_t>(ida));
    REQUIRE(exp >= 0);
    const int idc = c.import_ifq(exp, &qc);
    close(exp);
    REQUIRE(idc >= 0);
    // Not fired yet: nothing to re-arm, from any member.
    CHECK(a.arm_event(static_cast<uint32_t>(ida), uapi::ZCRX_EVENT_COPY) == -EINVAL);
    CHECK(b.arm_event(static_cast<uint32_t>(idb), uapi::ZCRX_EVENT_COPY) == -EINVAL);

    REQUIRE(arm_udp(a, static_cast<uint32_t>(ida), 9000, kDataUd) >= 0);
    Seen s;
    // First COPY event; A holds every buffer so the queue starves.
    pump(a, qa, s, [](const Seen& x) { return !x.events.empty() && x.packets >= 200; }, 20000,
         false);
    REQUIRE(s.events.size() == 1);
    CHECK(s.events[0] == static_cast<int32_t>(uapi::ZCRX_EVENT_COPY));
    // Exactly one until re-armed, whatever A receives meanwhile.
    pump(a, qa, s, [](const Seen&) { return false; }, 300, false);
    CHECK(s.events.size() == 1);
    // The clone re-arms; the import finds it armed already.
    CHECK(b.arm_event(static_cast<uint32_t>(idb), uapi::ZCRX_EVENT_COPY) == 0);
    CHECK(c.arm_event(static_cast<uint32_t>(idc), uapi::ZCRX_EVENT_COPY) == -EINVAL);
    CHECK(a.arm_event(static_cast<uint32_t>(ida), uapi::ZCRX_EVENT_ALLOC_FAIL) == -EINVAL);
    // Buffers back: copies resume and the next one posts to the master.
    give_back(qa, s, s.held.size());
    pump(a, qa, s, [&](const Seen& x) { return x.packets >= n; }, 60000, true);
    CHECK(s.packets == n);
    CHECK(s.events.size() == 2);
    for (int32_t t : s.events) CHECK(t == static_cast<int32_t>(uapi::ZCRX_EVENT_COPY));
    CHECK(s.bad_events == 0);
    CHECK(s.other == 0);
    CHECK(s.bad_payloads == 0);
    CHECK(s.bad_offsets == 0);
    CHECK(s.bytes == n * kPayload);
    // A re-arms itself; nothing is copied any more, so nothing fires.
    CHECK(a.arm_event(static_cast<uint32_t>(ida), uapi::ZCRX_EVENT_COPY) == 0);
    CHECK(no_cqe_within(a, 300));
    // The shared counters: every packet was one copy of kPayload bytes.
    REQUIRE(qa->copy_stats(&st));
    CHECK(st.copy_count == n);
    CHECK(st.copy_bytes == n * kPayload);
    // The members saw no CQE at all (they armed no RECV_ZC).
    CHECK(b.cq_ready() == 0);
    CHECK(c.cq_ready() == 0);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
  CHECK(d.final_counter("copied") == n);
  CHECK(d.final_counter("copied_bytes") == n * kPayload);
}

TEST_CASE("a registration without events gets no event CQE, and no stats block") {
  const uint64_t n = 500;
  std::string pcap = scratch_dir() + "/events-none.pcap";
  REQUIRE(make_pcap(pcap, n, kPayload, "9000"));
  Daemon d("net_ring0", {"--inject", pcap, "--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring a;
    zcrx::Ifq* qa = nullptr;
    const int id = setup_events(a, d.socket(), &qa, 1u << 20, 0, false);
    REQUIRE(id >= 0);
    uapi::zcrx_stats st{};
    CHECK_FALSE(qa->copy_stats(&st));
    REQUIRE(arm_udp(a, static_cast<uint32_t>(id), 9000, kDataUd) >= 0);
    Seen s;
    pump(a, qa, s, [&](const Seen& x) { return x.packets >= n; }, 30000, true);
    CHECK(s.packets == n);
    CHECK(s.bad_payloads == 0);
    CHECK(s.events.empty());
    CHECK(s.other == 0);
    CHECK(no_cqe_within(a, 200));
    // Nothing ever fired: ARM has nothing to re-arm.
    CHECK(a.arm_event(static_cast<uint32_t>(id), uapi::ZCRX_EVENT_COPY) == -EINVAL);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.final_counter("copied") == n);
}

TEST_CASE("ALLOC_FAIL: once until re-armed, again while still starved, woken through the eventfd") {
  const uint64_t n = 400;
  const uint32_t niovs = 16;
  std::string pcap = scratch_dir() + "/events-starve.pcap";
  REQUIRE(make_pcap(pcap, n, kPayload, "9000"));
  // Bursts of 8: the 16 niovs take two bursts, then the queue is starved.
  Daemon d("net_ring0", {"--inject", pcap, "--rx-gate", "1", "--burst", "8"});
  REQUIRE(d.ready());
  {
    zcrx::Ring a;
    zcrx::Ifq* qa = nullptr;
    const int id = setup_events(a, d.socket(), &qa, niovs * 4096u,
                                1u << uapi::ZCRX_EVENT_ALLOC_FAIL, false);
    REQUIRE(id >= 0);
    REQUIRE(a.enable_eventfd() == 0);
    REQUIRE(arm_udp(a, static_cast<uint32_t>(id), 9000, kDataUd) >= 0);
    Seen s;
    // Holding every buffer: all 16 arrive, then one ALLOC_FAIL, which the
    // consumer sleeping on its eventfd is woken for.
    pump(a, qa, s, [](const Seen& x) { return !x.events.empty(); }, 20000, false,
         zcrx::WaitMode::eventfd);
    REQUIRE(s.events.size() == 1);
    CHECK(s.events[0] == static_cast<int32_t>(uapi::ZCRX_EVENT_ALLOC_FAIL));
    // A burst may bring fewer than 8 frames: the queue stops polling once
    // fewer than a burst of buffers is left.
    const uint64_t first = s.packets;
    CHECK(first > niovs - 8);
    CHECK(first <= niovs);
    CHECK(s.held.size() == first);
    // Still starved, not re-armed: nothing more.
    pump(a, qa, s, [](const Seen&) { return false; }, 400, false, zcrx::WaitMode::eventfd);
    CHECK(s.events.size() == 1);
    CHECK(s.packets == first);
    // Re-armed while still starved: the event comes again at once, with
    // no buffer given back (the kernel's page pool fails every refill).
    CHECK(a.arm_event(static_cast<uint32_t>(id), uapi::ZCRX_EVENT_ALLOC_FAIL) == 0);
    pump(a, qa, s, [](const Seen& x) { return x.events.size() >= 2; }, 20000, false,
         zcrx::WaitMode::eventfd);
    CHECK(s.events.size() == 2);
    CHECK(s.events.back() == static_cast<int32_t>(uapi::ZCRX_EVENT_ALLOC_FAIL));
    CHECK(s.packets == first);
    // Half the buffers back: the traffic eats them and the area runs dry
    // again; re-armed, a third event.
    // (Whether it fires before or after the freed buffers are used up, one
    // arm gives one event.)
    give_back(qa, s, niovs / 2);
    CHECK(a.arm_event(static_cast<uint32_t>(id), uapi::ZCRX_EVENT_ALLOC_FAIL) == 0);
    pump(a, qa, s, [](const Seen& x) { return x.events.size() >= 3; }, 20000, false,
         zcrx::WaitMode::eventfd);
    CHECK(s.events.size() == 3);
    CHECK(s.events.back() == static_cast<int32_t>(uapi::ZCRX_EVENT_ALLOC_FAIL));
    CHECK(s.packets <= first + niovs / 2 + (niovs - first));
    // Everything back, and the rest received with refills: not re-armed,
    // so no further event however often it starves.
    give_back(qa, s, s.held.size());
    pump(a, qa, s, [&](const Seen& x) { return x.packets >= n; }, 60000, true);
    CHECK(s.packets == n);
    CHECK(s.events.size() == 3);
    CHECK(s.bad_events == 0);
    CHECK(s.other == 0);
    CHECK(s.bad_payloads == 0);
    CHECK(s.bad_offsets == 0);
  }
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
  CHECK(d.final_counter("copied") == n);
}

namespace {

// A raw session that also re-arms events (ZCRX_CTRL_ARM_EVENT).
struct Raw : RawSession {
  using RawSession::RawSession;
  int arm(uint32_t id, uint32_t type, uint32_t resv0 = 0) {
    uapi::zcrx_ctrl c{};
    c.zcrx_id = id;
    c.op = uapi::ZCRX_CTRL_ARM_EVENT;
    c.zc_arm_event.event_type = type;
    c.zc_arm_event.__resv[0] = resv0;
    return call(proto::kOpCtrl, proto::CtrlReq{c});
  }
};

// A registration with a descriptor: 256 RQEs, a 4 MiB area.
proto::RegisterIfqReq ev_req(uint32_t mask) {
  proto::RegisterIfqReq r{};
  r.reg.rq_entries = 256;
  r.area.len = 4u << 20;
  r.reg.event_desc = 1;  // any non-zero value: the descriptor is `event`
  r.event.user_data = kEventUd;
  r.event.type_mask = mask;
  return r;
}

}  // namespace

TEST_CASE("event descriptors and ARM_EVENT through zcrxd: the kernel's errnos") {
  std::string pcap = scratch_dir() + "/events-errno.pcap";
  REQUIRE(make_pcap(pcap, 10, 64, "9000"));
  Daemon d(pcap_vdev({pcap}));
  REQUIRE(d.ready());
  Raw a(d.socket());
  REQUIRE(a.sock >= 0);
  REQUIRE(a.create_ring() == 0);
  int a_ring = a.take_fd(0);
  int area = make_area(4u << 20);
  REQUIRE(area >= 0);
  const uint32_t both = (1u << uapi::ZCRX_EVENT_ALLOC_FAIL) | (1u << uapi::ZCRX_EVENT_COPY);

  auto r = ev_req(both | (1u << 2));  // a type that does not exist
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -EINVAL);
  r = ev_req(both);
  r.event.__resv2[8] = 1;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -EINVAL);
  r = ev_req(both);
  r.event.flags = 2;  // unknown flag
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -EINVAL);
  r = ev_req(both);
  r.event.stats_offset = proto::stats_offset_for(256);  // without the STATS flag
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -EINVAL);
  // The stats block: misaligned, over the RQEs, past the region.
  r = ev_req(both);
  r.event.flags = uapi::kZcrxEventDescFlagStats;
  r.event.stats_offset = proto::stats_offset_for(256) + 4;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -EINVAL);
  r.event.stats_offset = 64;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -ERANGE);
  r.event.stats_offset = 1ull << 40;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -ERANGE);
  // No descriptor but a non-zero `event`: refused before anything else.
  auto nodesc = ev_req(both);
  nodesc.reg.event_desc = 0;
  CHECK(a.call(proto::kOpRegisterIfq, nodesc, area) == -EINVAL);
  // Every failure above was undone: the queue is free, and the block
  // where stats_offset_for() puts it is accepted.
  r = ev_req(both);
  r.event.flags = uapi::kZcrxEventDescFlagStats;
  r.event.stats_offset = proto::stats_offset_for(256);
  REQUIRE(a.call(proto::kOpRegisterIfq, r, area) == 0);
  REQUIRE(a.nfds == 1);  // the RQ region; the ring's first entry is id 0

  // ARM_EVENT: nothing fired yet (net_pcap delivers in place, so nothing
  // is copied, and 10 frames cannot exhaust a 1024-niov area).
  CHECK(a.arm(0, uapi::ZCRX_EVENT_COPY) == -EINVAL);
  CHECK(a.arm(0, uapi::ZCRX_EVENT_ALLOC_FAIL) == -EINVAL);
  CHECK(a.arm(0, uapi::__ZCRX_EVENT_TYPE_LAST) == -EINVAL);
  CHECK(a.arm(0, uapi::ZCRX_EVENT_COPY, 1) == -EINVAL);  // zc_arm_event.__resv
  CHECK(a.arm(7, uapi::ZCRX_EVENT_COPY) == -ENXIO);

  // Clone and import never carry a descriptor.
  Raw b(d.socket());
  REQUIRE(b.create_ring() == 0);
  auto cl = ev_req(both);
  cl.reg.flags = uapi::kZcrxIfqRegClone;
  cl.reg.if_rxq = 0;  // the source zcrx id
  cl.reg.rq_entries = 64;
  cl.area = {};
  CHECK(b.call(proto::kOpRegisterIfq, cl, a_ring) == -EINVAL);
  uapi::zcrx_ctrl ex{};
  ex.op = uapi::ZCRX_CTRL_EXPORT;
  REQUIRE(a.call(proto::kOpExport, proto::CtrlReq{ex}) == 0);
  int exp = a.take_fd(0);
  auto im = ev_req(both);
  im.reg.flags = uapi::kZcrxRegImport;
  im.reg.rq_entries = 0;
  im.area = {};
  CHECK(b.call(proto::kOpRegisterIfq, im, exp) == -EINVAL);
  // Without the descriptor both work, and their ARM of an unfired type is
  // refused as the master's is.
  im.reg.event_desc = 0;
  im.event = {};
  REQUIRE(b.call(proto::kOpRegisterIfq, im, exp) == 0);
  CHECK(b.arm(0, uapi::ZCRX_EVENT_COPY) == -EINVAL);
  cl.reg.event_desc = 0;
  cl.event = {};
  REQUIRE(b.call(proto::kOpRegisterIfq, cl, a_ring) == 0);
  CHECK(b.arm(1, uapi::ZCRX_EVENT_ALLOC_FAIL) == -EINVAL);
  close(exp);
  close(area);
  close(a_ring);
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

// ---- the sink alone, on a ring region in plain memory -------------------------

namespace {

struct Region {
  zcrx::RingRegionLayout l;
  void* mem;
  zcrx::CqConsumer cq;
  Region(uint32_t sq_entries, uint32_t cq_entries)
      : l(zcrx::ring_region_layout(sq_entries, cq_entries)),
        mem(std::aligned_alloc(4096, l.size)) {
    zcrx::init_ring_region(mem, l);
    cq = zcrx::cq_consumer(mem, l);
  }
  ~Region() { std::free(mem); }
  uint32_t& word(uint32_t off) { return *reinterpret_cast<uint32_t*>(static_cast<char*>(mem) + off); }
  std::vector<uapi::io_uring_cqe32> reap() {
    std::vector<uapi::io_uring_cqe32> out;
    uapi::io_uring_cqe32 c;
    while (cq.pop(c)) out.push_back(c);
    return out;
  }
};

bool is_event(const uapi::io_uring_cqe32& c, uint64_t ud, int32_t type) {
  return c.cqe.user_data == ud && c.cqe.res == type && c.cqe.flags == 0 && c.zcqe.off == 0 &&
         c.zcqe.__pad == 0;
}

}  // namespace

TEST_CASE("RingEvents: the event CQE follows the iteration's receive CQEs and never takes their room") {
  Region r(8, 8);
  zcrxd::RingDp dp(r.mem, r.l);
  zcrxd::RingEvents ev(dp);
  // The sink does not look at the ifq: any object stands for it.
  alignas(8) static char ifq_stand_in[64];
  zcrx::core::Ifq& ifq = *reinterpret_cast<zcrx::core::Ifq*>(ifq_stand_in);

  // Alone: invisible until the flush, then one CQE32 of the exact form.
  REQUIRE(ev.on_event(ifq, 77, uapi::ZCRX_EVENT_COPY));
  CHECK(r.reap().empty());
  REQUIRE(dp.flush());
  auto got = r.reap();
  REQUIRE(got.size() == 1);
  CHECK(is_event(got[0], 77, uapi::ZCRX_EVENT_COPY));

  // Raised in the middle of a packet whose 3 CQEs were reserved: after them.
  REQUIRE(dp.reserve(3));
  dp.post(5, 100, uapi::kCqeFMore, 0x1000, 0);
  REQUIRE(ev.on_event(ifq, 77, uapi::ZCRX_EVENT_ALLOC_FAIL));
  dp.post(5, 200, uapi::kCqeFMore, 0x2000, 0);
  dp.post(5, 300, uapi::kCqeFMore, 0x3000, 0);
  REQUIRE(dp.flush());
  got = r.reap();
  REQUIRE(got.size() == 4);
  CHECK(got[0].cqe.res == 100);
  CHECK(got[1].cqe.res == 200);
  CHECK(got[2].cqe.res == 300);
  CHECK(got[2].zcqe.off == 0x3000);
  CHECK(is_event(got[3], 77, uapi::ZCRX_EVENT_ALLOC_FAIL));

  // Receive CQEs reserved after the event filled the CQ: the receive CQEs
  // go out whole, the event waits for the next flush with room.
  REQUIRE(ev.on_event(ifq, 77, uapi::ZCRX_EVENT_COPY));
  REQUIRE(dp.reserve(8));
  for (int i = 0; i < 8; i++) dp.post(5, 10 + i, uapi::kCqeFMore, 0, 0);
  REQUIRE(dp.flush());
  CHECK_FALSE(dp.broken());
  got = r.reap();
  REQUIRE(got.size() == 8);
  for (int i = 0; i < 8; i++) CHECK(got[static_cast<size_t>(i)].cqe.res == 10 + i);
  REQUIRE(dp.flush());
  got = r.reap();
  REQUIRE(got.size() == 1);
  CHECK(is_event(got[0], 77, uapi::ZCRX_EVENT_COPY));

  // A full CQ refuses the event (the engine then leaves the type armed).
  REQUIRE(dp.reserve(8));
  for (int i = 0; i < 8; i++) dp.post(5, 1, uapi::kCqeFMore, 0, 0);
  REQUIRE(dp.flush());
  CHECK_FALSE(ev.on_event(ifq, 77, uapi::ZCRX_EVENT_COPY));
  CHECK_FALSE(dp.flush());
  CHECK(r.reap().size() == 8);

  // An event alone wakes a consumer that asked for it, as receive CQEs do.
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(efd >= 0);
  std::unique_ptr<zcrxd::EventfdSignal> sig;
  REQUIRE(zcrxd::EventfdSignal::open(efd, &sig) == 0);
  dp.set_eventfd(sig.get());
  r.word(r.l.cq_off.flags) |= proto::kCqNeedWakeup;
  REQUIRE(ev.on_event(ifq, 78, uapi::ZCRX_EVENT_ALLOC_FAIL));
  REQUIRE(dp.flush());
  CHECK(dp.wake_if_needed());
  uint64_t count = 0;
  CHECK(read(efd, &count, sizeof(count)) == static_cast<ssize_t>(sizeof(count)));
  CHECK(count == 1);
  CHECK((r.word(r.l.cq_off.flags) & proto::kCqNeedWakeup) == 0);
  got = r.reap();
  REQUIRE(got.size() == 1);
  CHECK(is_event(got[0], 78, uapi::ZCRX_EVENT_ALLOC_FAIL));
  dp.set_eventfd(nullptr);
  close(efd);
}
