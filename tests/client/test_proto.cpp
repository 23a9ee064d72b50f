// SPDX-License-Identifier: MIT
// Control-protocol validation: every malformed field gets the exact errno.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "zcrx/proto.h"
#include "zcrx/ring_layout.h"

using namespace zcrx;
using namespace zcrx::proto;

namespace {

template <class Body>
Request<Body> request(uint16_t op, const Body& body, uint32_t seq = 7) {
  Request<Body> r{};
  r.hdr = make_header(op, seq);
  r.body = body;
  return r;
}

template <class M>
int validate(const M& m) {
  return validate_request(&m, sizeof(m));
}

RegisterIfqReq good_register() {
  RegisterIfqReq r{};
  r.reg.if_rxq = 0;
  r.reg.rq_entries = 256;
  r.area.addr = 0;
  r.area.len = 1 << 20;
  r.port = 0;
  return r;
}

OpenFlowReq udp_flow(uint16_t port) {
  OpenFlowReq f{};
  f.kind = kFlowUdpPort;
  f.dst_port = port;
  return f;
}

}  // namespace

TEST_CASE("header: good requests of every op validate") {
  CHECK(validate(request(kOpCreateRing, CreateRingReq{64, 0, 0, 0})) == 0);
  CHECK(validate(request(kOpRegisterIfq, good_register())) == 0);
  uapi::zcrx_ctrl c{};
  c.op = uapi::ZCRX_CTRL_EXPORT;
  CHECK(validate(request(kOpExport, CtrlReq{c})) == 0);
  c.op = uapi::ZCRX_CTRL_FLUSH_RQ;
  CHECK(validate(request(kOpCtrl, CtrlReq{c})) == 0);
  CHECK(validate(request(kOpOpenFlow, udp_flow(9000))) == 0);
  CHECK(validate(request(kOpCloseFlow, CloseFlowReq{3, 0})) == 0);
  CHECK(validate(request(kOpRegisterEventfd, EventfdReq{})) == 0);
  CHECK(validate(request(kOpUnregisterEventfd, EventfdReq{})) == 0);
}

TEST_CASE("header: bad magic, version, op or len is -EINVAL") {
  auto m = request(kOpCreateRing, CreateRingReq{64, 0, 0, 0});
  SUBCASE("magic") { m.hdr.magic = 0x58524358; }
  SUBCASE("version 0") { m.hdr.version = 0; }
  SUBCASE("version 1 (before events)") { m.hdr.version = 1; }
  SUBCASE("version past ours") { m.hdr.version = kVersion + 1; }
  SUBCASE("op 0") { m.hdr.op = 0; }
  SUBCASE("op past the last") { m.hdr.op = kOpLast + 1; }
  SUBCASE("len short") { m.hdr.len -= 1; }
  SUBCASE("len long") { m.hdr.len += 1; }
  SUBCASE("op of another size") { m.hdr.op = kOpOpenFlow; }
  MsgHeader h{};
  CHECK(validate_request(&m, sizeof(m), &h) == -EINVAL);
  CHECK(h.seq == 7);  // echoable even when rejected
}

TEST_CASE("header: a message shorter than a header, or longer than the op's, is -EINVAL") {
  auto m = request(kOpCreateRing, CreateRingReq{64, 0, 0, 0});
  CHECK(validate_request(&m, 0) == -EINVAL);
  CHECK(validate_request(&m, sizeof(MsgHeader) - 1) == -EINVAL);
  // Header claims the truncated length: still not the op's size.
  m.hdr.len = sizeof(MsgHeader) + 8;
  CHECK(validate_request(&m, m.hdr.len) == -EINVAL);
  std::vector<unsigned char> big(sizeof(m) + 8, 0);
  auto m2 = request(kOpCreateRing, CreateRingReq{64, 0, 0, 0});
  m2.hdr.len = static_cast<uint32_t>(big.size());
  std::memcpy(big.data(), &m2, sizeof(m2));
  CHECK(validate_request(big.data(), big.size()) == -EINVAL);
}

