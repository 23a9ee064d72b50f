// SPDX-License-Identifier: MIT
// Control-protocol framing and the state-free checks both sides run.
#include "zcrx/proto.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "zcrx/ring_layout.h"

namespace zcrx::proto {
namespace {

constexpr uint64_t kAreaAlign = 4096;
constexpr int32_t kMaxErrno = 4095;

// Copies a T out of an unaligned buffer (received bytes have no alignment
// guarantee, and reading them in place would alias).
template <class T>
T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

bool all_zero(const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0) return false;
  return true;
}

int check_create_ring(const CreateRingReq& r) {
  if (r.flags != 0 || r.resv != 0) return -EINVAL;
  if (r.sq_entries == 0 || r.sq_entries > kMaxSqEntries) return -EINVAL;
  if (r.cq_entries != 0 && (r.cq_entries < r.sq_entries || r.cq_entries > kMaxCqEntries))
    return -EINVAL;
  return 0;
}

int check_register_ifq(const RegisterIfqReq& r) {
  const auto& reg = r.reg;
  const auto& area = r.area;
  if (r.resv != 0) return -EINVAL;
  // 1 = clone or import, chosen by the fd; 2 = ZCRX_REG_NODEV (a fresh
  // registration); anything else is unknown.
  if (reg.flags & ~(uapi::kZcrxRegImport | uapi::kZcrxRegNodev)) return -EINVAL;
  const bool shared = (reg.flags & uapi::kZcrxRegImport) != 0;
  if (reg.area_ptr != 0 || reg.region_ptr != 0 || reg.zcrx_id != 0 ||
      !all_zero(reg.__resv, sizeof(reg.__resv)))
    return -EINVAL;
  // The one area flag zcrxd takes: it makes the area (fresh registrations).
  const bool zcrxd_made = area.flags == kAreaFlagZcrxdMade && !shared;
  if ((area.flags != 0 && !zcrxd_made) || area.dmabuf_fd != 0 ||
      !all_zero(area.__resv2, sizeof(area.__resv2)))
    return -EINVAL;
  if (zcrxd_made && area.addr != 0) return -EINVAL;
  if (reg.event_desc == 0 || shared) {
    // No descriptor (or a clone/import, which carries none): nothing in it.
    if (shared && reg.event_desc != 0) return -EINVAL;
    if (!all_zero(&r.event, sizeof(r.event))) return -EINVAL;
  }
  if (!shared) {
    if (area.len == 0 || area.len % kAreaAlign != 0 || area.addr % kAreaAlign != 0)
      return -EINVAL;
    if (area.addr > UINT64_MAX - area.len) return -EINVAL;
  } else if (area.addr != 0 || area.len != 0) {
    // Clone and import share an existing area: naming one is an error.
    return -EINVAL;
  }
  return 0;
}

int check_ctrl(const CtrlReq& r, uint32_t want_op) {
  const auto& c = r.ctrl;
  if (want_op == uapi::ZCRX_CTRL_FLUSH_RQ && c.op == uapi::ZCRX_CTRL_ARM_EVENT) {
    // The type is the engine's to judge (its errno); reserved words are ours.
    if (!all_zero(c.__resv, sizeof(c.__resv))) return -EINVAL;
    return all_zero(c.zc_arm_event.__resv, sizeof(c.zc_arm_event.__resv)) ? 0 : -EINVAL;
  }
  if (c.op != want_op) return -EINVAL;
  if (!all_zero(c.__resv, sizeof(c.__resv))) return -EINVAL;
  // Both union members span the same 48 bytes: FLUSH_RQ has only reserved
  // words, EXPORT's zcrx_fd is an output.
  if (!all_zero(&c.zc_export, sizeof(c.zc_export))) return -EINVAL;
  return 0;
}

int check_open_flow(const OpenFlowReq& r) {
  if (r.resv0 != 0 || r.resv1 != 0) return -EINVAL;
  const bool no_addrs = all_zero(r.src_addr, 16) && all_zero(r.dst_addr, 16);
  switch (r.kind) {
    case kFlowUdpPort:
      if (r.dst_port == 0 || r.src_port != 0 || !no_addrs) return -EINVAL;
      if (r.ip_version != 0 && r.ip_version != 4 && r.ip_version != 6) return -EINVAL;
      return 0;
    case kFlowFiveTuple:
      if (r.src_port == 0 || r.dst_port == 0) return -EINVAL;
      if (r.ip_version == 4)
        return all_zero(r.src_addr + 4, 12) && all_zero(r.dst_addr + 4, 12) ? 0 : -EINVAL;
      return r.ip_version == 6 ? 0 : -EINVAL;
    case kFlowRaw:
      if (r.ip_version != 0 || r.src_port != 0 || r.dst_port != 0 || !no_addrs)
        return -EINVAL;
      return 0;
    default:
      return -EINVAL;
  }
}

}  // namespace

