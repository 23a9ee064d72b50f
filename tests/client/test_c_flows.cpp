// SPDX-License-Identifier: MIT
// The C API's flows (5-tuple, IP version, flow groups through clone and
// import), ifq and ring queries (RQ free space, CQ overflow, events, wait
// modes) and descriptor passing, over the fake server: what C sends on the
// wire and what it reads back.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "c_api_smoke.h"
#include "fake_server.h"
#include "zcrx/pattern.h"
#include "zcrx/zcrx.h"

namespace {

struct CRing {
  zcrx_ring* ring = nullptr;
  zcrx_ifq* ifq = nullptr;
  int id = -1;
  CRing(fake::Server& srv, bool register_ifq, uint32_t rq_entries = 16) {
    REQUIRE(zcrx_ring_new(&ring) == 0);
    REQUIRE(zcrx_attach(ring, srv.open_session()) == 0);
    REQUIRE(zcrx_create(ring, 8, 16) == 0);
    if (!register_ifq) return;
    zcrx_ifq_params p = ZCRX_IFQ_PARAMS_INIT;
    p.area_len = 1 << 20;
    p.rq_entries = rq_entries;
    id = zcrx_register_ifq(ring, &p, &ifq);
    REQUIRE(id >= 0);
  }
  ~CRing() { zcrx_ring_free(ring); }
};

bool same_file(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace

TEST_CASE("c flows: the helpers fill the spec and OPEN_FLOW carries it byte for byte") {
  zcrx_flow_spec udp6, five4, five6;
  REQUIRE(c_api_flow_specs(&udp6, &five4, &five6) == 0);  // built in C
  CHECK(udp6.kind == ZCRX_FLOW_UDP_PORT);
  CHECK(udp6.ip_version == 6);
  CHECK(udp6.dst_port == 9000);
  CHECK(udp6.src_port == 0);
  const uint8_t zero[16] = {};
  CHECK(std::memcmp(udp6.src_addr, zero, 16) == 0);
  CHECK(std::memcmp(udp6.dst_addr, zero, 16) == 0);
  CHECK(five4.kind == ZCRX_FLOW_FIVE_TUPLE);
  const uint8_t src4[16] = {10, 0, 0, 1}, dst4[16] = {10, 0, 0, 2};
  CHECK(std::memcmp(five4.src_addr, src4, 16) == 0);  // the other 12 bytes zero
  CHECK(std::memcmp(five4.dst_addr, dst4, 16) == 0);

  fake::Server srv;
  CRing r(srv, true);
  for (const zcrx_flow_spec* f : {&udp6, &five4, &five6}) {
    const int h = zcrx_open_flow(r.ring, r.id, f);
    REQUIRE(h >= 0);
    const zcrx::proto::OpenFlowReq req = srv.last_open_flow();
    CHECK(req.zcrx_id == static_cast<uint32_t>(r.id));
    CHECK(req.kind == f->kind);
    CHECK(req.ip_version == f->ip_version);
    CHECK(req.src_port == f->src_port);
    CHECK(req.dst_port == f->dst_port);
    CHECK(std::memcmp(req.src_addr, f->src_addr, 16) == 0);
    CHECK(std::memcmp(req.dst_addr, f->dst_addr, 16) == 0);
    CHECK(req.resv0 == 0);
    CHECK(req.resv1 == 0);
    CHECK(zcrx_close_flow(r.ring, static_cast<uint32_t>(h)) == 0);
  }
  CHECK(five6.src_addr[15] == 0x2f);
  CHECK(five6.dst_addr[0] == 0x40);
  CHECK(five6.src_port == 40001);
  CHECK(five6.dst_port == 9002);
  // zcrxd's validation of OPEN_FLOW (proto::validate_request, the fake's too):
  // a 5-tuple without ports, an IP version other than 0/4/6.
  zcrx_flow_spec bad = five4;
  bad.src_port = 0;
  CHECK(zcrx_open_flow(r.ring, r.id, &bad) == -EINVAL);
  bad = zcrx_flow_udp(9000, 5);
  CHECK(zcrx_open_flow(r.ring, r.id, &bad) == -EINVAL);
  CHECK(zcrx_close_flow(r.ring, 12345) == -ENOENT);
}

TEST_CASE("c flows: a clone and an import join the flow group, another real ifq gets -EEXIST") {
  fake::Server srv;
  CRing master(srv, true);
  CRing cloner(srv, false), importer(srv, false), stranger(srv, true);
  zcrx_ifq* c = nullptr;
  zcrx_ifq* imp = nullptr;
  const int cid = zcrx_clone(cloner.ring, zcrx_ring_fd(master.ring), master.id, 16, &c);
  REQUIRE(cid >= 0);
  const int efd = zcrx_export(master.ring, master.id);
  REQUIRE(efd >= 0);
  const int iid = zcrx_import(importer.ring, efd, &imp);
  close(efd);
  REQUIRE(iid >= 0);
  CHECK(zcrx_ifq_shared(c) == 1);
  CHECK(zcrx_ifq_shared(imp) == 1);
  CHECK(zcrx_ifq_shared(master.ifq) == 0);
  CHECK(zcrx_ring_ifq(cloner.ring, cid) == c);
  CHECK(zcrx_ring_ifq(cloner.ring, cid + 1) == nullptr);

  const zcrx_flow_spec f = zcrx_flow_udp(9100, 0);
  CHECK(zcrx_open_flow(master.ring, master.id, &f) >= 0);
  CHECK(zcrx_open_flow(cloner.ring, cid, &f) >= 0);
  CHECK(zcrx_open_flow(importer.ring, iid, &f) >= 0);
  CHECK(zcrx_open_flow(master.ring, master.id, &f) == -EEXIST);  // this ring has it
  CHECK(zcrx_open_flow(stranger.ring, stranger.id, &f) == -EEXIST);  // another real ifq
}

TEST_CASE("c ifq: area queries, RQ free space shrinking with refills and back after a drain") {
  fake::Server srv;
  CRing r(srv, true, 16);
  CHECK(zcrx_ifq_area(r.ifq) != nullptr);
  CHECK(zcrx_ifq_area_len(r.ifq) == (1u << 20));
  CHECK(zcrx_ifq_rx_buf_len(r.ifq) == 4096);
  CHECK(zcrx_ifq_rq_entries(r.ifq) == 16);
  CHECK(zcrx_ifq_rq_free(r.ifq) == 16);
  const int flow = zcrx_open_udp_flow(r.ring, r.id, 7000);
  REQUIRE(flow >= 0);
  uint8_t payload[100];
  zcrx_cqe32 c[16];
  for (uint32_t i = 0; i < 16; i++) {
    zcrx::pattern::fill(payload, sizeof(payload), i + 1);
    REQUIRE(srv.post(0, r.id, uint64_t{i} * 4096, payload, sizeof(payload), 5));
  }
  REQUIRE(zcrx_peek_cqes(r.ring, c, 16) == 16);
  // The payload through the area pointer: the same bytes zcrx_ifq_data sees.
  const auto* area = static_cast<const uint8_t*>(zcrx_ifq_area(r.ifq));
  CHECK(zcrx_ifq_data(r.ifq, &c[3]) == area + 3 * 4096);
  for (unsigned i = 0; i < 10; i++) REQUIRE(zcrx_ifq_refill(r.ifq, &c[i]) == 1);
  CHECK(zcrx_ifq_refills_queued(r.ifq) == 10);
  CHECK(zcrx_ifq_rq_free(r.ifq) == 6);
  zcrx_ifq_flush_refills(r.ifq);
  CHECK(zcrx_ifq_refills_queued(r.ifq) == 0);
  CHECK(zcrx_ifq_rq_free(r.ifq) == 6);  // published, not yet consumed
  for (unsigned i = 10; i < 16; i++) REQUIRE(zcrx_ifq_refill(r.ifq, &c[i]) == 1);
  CHECK(zcrx_ifq_rq_free(r.ifq) == 0);
  CHECK(zcrx_ifq_refill(r.ifq, &c[0]) == 0);  // full
  zcrx_ifq_flush_refills(r.ifq);
  std::vector<zcrx::uapi::io_uring_zcrx_rqe> rqes;
  REQUIRE(srv.drain_rq(0, r.id, rqes) == 16);
  CHECK(zcrx_ifq_rq_free(r.ifq) == 16);  // zcrxd's head re-read
  zcrx_cq_advance(r.ring, 16);
}

TEST_CASE("c ring: cq_overflow reads what zcrxd wrote; wait modes; event CQEs told apart") {
  fake::Server srv;
  CRing r(srv, false);
  CHECK(zcrx_cq_overflow(r.ring) == 0);
  {
    fake::Session& s = srv.session(0);
    auto* w = reinterpret_cast<uint32_t*>(static_cast<char*>(s.ring_base) +
                                          s.layout.cq_off.overflow);
    std::atomic_ref<uint32_t>(*w).store(7, std::memory_order_relaxed);
  }
  CHECK(zcrx_cq_overflow(r.ring) == 7);
  // Sleeping modes need the eventfd; an unknown mode is refused.
  CHECK(zcrx_event_fd(r.ring) == -1);
  CHECK(zcrx_wait_cqe(r.ring, 1, ZCRX_WAIT_EVENTFD, 0) == -EINVAL);
  CHECK(zcrx_wait_cqe(r.ring, 1, ZCRX_WAIT_ADAPTIVE, 0) == -EINVAL);
  CHECK(zcrx_wait_cqe(r.ring, 1, 3, 0) == -EINVAL);
  CHECK(zcrx_wait_cqe(r.ring, 1, ZCRX_WAIT_BUSY_POLL, 1000) == -ETIME);
  REQUIRE(zcrx_enable_eventfd(r.ring) == 0);
  CHECK(zcrx_event_fd(r.ring) >= 0);
  zcrx_set_spin_ns(r.ring, 1000);
  CHECK(zcrx_wait_cqe(r.ring, 1, ZCRX_WAIT_ADAPTIVE, 1000000) == -ETIME);
  CHECK(zcrx_disable_eventfd(r.ring) == 0);
  CHECK(zcrx_event_fd(r.ring) == -1);
  CHECK(zcrx_session_alive(r.ring) == 1);
  CHECK(zcrx_socket_fd(r.ring) >= 0);

  zcrx_cqe32 ev{};
  ev.user_data = 42;
  ev.res = ZCRX_EVT_COPY;
  CHECK(zcrx_is_event_cqe(&ev, 42) == 1);
  CHECK(zcrx_is_event_cqe(&ev, 43) == 0);
  ev.flags = ZCRX_CQE_F_MORE;  // a RECV_ZC completion, not an event
  CHECK(zcrx_is_event_cqe(&ev, 42) == 0);
  ev.flags = 0;
  ev.res = 2;  // no such event type
  CHECK(zcrx_is_event_cqe(&ev, 42) == 0);
}

TEST_CASE("c fds: ring and export fds passed over a socket serve clone and import") {
  fake::Server srv;
  CRing master(srv, true);
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  const int efd = zcrx_export(master.ring, master.id);
  REQUIRE(efd >= 0);
  const uint32_t id = static_cast<uint32_t>(master.id);
  const int out[2] = {zcrx_ring_fd(master.ring), efd};
  REQUIRE(zcrx_send_fds(sv[0], &id, sizeof(id), out, 2) == 0);
  close(efd);  // the message holds its own reference

  uint32_t got_id = ~0u;
  int in[2] = {-1, -1};
  unsigned n = 99;
  REQUIRE(zcrx_recv_fds(sv[1], &got_id, sizeof(got_id), in, 2, &n) == sizeof(got_id));
  REQUIRE(n == 2);
  CHECK(got_id == id);
  CHECK(same_file(in[0], zcrx_ring_fd(master.ring)));
  CRing cloner(srv, false), importer(srv, false);
  zcrx_ifq* c = nullptr;
  zcrx_ifq* imp = nullptr;
  CHECK(zcrx_clone(cloner.ring, in[0], got_id, 16, &c) >= 0);
  CHECK(zcrx_import(importer.ring, in[1], &imp) >= 0);
  close(in[0]);
  close(in[1]);

  // Refusals: too many fds, an empty message, a message larger than the
  // buffer (its fds closed, none handed out), the peer gone.
  const int three[3] = {sv[0], sv[0], sv[0]};
  CHECK(zcrx_send_fds(sv[0], &id, sizeof(id), three, 3) == -EINVAL);
  CHECK(zcrx_send_fds(sv[0], &id, 0, nullptr, 0) == -EINVAL);
  const uint64_t big = 1;
  REQUIRE(zcrx_send_fds(sv[0], &big, sizeof(big), out, 1) == 0);
  uint32_t small = 0;
  in[0] = -1;
  CHECK(zcrx_recv_fds(sv[1], &small, sizeof(small), in, 2, &n) == -EMSGSIZE);
  CHECK(n == 0);
  CHECK(in[0] == -1);
  close(sv[0]);
  CHECK(zcrx_recv_fds(sv[1], &small, sizeof(small), in, 2, &n) == 0);
  CHECK(n == 0);
  close(sv[1]);
}

TEST_CASE("c ifq: an area of one's own, the token in every offset, raw refills, event fields") {
  fake::Server srv;
  CRing r(srv, false);
  CHECK(zcrx_area_granule(0) == 4096);
  CHECK(zcrx_area_granule(1) == (size_t{2} << 20));
  CHECK(zcrx_create_area_fd(4096 + 1, 0) == -EINVAL);
  CHECK(zcrx_create_area_fd(0, 0) == -EINVAL);
  const int afd = zcrx_create_area_fd(1 << 20, 0);
  REQUIRE(afd >= 0);
  zcrx_ifq_params p = ZCRX_IFQ_PARAMS_INIT;
  p.area_len = 1 << 20;
  p.rq_entries = 16;
  p.area_fd = afd;
  zcrx_event_params ev{};
  ev.user_data = 0xabc;
  ev.type_mask = 1u << ZCRX_EVT_COPY;
  zcrx_ifq* ifq = nullptr;
  const int id = zcrx_register_ifq_events(r.ring, &p, &ev, &ifq);
  REQUIRE(id >= 0);
  close(afd);  // the ring keeps its own copy
  CHECK(zcrx_ifq_event_mask(ifq) == (1u << ZCRX_EVT_COPY));
  CHECK(zcrx_ifq_event_user_data(ifq) == 0xabc);
  CHECK(srv.last_register().reg.event_desc != 0);

  uint8_t payload[64];
  zcrx::pattern::fill(payload, sizeof(payload), 3);
  REQUIRE(srv.post(0, id, 2 * 4096, payload, sizeof(payload), 1));
  zcrx_cqe32 c;
  REQUIRE(zcrx_peek_cqes(r.ring, &c, 1) == 1);
  const uint64_t token = zcrx_ifq_area_token(ifq);
  CHECK((c.off & ~uint64_t{(1u << 20) - 1}) == token);
  CHECK(zcrx_ifq_refill_off(ifq, token | (2 * 4096), 64) == 1);
  zcrx_ifq_flush_refills(ifq);
  std::vector<zcrx::uapi::io_uring_zcrx_rqe> rqes;
  REQUIRE(srv.drain_rq(0, id, rqes) == 1);
  CHECK(rqes[0].off == c.off);
  CHECK(rqes[0].len == 64);
  zcrx_cq_advance(r.ring, 1);
}

TEST_CASE("c ring: a CQ tail or RQ head zcrxd moved out of range reads as -EPROTO") {
  fake::Server srv;
  CRing r(srv, true, 16);
  CHECK(zcrx_ring_state(r.ring) == 0);
  CHECK(zcrx_ifq_rq_state(r.ifq) == 0);
  fake::Session& s = srv.session(0);
  fake::Ifq& q = *s.ifqs.at(0);
  // Fill the RQ so that the next question about room re-reads the head.
  const uint64_t token = zcrx_ifq_area_token(r.ifq);
  for (uint32_t i = 0; i < 16; i++) REQUIRE(zcrx_ifq_refill_off(r.ifq, token | (i * 4096), 1) == 1);
  zcrx_ifq_flush_refills(r.ifq);
  auto* rq_head = reinterpret_cast<uint32_t*>(static_cast<char*>(q.rq_base) + q.rq_layout.off.head);
  std::atomic_ref<uint32_t>(*rq_head).store(100, std::memory_order_release);  // past the tail
  CHECK(zcrx_ifq_rq_free(r.ifq) == 0);
  CHECK(zcrx_ifq_refill_off(r.ifq, token, 1) == 0);
  CHECK(zcrx_ifq_rq_state(r.ifq) == -EPROTO);
  CHECK(zcrx_ring_state(r.ring) == 0);  // the SQ and CQ are fine
  auto* cq_tail = reinterpret_cast<uint32_t*>(static_cast<char*>(s.ring_base) + s.layout.cq_off.tail);
  std::atomic_ref<uint32_t>(*cq_tail).store(17, std::memory_order_release);  // > CQ size
  CHECK(zcrx_wait_cqe(r.ring, 1, ZCRX_WAIT_BUSY_POLL, 1000) == -EPROTO);
  CHECK(zcrx_ring_state(r.ring) == -EPROTO);
}
