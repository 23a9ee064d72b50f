// SPDX-License-Identifier: MIT
// Random and mutated messages: the validators never read out of bounds
// (ASan runs this) and answer exactly 0 or -EINVAL; a mutation that only
// touches a reserved word is always rejected.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "zcrx/proto.h"

using namespace zcrx::proto;

namespace {

// A valid request of each op, as bytes.
std::vector<std::vector<unsigned char>> valid_requests() {
  std::vector<std::vector<unsigned char>> out;
  auto add = [&](uint16_t op, const auto& body) {
    std::vector<unsigned char> m(sizeof(MsgHeader) + sizeof(body));
    MsgHeader h = make_header(op, 1);
    std::memcpy(m.data(), &h, sizeof(h));
    std::memcpy(m.data() + sizeof(h), &body, sizeof(body));
    out.push_back(std::move(m));
  };
  add(kOpCreateRing, CreateRingReq{64, 0, 0, 0});
  RegisterIfqReq r{};
  r.reg.rq_entries = 64;
  r.area.len = 4096;
  add(kOpRegisterIfq, r);
  RegisterIfqReq e = r;  // with an event descriptor
  e.reg.event_desc = 1;
  e.event.user_data = 5;
  e.event.type_mask = 1;
  add(kOpRegisterIfq, e);
  CtrlReq c{};
  c.ctrl.op = zcrx::uapi::ZCRX_CTRL_EXPORT;
  add(kOpExport, c);
  c.ctrl.op = zcrx::uapi::ZCRX_CTRL_FLUSH_RQ;
  add(kOpCtrl, c);
  CtrlReq a{};
  a.ctrl.op = zcrx::uapi::ZCRX_CTRL_ARM_EVENT;
  add(kOpCtrl, a);
  OpenFlowReq f{};
  f.kind = kFlowUdpPort;
  f.dst_port = 1;
  add(kOpOpenFlow, f);
  add(kOpCloseFlow, CloseFlowReq{1, 0});
  add(kOpRegisterEventfd, EventfdReq{});
  add(kOpUnregisterEventfd, EventfdReq{});
  return out;
}

}  // namespace

TEST_CASE("random: random bytes of every length up to kMaxMsgSize + 40 are 0 or -EINVAL, never a crash") {
  std::mt19937_64 rng(12345);
  std::vector<unsigned char> buf(kMaxMsgSize + 40);
  unsigned accepted = 0;
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = rng() % (buf.size() + 1);
    for (size_t i = 0; i < n; i++) buf[i] = static_cast<unsigned char>(rng());
    // Half the time give it a plausible header so the body checks run.
    if (n >= sizeof(MsgHeader) && (iter & 1)) {
      MsgHeader h = make_header(static_cast<uint16_t>(kOpFirst + rng() % (kOpLast - kOpFirst + 1)), 1);
      h.len = static_cast<uint32_t>(n);
      std::memcpy(buf.data(), &h, sizeof(h));
    }
    // An exact-size heap copy, so ASan catches any read past `n`.
    std::vector<unsigned char> exact(buf.begin(), buf.begin() + static_cast<long>(n));
    int r = validate_request(exact.data(), n);
    REQUIRE((r == 0 || r == -EINVAL));
    accepted += r == 0;
    int32_t res;
    int rr = validate_reply(exact.data(), n, static_cast<uint16_t>(rng() % 10), 1, &res);
    REQUIRE((rr == 0 || rr == -EINVAL));
  }
  MESSAGE("random requests accepted: ", accepted);
}

TEST_CASE("random: one flipped byte of a valid request is -EINVAL unless it lands in a free field") {
  std::mt19937_64 rng(777);
  for (const auto& m : valid_requests()) {
    REQUIRE(validate_request(m.data(), m.size()) == 0);
    for (size_t at = 0; at < m.size(); at++) {
      auto copy = m;
      copy[at] ^= static_cast<unsigned char>(1 + rng() % 255);
      int r = validate_request(copy.data(), copy.size());
      REQUIRE((r == 0 || r == -EINVAL));
      // Header bytes other than seq (12..15) are never free.
      if (at < 12) CHECK(r == -EINVAL);
    }
  }
}

TEST_CASE("random: a flipped byte in the descriptor of a registration without events is -EINVAL") {
  std::mt19937_64 rng(99);
  RegisterIfqReq r{};
  r.reg.rq_entries = 64;
  r.area.len = 4096;
  std::vector<unsigned char> m(sizeof(MsgHeader) + sizeof(r));
  MsgHeader h = make_header(kOpRegisterIfq, 1);
  std::memcpy(m.data(), &h, sizeof(h));
  std::memcpy(m.data() + sizeof(h), &r, sizeof(r));
  const size_t first = sizeof(MsgHeader) + offsetof(RegisterIfqReq, event);
  for (size_t at = first; at < m.size(); at++) {
    auto copy = m;
    copy[at] ^= static_cast<unsigned char>(1 + rng() % 255);
    CAPTURE(at);
    CHECK(validate_request(copy.data(), copy.size()) == -EINVAL);
  }
  // Any byte of reg.event_desc (the "there is one" word) makes it valid.
  const size_t desc = sizeof(MsgHeader) + offsetof(RegisterIfqReq, reg) +
                      offsetof(zcrx::uapi::io_uring_zcrx_ifq_reg, event_desc);
  for (size_t at = desc; at < desc + 8; at++) {
    auto copy = m;
    copy[at] = 0x40;
    CHECK(validate_request(copy.data(), copy.size()) == 0);
  }
}