size_t request_size(uint16_t op) {
  switch (op) {
    case kOpCreateRing: return sizeof(Request<CreateRingReq>);
    case kOpRegisterIfq: return sizeof(Request<RegisterIfqReq>);
    case kOpExport:
    case kOpCtrl: return sizeof(Request<CtrlReq>);
    case kOpOpenFlow: return sizeof(Request<OpenFlowReq>);
    case kOpCloseFlow: return sizeof(Request<CloseFlowReq>);
    case kOpRegisterEventfd:
    case kOpUnregisterEventfd: return sizeof(Request<EventfdReq>);
    case kOpSqWakeup: return sizeof(Request<SqWakeupReq>);
    case kOpSocket: return sizeof(Request<SocketReq>);
    case kOpBind: return sizeof(Request<BindReq>);
    case kOpListen: return sizeof(Request<ListenReq>);
    case kOpSockName: return sizeof(Request<SockNameReq>);
    case kOpRegisterTx: return sizeof(Request<TxRegionReq>);
    case kOpCloseSocket: return sizeof(Request<CloseSocketReq>);
    default: return 0;
  }
}

size_t reply_size(uint16_t op) {
  switch (op) {
    case kOpCreateRing: return sizeof(Reply<CreateRingReply>);
    case kOpRegisterIfq: return sizeof(Reply<RegisterIfqReply>);
    case kOpOpenFlow: return sizeof(Reply<OpenFlowReply>);
    case kOpExport:
    case kOpCtrl:
    case kOpCloseFlow:
    case kOpRegisterEventfd:
    case kOpUnregisterEventfd:
    case kOpBind:
    case kOpListen:
    case kOpRegisterTx:
    case kOpCloseSocket: return sizeof(ReplyHeader);
    case kOpSocket: return sizeof(Reply<SocketReply>);
    case kOpSockName: return sizeof(Reply<SockNameReply>);
    default: return 0;
  }
}

unsigned request_fds(uint16_t op) {
  return op == kOpRegisterIfq || op == kOpRegisterEventfd || op == kOpRegisterTx ? 1 : 0;
}

int validate_header(const MsgHeader& hdr, size_t received) {
  if (hdr.magic != kMagic || hdr.version != kVersion) return -EINVAL;
  if (hdr.op < kOpFirst || hdr.op > kOpLast) return -EINVAL;
  if (hdr.len != received) return -EINVAL;
  return 0;
}

