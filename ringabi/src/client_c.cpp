// SPDX-License-Identifier: MIT
// extern "C" wrappers of libzcrx (zcrx/zcrx.h).
#include "zcrx/zcrx.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>

#include "zcrx/client.h"
#include "zcrx/socket.h"

struct zcrx_ring {
  zcrx::Ring ring;
};

using zcrx::uapi::io_uring_cqe32;
using zcrx::uapi::io_uring_sqe;

// The C structs are the C++ ones byte for byte: pin the layout.
static_assert(sizeof(zcrx_cqe32) == sizeof(io_uring_cqe32));
static_assert(offsetof(zcrx_cqe32, res) == offsetof(io_uring_cqe32, cqe.res));
static_assert(offsetof(zcrx_cqe32, flags) == offsetof(io_uring_cqe32, cqe.flags));
static_assert(offsetof(zcrx_cqe32, off) == offsetof(io_uring_cqe32, zcqe.off));
static_assert(offsetof(zcrx_cqe32, pad) == offsetof(io_uring_cqe32, zcqe.__pad));
static_assert(ZCRX_AREA_MADE_BY_ZCRXD == zcrx::kAreaMadeByZcrxd);
static_assert(ZCRX_CQE_F_MORE == zcrx::uapi::kCqeFMore);
static_assert(ZCRX_CQE_F_DGRAM_END == zcrx::proto::kCqeFDatagramEnd);
static_assert(ZCRX_ASYNC_CANCEL_ALL == zcrx::uapi::kAsyncCancelAll);
static_assert(ZCRX_ASYNC_CANCEL_ANY == zcrx::uapi::kAsyncCancelAny);
static_assert(ZCRX_EVT_ALLOC_FAIL == zcrx::uapi::ZCRX_EVENT_ALLOC_FAIL);
static_assert(ZCRX_EVT_COPY == zcrx::uapi::ZCRX_EVENT_COPY);
static_assert(ZCRX_PROTO_VERSION == zcrx::proto::kVersion);
static_assert(ZCRX_FLOW_UDP_PORT == zcrx::proto::kFlowUdpPort);
static_assert(ZCRX_FLOW_FIVE_TUPLE == zcrx::proto::kFlowFiveTuple);
static_assert(ZCRX_FLOW_RAW == zcrx::proto::kFlowRaw);
static_assert(sizeof(zcrx_flow_spec::src_addr) == sizeof(zcrx::FlowSpec::src_addr));

namespace {

zcrx::Ifq* cxx(zcrx_ifq* q) { return reinterpret_cast<zcrx::Ifq*>(q); }
const zcrx::Ifq* cxx(const zcrx_ifq* q) { return reinterpret_cast<const zcrx::Ifq*>(q); }
zcrx_ifq* c_ifq(zcrx::Ifq* q) { return reinterpret_cast<zcrx_ifq*>(q); }
io_uring_sqe* cxx(zcrx_sqe* s) { return reinterpret_cast<io_uring_sqe*>(s); }

io_uring_cqe32 to_cxx(const zcrx_cqe32* c) {
  io_uring_cqe32 r;
  std::memcpy(&r, c, sizeof(r));
  return r;
}

}  // namespace

