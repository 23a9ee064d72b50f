// SPDX-License-Identifier: MIT
// Sessions, exports, the datapath and the checks of ControlModel; the ops
// that create shared memory are in control_model_ops.cpp.
#include "control_model.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace zcrx::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_control_proto";

// Small limits, so that refusals are reached in a few steps.
zcrxd::LimitConfig fuzz_limits() {
  zcrxd::LimitConfig c;
  c.max_rings = kSessions;
  c.max_rings_per_uid = 2;
  c.max_exports = 3;
  c.max_exports_per_ring = 2;
  c.max_entries_per_uid = 2;
  c.max_region_mb_per_uid = 8;
  return c;
}

}  // namespace

ControlModel::ControlModel()
    : limits_(fuzz_limits()),
      engine_(std::make_unique<core::Engine>(*this, *this)),
      trace_(std::getenv("ZCRX_FUZZ_TRACE") != nullptr) {}

ControlModel::~ControlModel() {
  for (uint32_t s = 0; s < kSessions; s++)
    if (is_open(s)) close_session(s);
  for (auto& e : exports_)
    if (e->box) release_export(*e);
  engine_.reset();
  for (auto& a : areas_) release_area_memory(*a);
}

// ---- sessions -------------------------------------------------------------

int ControlModel::connect(uint32_t s, uid_t uid) {
  Session& ss = sessions_[s];
  if (ss.sock >= 0) return -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -1;
  ss = Session{};
  ss.sock = sv[0];
  ss.id = ++sessions_total_;
  ss.uid = uid;
  // Control::accept_session: over a ring limit, the first request hears why.
  if (int rc = limits_.take_ring(uid)) ss.refuse = rc;
  else ss.counted = true;
  return sv[1];
}

void ControlModel::close_session(uint32_t idx) {
  Session& s = sessions_[idx];
  for (uint32_t h = 0; h < zcrxd::kMaxFlowsPerRing; h++)
    if (s.flows[h].open) op_close_flow(s, h);
  if (s.ctx) engine_->terminate_ctx(s.ctx);
  s.ctx = nullptr;
  // Every entry of the ring left the engine's tables: what they used may
  // go (a refill that still read it would fault in the datapath step).
  for (Mapped& m : s.rqs) munmap(m.base, m.len);
  s.rqs.clear();
  s.events.reset();
  if (s.ring_fd >= 0) close(s.ring_fd);
  s.eventfd.reset();
  close(s.sock);
  if (s.counted) limits_.put_ring(s.uid);
  limits_.put_region(s.uid, s.region_bytes);
  for (auto& [real, owner] : s.entries) limits_.put_entry(real, owner, s.uid);
  s = Session{};
}

void ControlModel::handle_message(uint32_t idx) {
  Session& s = sessions_[idx];
  alignas(8) uint8_t buf[proto::kMaxMsgSize + 8];
  proto::RecvdMsg m;
  int rc = proto::recv_msg(s.sock, buf, sizeof(buf), m, proto::kMaxFds, MSG_DONTWAIT);
  FUZZ_CHECK(m.nfds <= proto::kMaxFds);
  if (rc == -EAGAIN || rc == -EINTR) return;
  if (rc < 0 || m.len == 0) {
    proto::close_fds(m);
    close_session(idx);
    return;
  }
  const unsigned fds_in = m.nfds + m.fds_closed;
  proto::MsgHeader hdr{};
  int result = (m.truncated || m.ctrunc) ? -EINVAL : proto::validate_request(buf, m.len, &hdr);
  if (m.len < sizeof(proto::MsgHeader)) {
    proto::close_fds(m);
    close_session(idx);
    return;
  }
  std::memcpy(&hdr, buf, sizeof(hdr));
  if (hdr.op == proto::kOpSqWakeup) {
    proto::close_fds(m);  // no reply; no datapath here to wake
    return;
  }
  if (s.refuse) {
    proto::close_fds(m);
    proto::ReplyHeader rh = proto::make_reply_header(hdr, s.refuse, 0);
    proto::send_msg(s.sock, &rh, sizeof(rh), nullptr, 0);
    close_session(idx);
    return;
  }
  alignas(8) uint8_t reply[proto::kMaxMsgSize];
  size_t body_len = 0;
  int fds[proto::kMaxFds] = {-1, -1};
  unsigned nfds = 0;
  const int in_fd = m.nfds ? m.fds[0] : -1;
  if (result == 0 && hdr.op != proto::kOpCreateRing && !s.ctx) result = -EBADFD;
  if (result == 0)
    result = dispatch(s, hdr, buf + sizeof(proto::MsgHeader), in_fd,
                      reply + sizeof(proto::ReplyHeader), &body_len, fds, &nfds);
  proto::close_fds(m);
  if (result < 0) {
    FUZZ_CHECK(nfds == 0);  // an op that fails hands out nothing
    body_len = 0;
  }
  if (trace_)
    std::fprintf(stderr, "session %u uid %u: op %u len %zu fds %u -> %d (%s)\n", idx, s.uid,
                 hdr.op, m.len, fds_in, result,
                 result < 0 ? strerrorname_np(-result) : "ok");
  proto::ReplyHeader rh = proto::make_reply_header(hdr, result, body_len);
  std::memcpy(reply, &rh, sizeof(rh));
  FUZZ_CHECK(proto::send_msg(s.sock, reply, rh.hdr.len, fds, nfds) == 0);
  for (unsigned i = 0; i < nfds; i++)
    if (fds[i] != s.ring_fd) close(fds[i]);
}