TEST_CASE("header: unaligned buffers are read correctly") {
  auto m = request(kOpCloseFlow, CloseFlowReq{3, 0});
  std::vector<unsigned char> buf(sizeof(m) + 1);
  std::memcpy(buf.data() + 1, &m, sizeof(m));
  CHECK(validate_request(buf.data() + 1, sizeof(m)) == 0);
}

TEST_CASE("create ring: entry counts, flags and reserved") {
  CHECK(validate(request(kOpCreateRing, CreateRingReq{1, 0, 0, 0})) == 0);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{kMaxSqEntries, kMaxCqEntries, 0, 0})) == 0);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{100, 100, 0, 0})) == 0);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{0, 0, 0, 0})) == -EINVAL);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{kMaxSqEntries + 1, 0, 0, 0})) == -EINVAL);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{64, 32, 0, 0})) == -EINVAL);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{64, kMaxCqEntries + 1, 0, 0})) == -EINVAL);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{64, 0, 1, 0})) == -EINVAL);
  CHECK(validate(request(kOpCreateRing, CreateRingReq{64, 0, 0, 1})) == -EINVAL);
}

TEST_CASE("register ifq: reserved and pointer fields must be zero") {
  auto r = good_register();
  SUBCASE("flags 4 (unknown)") { r.reg.flags = 4; }
  SUBCASE("flags IMPORT | 4") { r.reg.flags = 5; }
  SUBCASE("area_ptr") { r.reg.area_ptr = 0x1000; }
  SUBCASE("region_ptr") { r.reg.region_ptr = 0x1000; }
  SUBCASE("zcrx_id") { r.reg.zcrx_id = 1; }
  SUBCASE("reg resv 0") { r.reg.__resv[0] = 1; }
  SUBCASE("reg resv 1") { r.reg.__resv[1] = 1; }
  SUBCASE("event without event_desc") { r.event.user_data = 1; }
  SUBCASE("event resv without event_desc") { r.event.__resv2[8] = 1; }
  SUBCASE("area flags dmabuf") { r.area.flags = uapi::kZcrxAreaDmabuf; }
  SUBCASE("dmabuf fd") { r.area.dmabuf_fd = 3; }
  SUBCASE("area resv") { r.area.__resv2[1] = 1; }
  SUBCASE("message resv") { r.resv = 1; }
  SUBCASE("area len 0") { r.area.len = 0; }
  SUBCASE("area len unaligned") { r.area.len = 4097; }
  SUBCASE("area addr unaligned") { r.area.addr = 100; }
  SUBCASE("area wraps") {
    r.area.addr = UINT64_MAX - 4095;
    r.area.len = 8192;
  }
  CHECK(validate(request(kOpRegisterIfq, r)) == -EINVAL);
}

TEST_CASE("register ifq: ZCRX_REG_NODEV is a fresh registration") {
  auto r = good_register();
  r.reg.flags = uapi::kZcrxRegNodev;
  CHECK(validate(request(kOpRegisterIfq, r)) == 0);
  // It names its own area, as a plain registration does.
  r.area.len = 0;
  CHECK(validate(request(kOpRegisterIfq, r)) == -EINVAL);
}

TEST_CASE("register ifq: outputs and if_idx are ignored on input") {
  auto r = good_register();
  r.reg.if_idx = 42;
  r.reg.offsets.head = 5;
  r.area.rq_area_token = uapi::area_token(3);
  CHECK(validate(request(kOpRegisterIfq, r)) == 0);
}

TEST_CASE("register ifq: clone/import (flags 1) must not name an area") {
  RegisterIfqReq r{};
  r.reg.flags = 1;
  r.reg.if_rxq = 2;
  CHECK(validate(request(kOpRegisterIfq, r)) == 0);
  r.area.len = 4096;
  CHECK(validate(request(kOpRegisterIfq, r)) == -EINVAL);
  r.area.len = 0;
  r.area.addr = 4096;
  CHECK(validate(request(kOpRegisterIfq, r)) == -EINVAL);
}