int validate_request(const void* buf, size_t n, MsgHeader* hdr_out) {
  if (n < sizeof(MsgHeader)) return -EINVAL;
  const auto hdr = load<MsgHeader>(buf);
  if (hdr_out) *hdr_out = hdr;
  if (int r = validate_header(hdr, n)) return r;
  if (n != request_size(hdr.op)) return -EINVAL;
  const void* body = static_cast<const char*>(buf) + sizeof(MsgHeader);
  switch (hdr.op) {
    case kOpCreateRing: return check_create_ring(load<CreateRingReq>(body));
    case kOpRegisterIfq: return check_register_ifq(load<RegisterIfqReq>(body));
    case kOpExport: return check_ctrl(load<CtrlReq>(body), uapi::ZCRX_CTRL_EXPORT);
    case kOpCtrl: return check_ctrl(load<CtrlReq>(body), uapi::ZCRX_CTRL_FLUSH_RQ);
    case kOpOpenFlow: return check_open_flow(load<OpenFlowReq>(body));
    case kOpCloseFlow: return load<CloseFlowReq>(body).resv == 0 ? 0 : -EINVAL;
    case kOpRegisterEventfd:
    case kOpUnregisterEventfd: {
      auto e = load<EventfdReq>(body);
      return e.flags == 0 && e.resv == 0 ? 0 : -EINVAL;
    }
    case kOpSqWakeup: {
      auto w = load<SqWakeupReq>(body);
      return w.flags == 0 && w.resv == 0 ? 0 : -EINVAL;
    }
    case kOpSocket: return load<SocketReq>(body).resv == 0 ? 0 : -EINVAL;
    case kOpBind: {
      auto b = load<BindReq>(body);
      return b.resv0 == 0 && b.resv1 == 0 ? 0 : -EINVAL;
    }
    case kOpListen: return 0;
    case kOpSockName: return load<SockNameReq>(body).resv == 0 ? 0 : -EINVAL;
    case kOpCloseSocket: return load<CloseSocketReq>(body).resv == 0 ? 0 : -EINVAL;
    case kOpRegisterTx: {
      auto t = load<TxRegionReq>(body);
      if (t.flags != 0 || t.resv != 0) return -EINVAL;
      return t.len != 0 && t.len % kAreaAlign == 0 && t.len <= (uint64_t{1} << 30) ? 0 : -EINVAL;
    }
  }
  return -EINVAL;  // unreachable: validate_header checked the op
}

int validate_reply(const void* buf, size_t n, uint16_t op, uint32_t seq, int32_t* result) {
  if (n < sizeof(ReplyHeader)) return -EINVAL;
  const auto rh = load<ReplyHeader>(buf);
  if (int r = validate_header(rh.hdr, n)) return r;
  if (rh.hdr.op != op || rh.hdr.seq != seq || rh.resv != 0) return -EINVAL;
  if (rh.result < -kMaxErrno) return -EINVAL;
  const size_t want = rh.result < 0 ? sizeof(ReplyHeader) : reply_size(op);
  if (n != want) return -EINVAL;
  if (result) *result = rh.result;
  return 0;
}

uint64_t stats_offset(const RqRegionLayout& l) {
  if (l.rq_entries == 0) return 0;
  const uint64_t rq_end =
      uint64_t{l.off.rqes} + sizeof(uapi::io_uring_zcrx_rqe) * uint64_t{l.rq_entries};
  const uint64_t off = (rq_end + kCacheLine - 1) & ~uint64_t{kCacheLine - 1};
  return off + sizeof(uapi::zcrx_stats) <= l.size ? off : 0;
}

uint64_t stats_offset_for(uint32_t rq_entries) {
  const uint32_t n = round_ring_entries(rq_entries, kMaxRqEntries);
  return n == 0 ? 0 : stats_offset(rq_region_layout(n));
}

MsgHeader make_header(uint16_t op, uint32_t seq) {
  return MsgHeader{kMagic, kVersion, op, static_cast<uint32_t>(request_size(op)), seq};
}

ReplyHeader make_reply_header(const MsgHeader& req, int32_t result, size_t body_len) {
  ReplyHeader rh{};
  rh.hdr = MsgHeader{kMagic, kVersion, req.op, 0, req.seq};
  rh.result = result;
  size_t len = sizeof(ReplyHeader) + (result < 0 ? 0 : body_len);
  rh.hdr.len = static_cast<uint32_t>(len);
  return rh;
}

std::string default_socket_path() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg) return std::string(xdg) + "/zcrx/zcrxd.sock";
  return "/run/zcrx/zcrxd.sock";
}

}  // namespace zcrx::proto