int ControlModel::dispatch(Session& s, const proto::MsgHeader& hdr, const uint8_t* body,
                           int in_fd, uint8_t* out, size_t* body_len, int* fds,
                           unsigned* nfds) {
  switch (hdr.op) {
    case proto::kOpCreateRing: {
      proto::CreateRingReq r;
      std::memcpy(&r, body, sizeof(r));
      proto::CreateRingReply o;
      const int rc = op_create_ring(s, r, &o, &fds[0]);
      if (rc == 0) {
        std::memcpy(out, &o, sizeof(o));
        *body_len = sizeof(o);
        *nfds = 1;
      }
      return rc;
    }
    case proto::kOpRegisterIfq: {
      proto::RegisterIfqReq r;
      std::memcpy(&r, body, sizeof(r));
      proto::RegisterIfqReply o{};
      const int rc = op_register_ifq(s, r, in_fd, &o, fds, nfds);
      if (rc == 0) {
        std::memcpy(out, &o, sizeof(o));
        *body_len = sizeof(o);
      }
      return rc;
    }
    case proto::kOpExport: {
      proto::CtrlReq r;
      std::memcpy(&r, body, sizeof(r));
      const int rc = op_export(s, r.ctrl, &fds[0]);
      if (rc == 0) *nfds = 1;
      return rc;
    }
    case proto::kOpCtrl: {
      proto::CtrlReq r;
      std::memcpy(&r, body, sizeof(r));
      return engine_->ctrl(s.ctx, r.ctrl);
    }
    case proto::kOpOpenFlow: {
      proto::OpenFlowReq r;
      std::memcpy(&r, body, sizeof(r));
      proto::OpenFlowReply o{};
      const int rc = op_open_flow(s, r, &o.handle);
      if (rc == 0) {
        std::memcpy(out, &o, sizeof(o));
        *body_len = sizeof(o);
      }
      return rc;
    }
    case proto::kOpCloseFlow: {
      proto::CloseFlowReq r;
      std::memcpy(&r, body, sizeof(r));
      return op_close_flow(s, r.handle);
    }
    case proto::kOpRegisterEventfd:
      return op_register_eventfd(s, in_fd);
    case proto::kOpUnregisterEventfd:
      if (!s.eventfd) return -ENXIO;
      s.eventfd.reset();
      return 0;
    default:
      return -EINVAL;
  }
}

// ---- exports ----------------------------------------------------------------

void ControlModel::release_export(Export& e) {
  limits_.put_export();
  for (Session& s : sessions_)
    if (s.id == e.session && s.exports) s.exports--;
  engine_->release_box(e.box);
  e.box = nullptr;
  close(e.our_end);
  e.our_end = -1;
}

void ControlModel::poll_exports() {
  for (auto& e : exports_) {
    if (!e->box) continue;
    pollfd p{e->our_end, POLLRDHUP, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)))
      release_export(*e);
  }
}

// ---- flows and eventfds (control_flows.cpp, groups left out) ---------------

int ControlModel::op_open_flow(Session& s, const proto::OpenFlowReq& r, uint32_t* handle) {
  core::Ifq* entry = s.ctx->lookup(r.zcrx_id);
  if (!entry || entry->if_rxq() < 0) return -EINVAL;
  core::Ifq* real = &entry->target();
  if (real->if_rxq() < 0) return -EINVAL;
  zcrxd::FlowKey k;
  k.kind = static_cast<zcrxd::FlowKind>(r.kind);
  k.ip_version = r.ip_version;
  k.src_port = r.src_port;
  k.dst_port = r.dst_port;
  std::memcpy(k.src_addr, r.src_addr, 16);
  std::memcpy(k.dst_addr, r.dst_addr, 16);
  if (int rc = zcrxd::normalize(&k)) return rc;
  uint32_t h = zcrxd::kMaxFlowsPerRing;
  for (uint32_t i = 0; i < zcrxd::kMaxFlowsPerRing; i++) {
    if (s.flows[i].open && s.flows[i].key == k && s.flows[i].real == real) return -EEXIST;
    if (!s.flows[i].open && h == zcrxd::kMaxFlowsPerRing) h = i;
  }
  if (h == zcrxd::kMaxFlowsPerRing) return -EMFILE;
  s.flows[h] = {true, k, real};
  *handle = h;
  return 0;
}