TEST_CASE("register ifq: the event descriptor travels by value (version 2)") {
  auto r = good_register();
  r.reg.event_desc = 0x7ffc1000;  // the consumer's pointer: only "non-zero" counts
  r.event.user_data = 77;
  r.event.type_mask = 1u << uapi::ZCRX_EVENT_ALLOC_FAIL;
  CHECK(validate(request(kOpRegisterIfq, r)) == 0);
  // The descriptor's own rules are the engine's (kernel order, its errno);
  // the wire format passes them through.
  r.event.type_mask = 0x80;
  r.event.flags = 4;
  CHECK(validate(request(kOpRegisterIfq, r)) == 0);
  // Clone and import carry none.
  RegisterIfqReq s{};
  s.reg.flags = 1;
  s.reg.event_desc = 8;
  CHECK(validate(request(kOpRegisterIfq, s)) == -EINVAL);
  s.reg.event_desc = 0;
  s.event.type_mask = 1;
  CHECK(validate(request(kOpRegisterIfq, s)) == -EINVAL);
  s.event = {};
  CHECK(validate(request(kOpRegisterIfq, s)) == 0);
}

TEST_CASE("register ifq: a version 1 message (no descriptor) is refused") {
  // Version 1's REGISTER_IFQ ended after `resv` (152 bytes of body).
  Request<RegisterIfqReq> m = request(kOpRegisterIfq, good_register());
  m.hdr.version = 1;
  CHECK(validate(m) == -EINVAL);
  const size_t v1_len = sizeof(MsgHeader) + offsetof(RegisterIfqReq, event);
  m.hdr.version = kVersion;
  m.hdr.len = static_cast<uint32_t>(v1_len);
  CHECK(validate_request(&m, v1_len) == -EINVAL);
  CHECK(request_size(kOpRegisterIfq) == 264);
  CHECK(kVersion == 4);
}

TEST_CASE("stats_offset_for: after the RQEs, 64-byte aligned, inside the region") {
  for (uint32_t n : {1u, 2u, 3u, 64u, 100u, 256u, 4096u, 32768u, 40000u}) {
    CAPTURE(n);
    const RqRegionLayout l = rq_region_layout(round_ring_entries(n, kMaxRqEntries));
    const uint64_t off = stats_offset_for(n);
    REQUIRE(off != 0);
    CHECK(off % 64 == 0);
    CHECK(off >= l.off.rqes + uint64_t{16} * l.rq_entries);
    CHECK(off < l.off.rqes + uint64_t{16} * l.rq_entries + 64);
    CHECK(off + sizeof(uapi::zcrx_stats) <= l.size);
    CHECK(off == stats_offset(l));
  }
  CHECK(stats_offset_for(0) == 0);
  // A region with no room after the RQEs has no place for the block.
  RqRegionLayout full = rq_region_layout(64);
  full.size = full.off.rqes + 16 * 64;
  CHECK(stats_offset(full) == 0);
}

TEST_CASE("ctrl: ZCRX_CTRL_ARM_EVENT") {
  uapi::zcrx_ctrl c{};
  c.op = uapi::ZCRX_CTRL_ARM_EVENT;
  c.zc_arm_event.event_type = uapi::ZCRX_EVENT_COPY;
  CHECK(validate(request(kOpCtrl, CtrlReq{c})) == 0);
  // An unknown type is the engine's -EINVAL, not a wire-format error.
  c.zc_arm_event.event_type = 77;
  CHECK(validate(request(kOpCtrl, CtrlReq{c})) == 0);
  c.zc_arm_event.__resv[10] = 1;
  CHECK(validate(request(kOpCtrl, CtrlReq{c})) == -EINVAL);
  c.zc_arm_event.__resv[10] = 0;
  c.__resv[0] = 1;
  CHECK(validate(request(kOpCtrl, CtrlReq{c})) == -EINVAL);
  c.__resv[0] = 0;
  CHECK(validate(request(kOpExport, CtrlReq{c})) == -EINVAL);  // ARM through EXPORT
}