extern "C" {

int zcrx_ring_new(zcrx_ring** out) {
  *out = new (std::nothrow) zcrx_ring;
  return *out ? 0 : -ENOMEM;
}

void zcrx_ring_free(zcrx_ring* ring) { delete ring; }

int zcrx_connect(zcrx_ring* ring, const char* path) { return ring->ring.connect(path); }
int zcrx_attach(zcrx_ring* ring, int sock) { return ring->ring.attach(sock); }

int zcrx_create(zcrx_ring* ring, uint32_t sq_entries, uint32_t cq_entries) {
  return ring->ring.create(sq_entries, cq_entries);
}

int zcrx_ring_fd(const zcrx_ring* ring) { return ring->ring.ring_fd(); }

int zcrx_register_ifq(zcrx_ring* ring, const zcrx_ifq_params* p, zcrx_ifq** out) {
  return zcrx_register_ifq_events(ring, p, nullptr, out);
}

int zcrx_register_ifq_events(zcrx_ring* ring, const zcrx_ifq_params* p,
                             const zcrx_event_params* ev, zcrx_ifq** out) {
  zcrx::IfqParams q;
  if (ev != nullptr) {
    q.event_mask = ev->type_mask;
    q.event_user_data = ev->user_data;
    q.event_stats = ev->stats != 0;
  }
  q.port = p->port;
  q.queue = p->queue;
  q.rq_entries = p->rq_entries;
  q.rx_buf_len = p->rx_buf_len;
  q.area_len = p->area_len;
  q.hugetlb = p->hugetlb != 0;
  q.area_fd = p->area_fd;
  zcrx::Ifq* ifq = nullptr;
  int r = ring->ring.register_ifq(q, &ifq);
  if (r >= 0) *out = c_ifq(ifq);
  return r;
}

int zcrx_import(zcrx_ring* ring, int export_fd, zcrx_ifq** out) {
  zcrx::Ifq* ifq = nullptr;
  int r = ring->ring.import_ifq(export_fd, &ifq);
  if (r >= 0) *out = c_ifq(ifq);
  return r;
}

int zcrx_clone(zcrx_ring* ring, int src_ring_fd, uint32_t src_zcrx_id, uint32_t rq_entries,
               zcrx_ifq** out) {
  zcrx::Ifq* ifq = nullptr;
  int r = ring->ring.clone_ifq(src_ring_fd, src_zcrx_id, rq_entries, &ifq);
  if (r >= 0) *out = c_ifq(ifq);
  return r;
}

int zcrx_export(zcrx_ring* ring, uint32_t zcrx_id) { return ring->ring.export_ifq(zcrx_id); }
int zcrx_flush_rq(zcrx_ring* ring, uint32_t zcrx_id) { return ring->ring.flush_rq(zcrx_id); }

int zcrx_arm_event(zcrx_ring* ring, uint32_t zcrx_id, uint32_t type) {
  return ring->ring.arm_event(zcrx_id, type);
}

int zcrx_ifq_event(const zcrx_ifq* ifq, const zcrx_cqe32* cqe) {
  return cxx(ifq)->event_type(to_cxx(cqe));
}

int zcrx_ifq_copy_stats(const zcrx_ifq* ifq, uint64_t* copy_count, uint64_t* copy_bytes) {
  zcrx::uapi::zcrx_stats s{};
  if (!cxx(ifq)->copy_stats(&s)) return -ENOENT;
  *copy_count = s.copy_count;
  *copy_bytes = s.copy_bytes;
  return 0;
}

int zcrx_open_flow(zcrx_ring* ring, uint32_t zcrx_id, const zcrx_flow_spec* flow) {
  zcrx::FlowSpec f;
  f.kind = flow->kind;
  f.ip_version = flow->ip_version;
  std::memcpy(f.src_addr, flow->src_addr, sizeof(f.src_addr));
  std::memcpy(f.dst_addr, flow->dst_addr, sizeof(f.dst_addr));
  f.src_port = flow->src_port;
  f.dst_port = flow->dst_port;
  return ring->ring.open_flow(zcrx_id, f);
}
int zcrx_open_udp_flow(zcrx_ring* ring, uint32_t zcrx_id, uint16_t port) {
  return ring->ring.open_flow(zcrx_id, zcrx::FlowSpec::udp(port));
}
int zcrx_open_raw_flow(zcrx_ring* ring, uint32_t zcrx_id) {
  return ring->ring.open_flow(zcrx_id, zcrx::FlowSpec::raw());
}
int zcrx_close_flow(zcrx_ring* ring, uint32_t handle) { return ring->ring.close_flow(handle); }
int zcrx_enable_eventfd(zcrx_ring* ring) { return ring->ring.enable_eventfd(); }
int zcrx_disable_eventfd(zcrx_ring* ring) { return ring->ring.disable_eventfd(); }
int zcrx_event_fd(const zcrx_ring* ring) { return ring->ring.event_fd(); }
void zcrx_set_spin_ns(zcrx_ring* ring, int64_t ns) { ring->ring.set_spin_ns(ns); }
void zcrx_set_control_timeout(zcrx_ring* ring, int ms) { ring->ring.set_control_timeout(ms); }
int zcrx_session_alive(const zcrx_ring* ring) { return ring->ring.session_alive() ? 1 : 0; }
int zcrx_socket_fd(const zcrx_ring* ring) { return ring->ring.socket_fd(); }

int zcrx_socket(zcrx_ring* ring) { return ring->ring.socket(); }
int zcrx_bind(zcrx_ring* ring, int sock, uint32_t ip, uint16_t port) {
  return ring->ring.bind(sock, ip, port);
}
int zcrx_listen(zcrx_ring* ring, int sock, uint32_t backlog) {
  return ring->ring.listen(sock, backlog);
}
int zcrx_sockname(zcrx_ring* ring, int sock, zcrx_sockinfo* out) {
  zcrx::Ring::SockName n;
  const int r = ring->ring.sockname(sock, &n);
  if (r < 0) return r;
  *out = zcrx_sockinfo{};
  out->local_ip = n.local_ip;
  out->remote_ip = n.remote_ip;
  out->local_port = n.local_port;
  out->remote_port = n.remote_port;
  out->state = n.state;
  return 0;
}
int zcrx_close_socket(zcrx_ring* ring, int sock) { return ring->ring.close_socket(sock); }
int zcrx_register_tx_region(zcrx_ring* ring, size_t len) {
  return ring->ring.register_tx_region(len);
}
void* zcrx_tx_region(const zcrx_ring* ring) { return ring->ring.tx_region(); }
size_t zcrx_tx_region_len(const zcrx_ring* ring) { return ring->ring.tx_region_len(); }

zcrx_sqe* zcrx_get_sqe(zcrx_ring* ring) {
  return reinterpret_cast<zcrx_sqe*>(ring->ring.get_sqe());
}
void zcrx_prep_recv_zc(zcrx_sqe* sqe, int flow, uint32_t zcrx_id, uint32_t len, int multishot,
                       uint64_t user_data) {
  zcrx::prep_recv_zc(cxx(sqe), flow, zcrx_id, len, multishot != 0, user_data);
}
void zcrx_prep_nop(zcrx_sqe* sqe, uint64_t user_data) { zcrx::prep_nop(cxx(sqe), user_data); }
void zcrx_prep_cancel(zcrx_sqe* sqe, uint64_t target, uint64_t user_data) {
  zcrx::prep_cancel(cxx(sqe), target, user_data);
}
void zcrx_prep_cancel_flags(zcrx_sqe* sqe, uint64_t target, uint32_t flags, uint64_t user_data) {
  zcrx::prep_cancel(cxx(sqe), target, user_data, flags);
}
void zcrx_prep_cancel_fd(zcrx_sqe* sqe, int fd, uint32_t flags, uint64_t user_data) {
  zcrx::prep_cancel_fd(cxx(sqe), fd, user_data, flags);
}
void zcrx_prep_accept(zcrx_sqe* sqe, int sock, int multishot, uint64_t user_data) {
  zcrx::prep_accept(cxx(sqe), sock, multishot != 0, user_data);
}
int zcrx_accept_peer(const zcrx_cqe32* cqe, uint32_t* ip, uint16_t* port) {
  return zcrx::accept_peer(to_cxx(cqe), ip, port) ? 1 : 0;
}
void zcrx_prep_connect(zcrx_sqe* sqe, int sock, uint32_t ip, uint16_t port,
                       uint64_t user_data) {
  zcrx::prep_connect(cxx(sqe), sock, ip, port, user_data);
}
void zcrx_prep_send(zcrx_sqe* sqe, int sock, const void* buf, uint32_t len, uint64_t user_data) {
  zcrx::prep_send(cxx(sqe), sock, buf, len, user_data);
}
void zcrx_prep_shutdown(zcrx_sqe* sqe, int sock, int how, uint64_t user_data) {
  zcrx::prep_shutdown(cxx(sqe), sock, how, user_data);
}
void zcrx_prep_close(zcrx_sqe* sqe, int sock, uint64_t user_data) {
  zcrx::prep_close(cxx(sqe), sock, user_data);
}
unsigned zcrx_submit(zcrx_ring* ring) { return ring->ring.submit(); }

int zcrx_wait_cqe(zcrx_ring* ring, unsigned min, int mode, int64_t timeout_ns) {
  zcrx::WaitMode m;
  switch (mode) {
    case ZCRX_WAIT_BUSY_POLL: m = zcrx::WaitMode::busy_poll; break;
    case ZCRX_WAIT_EVENTFD: m = zcrx::WaitMode::eventfd; break;
    case ZCRX_WAIT_ADAPTIVE: m = zcrx::WaitMode::adaptive; break;
    default: return -EINVAL;
  }
  return ring->ring.wait_cqe(min, m, timeout_ns);
}
unsigned zcrx_cq_ready(zcrx_ring* ring) { return ring->ring.cq_ready(); }
unsigned zcrx_peek_cqes(zcrx_ring* ring, zcrx_cqe32* dst, unsigned max) {
  return ring->ring.peek_cqes(reinterpret_cast<io_uring_cqe32*>(dst), max);
}
void zcrx_cq_advance(zcrx_ring* ring, unsigned n) { ring->ring.cq_advance(n); }
uint32_t zcrx_cq_overflow(const zcrx_ring* ring) { return ring->ring.cq_overflow(); }

int zcrx_is_event_cqe(const zcrx_cqe32* cqe, uint64_t user_data) {
  return zcrx::is_event_cqe(to_cxx(cqe), user_data) ? 1 : 0;
}

zcrx_ifq* zcrx_ring_ifq(const zcrx_ring* ring, uint32_t zcrx_id) {
  return c_ifq(ring->ring.ifq(zcrx_id));
}
uint32_t zcrx_ifq_id(const zcrx_ifq* ifq) { return cxx(ifq)->id(); }
const void* zcrx_ifq_area(const zcrx_ifq* ifq) { return cxx(ifq)->area(); }
size_t zcrx_ifq_area_len(const zcrx_ifq* ifq) { return cxx(ifq)->area_len(); }
uint32_t zcrx_ifq_rx_buf_len(const zcrx_ifq* ifq) { return cxx(ifq)->rx_buf_len(); }
uint32_t zcrx_ifq_rq_entries(const zcrx_ifq* ifq) { return cxx(ifq)->rq_entries(); }
int zcrx_ifq_shared(const zcrx_ifq* ifq) { return cxx(ifq)->shared_area() ? 1 : 0; }
uint64_t zcrx_ifq_area_token(const zcrx_ifq* ifq) { return cxx(ifq)->area_token(); }
uint32_t zcrx_ifq_event_mask(const zcrx_ifq* ifq) { return cxx(ifq)->event_mask(); }
uint64_t zcrx_ifq_event_user_data(const zcrx_ifq* ifq) { return cxx(ifq)->event_user_data(); }
int zcrx_ifq_refill_off(zcrx_ifq* ifq, uint64_t off, uint32_t len) {
  return cxx(ifq)->refill(off, len) ? 1 : 0;
}
uint32_t zcrx_ifq_rq_free(zcrx_ifq* ifq) { return cxx(ifq)->rq_free(); }

int zcrx_ring_state(const zcrx_ring* ring) {
  const zcrx::Ring& r = ring->ring;
  return r.sq_state() == zcrx::RingState::ok && r.cq_state() == zcrx::RingState::ok ? 0 : -EPROTO;
}
int zcrx_ifq_rq_state(const zcrx_ifq* ifq) {
  return cxx(ifq)->rq_state() == zcrx::RingState::ok ? 0 : -EPROTO;
}

size_t zcrx_area_granule(int hugetlb) { return zcrx::area_granule(hugetlb != 0); }
int zcrx_create_area_fd(size_t len, int hugetlb) { return zcrx::create_area_fd(len, hugetlb != 0); }
uint32_t zcrx_ifq_refills_queued(const zcrx_ifq* ifq) { return cxx(ifq)->refills_queued(); }
const void* zcrx_ifq_data(const zcrx_ifq* ifq, const zcrx_cqe32* cqe) {
  return cxx(ifq)->data(to_cxx(cqe));
}
int zcrx_ifq_refill(zcrx_ifq* ifq, const zcrx_cqe32* cqe) {
  return cxx(ifq)->refill(to_cxx(cqe)) ? 1 : 0;
}
void zcrx_ifq_flush_refills(zcrx_ifq* ifq) { cxx(ifq)->flush_refills(); }

}  // extern "C"