int ControlModel::op_close_flow(Session& s, uint32_t h) {
  if (h >= zcrxd::kMaxFlowsPerRing || !s.flows[h].open) return -ENOENT;
  s.flows[h] = {};
  return 0;
}

int ControlModel::op_register_eventfd(Session& s, int fd) {
  if (fd < 0) return -EBADF;
  if (s.eventfd) return -EBUSY;
  return zcrxd::EventfdSignal::open(fd, &s.eventfd);
}

// ---- the datapath ------------------------------------------------------------

void ControlModel::datapath(FuzzInput& in) {
  const uint8_t a = in.u8();
  if (areas_.empty()) return;
  AreaRec& rec = *areas_[a % areas_.size()];
  core::Ifq* real = rec.real;
  if (!real) return;  // its queue is closed: nothing delivers into it
  const uint32_t slots = real->entry_slots();
  bool no_buffers = false;
  for (uint32_t k = 0; k < ((a >> 4) & 7); k++) {
    core::Ifq* e = slots ? real->entry_at(in.u8() % slots) : nullptr;
    if (!e) continue;
    uint32_t idx;
    if (rec.free->alloc_burst(&idx, 1) == 0) {
      no_buffers = true;
      continue;
    }
    e->deliver(idx, 0);
  }
  if (no_buffers) real->report_no_buffers();
  for (uint32_t slot = 0; slot < slots; slot++)
    if (core::Ifq* e = real->entry_at(slot)) e->refill(64);
}

void ControlModel::write_rqe(uint32_t idx, FuzzInput& in) {
  const uint8_t a = in.u8(), b = in.u8();
  Session& s = sessions_[idx];
  if (!s.ctx) return;
  core::Ifq* e = s.ctx->lookup(a % 4);
  if (!e || !e->area()) return;
  uapi::io_uring_zcrx_rqe rqe{};
  rqe.off = e->area()->token() | (static_cast<uint64_t>(b % 20) << e->area()->niov_shift());
  rqe.__pad = (a & 0x80) ? 1 : 0;
  const RqRegionLayout& l = e->rq_layout();
  auto* base = static_cast<uint8_t*>(e->rq_base());
  auto* tail = reinterpret_cast<uint32_t*>(base + l.off.tail);
  auto* rqes = reinterpret_cast<uapi::io_uring_zcrx_rqe*>(base + l.off.rqes);
  rqes[*tail & (l.rq_entries - 1)] = rqe;
  // The consumer's publication (RqProducer::push does the same).
  std::atomic_ref<uint32_t>(*tail).store(*tail + ((a & 0x40) ? 0x1000 : 1),
                                         std::memory_order_release);
}

// ---- checks --------------------------------------------------------------------

void ControlModel::check_step() const {
  FUZZ_CHECK(engine_->stats().free_with_master_set == 0);
  for (const auto& [fl, niovs] : lists_) FUZZ_CHECK(fl->overflows() == 0);
  for (const auto& a : areas_) {
    if (!a->real) continue;
    const core::Area* area = a->real->area();
    FUZZ_CHECK(area->held_by_users() + a->free->free_count() == area->num_niovs());
  }
}

void ControlModel::shutdown_and_check() {
  for (uint32_t s = 0; s < kSessions; s++)
    if (is_open(s)) close_session(s);
  for (auto& e : exports_)
    if (e->box) release_export(*e);
  const core::EngineStats st = engine_->stats();
  FUZZ_CHECK(st.free_with_master_set == 0);
  FUZZ_CHECK(st.ifqs_live == 0 && st.ctxs_live == 0);
  FUZZ_CHECK(st.entries_live == 0 && st.boxes_live == 0);
  for (const auto& a : areas_) FUZZ_CHECK(a->real == nullptr);
  for (const auto& [fl, niovs] : lists_) {
    FUZZ_CHECK(fl->free_count() == niovs);
    FUZZ_CHECK(fl->overflows() == 0);
  }
  FUZZ_CHECK(limits_.rings() == 0 && limits_.exports() == 0);
}

// ---- QueueBinder --------------------------------------------------------------

int ControlModel::open_queue(core::Ifq& ifq, uint32_t port, uint32_t rxq) {
  const int rc = plain_.open_queue(ifq, port, rxq);
  if (rc == 0)
    lists_.push_back({core::PlainProvider::free_list(*ifq.area()), ifq.area()->num_niovs()});
  return rc;
}

void ControlModel::close_queue(core::Ifq& ifq) {
  plain_.close_queue(ifq);
  // Control::retire_pool: the datapath no longer delivers into it.
  for (auto& a : areas_)
    if (a->real == &ifq) a->real = nullptr;
}

}  // namespace zcrx::fuzz