TEST_CASE("export and ctrl: op and reserved words") {
  uapi::zcrx_ctrl c{};
  c.op = uapi::ZCRX_CTRL_FLUSH_RQ;
  CHECK(validate(request(kOpExport, CtrlReq{c})) == -EINVAL);  // wrong op for EXPORT
  c.op = uapi::ZCRX_CTRL_EXPORT;
  CHECK(validate(request(kOpCtrl, CtrlReq{c})) == -EINVAL);    // EXPORT via CTRL
  c.op = uapi::__ZCRX_CTRL_LAST;
  CHECK(validate(request(kOpCtrl, CtrlReq{c})) == -EINVAL);
  c.op = uapi::ZCRX_CTRL_EXPORT;
  c.zc_export.zcrx_fd = 5;
  CHECK(validate(request(kOpExport, CtrlReq{c})) == -EINVAL);
  c.zc_export.zcrx_fd = 0;
  c.zc_export.__resv1[10] = 1;
  CHECK(validate(request(kOpExport, CtrlReq{c})) == -EINVAL);
  c.zc_export.__resv1[10] = 0;
  c.__resv[1] = 1;
  CHECK(validate(request(kOpExport, CtrlReq{c})) == -EINVAL);
  uapi::zcrx_ctrl f{};
  f.op = uapi::ZCRX_CTRL_FLUSH_RQ;
  f.zc_flush.__resv[5] = 1;
  CHECK(validate(request(kOpCtrl, CtrlReq{f})) == -EINVAL);
  f.zc_flush.__resv[5] = 0;
  f.zcrx_id = 9;  // the id is checked by the server, not here
  CHECK(validate(request(kOpCtrl, CtrlReq{f})) == 0);
}

TEST_CASE("open flow: per-kind field rules") {
  CHECK(validate(request(kOpOpenFlow, udp_flow(0))) == -EINVAL);
  auto f = udp_flow(53);
  f.ip_version = 6;
  CHECK(validate(request(kOpOpenFlow, f)) == 0);
  f.ip_version = 5;
  CHECK(validate(request(kOpOpenFlow, f)) == -EINVAL);
  f = udp_flow(53);
  f.src_port = 1;
  CHECK(validate(request(kOpOpenFlow, f)) == -EINVAL);
  f = udp_flow(53);
  f.dst_addr[0] = 10;
  CHECK(validate(request(kOpOpenFlow, f)) == -EINVAL);
  f = udp_flow(53);
  f.resv0 = 1;
  CHECK(validate(request(kOpOpenFlow, f)) == -EINVAL);
  f = udp_flow(53);
  f.resv1 = 1;
  CHECK(validate(request(kOpOpenFlow, f)) == -EINVAL);

  OpenFlowReq t{};
  t.kind = kFlowFiveTuple;
  t.ip_version = 4;
  t.src_addr[0] = 10;
  t.dst_addr[0] = 10;
  t.src_port = 1000;
  t.dst_port = 2000;
  CHECK(validate(request(kOpOpenFlow, t)) == 0);
  t.dst_addr[4] = 1;  // IPv4 uses only 4 bytes
  CHECK(validate(request(kOpOpenFlow, t)) == -EINVAL);
  t.ip_version = 6;
  CHECK(validate(request(kOpOpenFlow, t)) == 0);
  t.ip_version = 0;
  CHECK(validate(request(kOpOpenFlow, t)) == -EINVAL);
  t.ip_version = 6;
  t.src_port = 0;
  CHECK(validate(request(kOpOpenFlow, t)) == -EINVAL);

  OpenFlowReq raw{};
  raw.kind = kFlowRaw;
  CHECK(validate(request(kOpOpenFlow, raw)) == 0);
  raw.dst_port = 1;
  CHECK(validate(request(kOpOpenFlow, raw)) == -EINVAL);
  raw.dst_port = 0;
  raw.ip_version = 4;
  CHECK(validate(request(kOpOpenFlow, raw)) == -EINVAL);
  raw.ip_version = 0;
  raw.kind = 0;
  CHECK(validate(request(kOpOpenFlow, raw)) == -EINVAL);
  raw.kind = 4;
  CHECK(validate(request(kOpOpenFlow, raw)) == -EINVAL);
}

TEST_CASE("close flow and eventfd: reserved words") {
  CHECK(validate(request(kOpCloseFlow, CloseFlowReq{1, 1})) == -EINVAL);
  CHECK(validate(request(kOpRegisterEventfd, EventfdReq{1, 0})) == -EINVAL);
  CHECK(validate(request(kOpRegisterEventfd, EventfdReq{0, 1})) == -EINVAL);
  CHECK(validate(request(kOpUnregisterEventfd, EventfdReq{1, 0})) == -EINVAL);
}

TEST_CASE("request fds per op") {
  CHECK(request_fds(kOpRegisterIfq) == 1);
  CHECK(request_fds(kOpRegisterEventfd) == 1);
  CHECK(request_fds(kOpCreateRing) == 0);
  CHECK(request_fds(kOpExport) == 0);
  CHECK(request_size(0) == 0);
  CHECK(reply_size(kOpLast + 1) == 0);
}

TEST_CASE("reply: op, seq, length and result range") {
  MsgHeader req = make_header(kOpOpenFlow, 11);
  Reply<OpenFlowReply> ok{};
  ok.rh = make_reply_header(req, 0, sizeof(OpenFlowReply));
  ok.body.handle = 4;
  int32_t res = 99;
  CHECK(validate_reply(&ok, sizeof(ok), kOpOpenFlow, 11, &res) == 0);
  CHECK(res == 0);
  CHECK(validate_reply(&ok, sizeof(ok), kOpOpenFlow, 12, &res) == -EINVAL);  // seq
  CHECK(validate_reply(&ok, sizeof(ok), kOpCloseFlow, 11, &res) == -EINVAL); // op
  CHECK(validate_reply(&ok, sizeof(ReplyHeader), kOpOpenFlow, 11, &res) == -EINVAL);

  // An error reply is a bare header; a full-size error reply is malformed.
  ReplyHeader err = make_reply_header(req, -EEXIST, sizeof(OpenFlowReply));
  CHECK(err.hdr.len == sizeof(ReplyHeader));
  CHECK(validate_reply(&err, sizeof(err), kOpOpenFlow, 11, &res) == 0);
  CHECK(res == -EEXIST);
  Reply<OpenFlowReply> fat = ok;
  fat.rh.result = -EEXIST;
  CHECK(validate_reply(&fat, sizeof(fat), kOpOpenFlow, 11, &res) == -EINVAL);
  // A success reply without its body is malformed.
  ReplyHeader thin = make_reply_header(req, 0, 0);
  CHECK(validate_reply(&thin, sizeof(thin), kOpOpenFlow, 11, &res) == -EINVAL);

  err.result = -4096;
  CHECK(validate_reply(&err, sizeof(err), kOpOpenFlow, 11, &res) == -EINVAL);
  err.result = -EINVAL;
  err.resv = 1;
  CHECK(validate_reply(&err, sizeof(err), kOpOpenFlow, 11, &res) == -EINVAL);
  err.resv = 0;
  err.hdr.magic ^= 1;
  CHECK(validate_reply(&err, sizeof(err), kOpOpenFlow, 11, &res) == -EINVAL);
  CHECK(validate_reply(&err, 3, kOpOpenFlow, 11, &res) == -EINVAL);
}

TEST_CASE("default socket path follows XDG_RUNTIME_DIR") {
  const char* old = std::getenv("XDG_RUNTIME_DIR");
  std::string saved = old ? old : "";
  setenv("XDG_RUNTIME_DIR", "/tmp/xdg-test", 1);
  CHECK(default_socket_path() == "/tmp/xdg-test/zcrx/zcrxd.sock");
  setenv("XDG_RUNTIME_DIR", "", 1);
  CHECK(default_socket_path() == "/run/zcrx/zcrxd.sock");
  unsetenv("XDG_RUNTIME_DIR");
  CHECK(default_socket_path() == "/run/zcrx/zcrxd.sock");
  if (old) setenv("XDG_RUNTIME_DIR", saved.c_str(), 1);
}

TEST_CASE("SQ_WAKEUP: an 8-byte body of zeros, no fds, no reply") {
  Request<SqWakeupReq> m = request(kOpSqWakeup, SqWakeupReq{0, 0});
  CHECK(validate(m) == 0);
  CHECK(request_size(kOpSqWakeup) == sizeof(MsgHeader) + 8);
  CHECK(reply_size(kOpSqWakeup) == 0);
  CHECK(request_fds(kOpSqWakeup) == 0);
  m.body.flags = 1;
  CHECK(validate(m) == -EINVAL);
  m.body = {0, 7};
  CHECK(validate(m) == -EINVAL);
}

TEST_CASE("TCP socket ops: sizes, fds, reserved words") {
  CHECK(validate(request(kOpSocket, SocketReq{2, 1, 6, 0})) == 0);
  CHECK(validate(request(kOpSocket, SocketReq{2, 1, 6, 1})) == -EINVAL);
  CHECK(validate(request(kOpBind, BindReq{kSocketHandleBase, 0, 8000, 0, 0})) == 0);
  CHECK(validate(request(kOpBind, BindReq{kSocketHandleBase, 0, 8000, 1, 0})) == -EINVAL);
  CHECK(validate(request(kOpBind, BindReq{kSocketHandleBase, 0, 8000, 0, 1})) == -EINVAL);
  CHECK(validate(request(kOpListen, ListenReq{kSocketHandleBase, 128})) == 0);
  CHECK(validate(request(kOpSockName, SockNameReq{kSocketHandleBase, 0})) == 0);
  CHECK(validate(request(kOpSockName, SockNameReq{kSocketHandleBase, 3})) == -EINVAL);
  CHECK(validate(request(kOpRegisterTx, TxRegionReq{0x7f0000000000, 1u << 20, 0, 0})) == 0);
  CHECK(validate(request(kOpRegisterTx, TxRegionReq{0, 4095, 0, 0})) == -EINVAL);
  CHECK(validate(request(kOpRegisterTx, TxRegionReq{0, 0, 0, 0})) == -EINVAL);
  CHECK(validate(request(kOpRegisterTx, TxRegionReq{0, 2ull << 30, 0, 0})) == -EINVAL);
  CHECK(validate(request(kOpRegisterTx, TxRegionReq{0, 4096, 1, 0})) == -EINVAL);
  CHECK(request_fds(kOpRegisterTx) == 1);
  CHECK(request_fds(kOpSocket) == 0);
  CHECK(reply_size(kOpSocket) == sizeof(Reply<SocketReply>));
  CHECK(reply_size(kOpSockName) == sizeof(Reply<SockNameReply>));
  CHECK(reply_size(kOpBind) == sizeof(ReplyHeader));
  // CLOSE_SOCKET: a handle and a reserved word; no fd, no reply body.
  CHECK(validate(request(kOpCloseSocket, CloseSocketReq{kSocketHandleBase, 0})) == 0);
  CHECK(validate(request(kOpCloseSocket, CloseSocketReq{kSocketHandleBase, 1})) == -EINVAL);
  CHECK(request_fds(kOpCloseSocket) == 0);
  CHECK(reply_size(kOpCloseSocket) == sizeof(ReplyHeader));
}
