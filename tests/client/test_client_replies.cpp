// SPDX-License-Identifier: MIT
// libzcrx treats zcrxd's replies and regions as untrusted: malformed ones
// are -EPROTO and leak no descriptor.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "fake_server.h"
#include "zcrx/client.h"

using namespace zcrx;
using namespace zcrx::proto;

namespace {

int open_fd_count() {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) n += fcntl(fd, F_GETFD) >= 0;
  return n;
}

template <class Body>
void send_reply(int sock, const MsgHeader& req, int32_t result, const Body* body,
                const int* fds, unsigned nfds) {
  unsigned char buf[kMaxMsgSize];
  ReplyHeader rh = make_reply_header(req, result, body ? sizeof(Body) : 0);
  std::memcpy(buf, &rh, sizeof(rh));
  if (body) std::memcpy(buf + sizeof(rh), body, sizeof(Body));
  send_msg(sock, buf, rh.hdr.len, fds, nfds);
}

// A memfd of `size` bytes (stands for a region zcrxd would create).
int region_fd(size_t size) {
  int fd = memfd_create("bad-region", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, static_cast<off_t>(size)) == 0);
  return fd;
}

CreateRingReply good_ring_reply(uint32_t sq, uint32_t cq) {
  RingRegionLayout l = ring_region_layout(sq, cq);
  CreateRingReply r{};
  r.sq_off = l.sq_off;
  r.cq_off = l.cq_off;
  r.sqes_off = l.sqes_off;
  r.sq_entries = sq;
  r.cq_entries = cq;
  r.size = l.size;
  return r;
}

}  // namespace

TEST_CASE("replies: malformed CREATE_RING replies are -EPROTO and close their fds") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  const int before = open_fd_count();
  CreateRingReply rep = good_ring_reply(8, 16);
  size_t fd_size = rep.size;
  bool bad_seq = false, bare = false, no_fd = false;
  SUBCASE("overlapping offsets") { rep.cq_off.tail = rep.cq_off.head; }
  SUBCASE("CQE array past the end") { rep.cq_off.cqes = static_cast<uint32_t>(rep.size); }
  SUBCASE("entries not a power of two") { rep.cq_entries = 12; }
  SUBCASE("size larger than the memfd") { fd_size = rep.size - 4096; }
  SUBCASE("size not page aligned") { rep.size -= 8; }
  SUBCASE("reserved word set") { rep.resv = 1; }
  SUBCASE("wrong seq") { bad_seq = true; }
  SUBCASE("success without body") { bare = true; }
  SUBCASE("success without fd") { no_fd = true; }
  int fd = region_fd(fd_size);
  srv.set_hook([&](int sock, const MsgHeader& h) {
    MsgHeader req = h;
    if (bad_seq) req.seq += 1;
    if (bare)
      send_reply<CreateRingReply>(sock, req, 0, nullptr, &fd, 1);
    else
      send_reply(sock, req, 0, &rep, &fd, no_fd ? 0 : 1);
  });
  CHECK(ring.create(8, 16) == -EPROTO);
  close(fd);
  CHECK(open_fd_count() == before);
  CHECK(ring.ring_fd() == -1);
}

TEST_CASE("replies: an error reply's stray fds are closed and its errno returned") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  const int before = open_fd_count();
  int fd = region_fd(4096);
  srv.set_hook([&](int sock, const MsgHeader& h) {
    // A bare error header with an fd attached anyway.
    send_reply<CreateRingReply>(sock, h, -ENOMEM, nullptr, &fd, 1);
  });
  CHECK(ring.create(8) == -ENOMEM);
  close(fd);
  CHECK(open_fd_count() == before);
}

TEST_CASE("replies: surplus reply fds are closed on arrival") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  CreateRingReply rep = good_ring_reply(8, 16);
  int fds[2] = {region_fd(rep.size), region_fd(4096)};
  const int before = open_fd_count();
  srv.set_hook([&](int sock, const MsgHeader& h) { send_reply(sock, h, 0, &rep, fds, 2); });
  REQUIRE(ring.create(8, 16) == 0);
  // One new descriptor (the ring region); the second one was closed.
  CHECK(open_fd_count() == before + 1);
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("replies: a REGISTER_IFQ reply with a bad RQ region is -EPROTO, area unmapped") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  REQUIRE(ring.create(8) == 0);
  const int before = open_fd_count();
  RqRegionLayout rl = rq_region_layout(16);
  RegisterIfqReply rep{};
  rep.reg.offsets = rl.off;
  rep.reg.rq_entries = 16;
  rep.area.rq_area_token = uapi::area_token(1);
  rep.rq_region_size = rl.size;
  size_t fd_size = rl.size;
  SUBCASE("head == tail") { rep.reg.offsets.tail = rep.reg.offsets.head; }
  SUBCASE("rqes past the end") { rep.reg.offsets.rqes = static_cast<uint32_t>(rl.size); }
  SUBCASE("rq_entries 0") { rep.reg.rq_entries = 0; }
  SUBCASE("token with offset bits") { rep.area.rq_area_token = 4096; }
  SUBCASE("region bigger than the memfd") { fd_size = 4096; rep.rq_region_size = 8192; }
  SUBCASE("rx_buf_len not a power of two") { rep.reg.rx_buf_len = 3000; }
  SUBCASE("zcrx id beyond the int return range") { rep.reg.zcrx_id = 0x80000000u; }
  int fd = region_fd(fd_size);
  srv.set_hook([&](int sock, const MsgHeader& h) { send_reply(sock, h, 0, &rep, &fd, 1); });
  IfqParams p;
  p.area_len = 64 << 10;
  Ifq* q = nullptr;
  CHECK(ring.register_ifq(p, &q) == -EPROTO);
  close(fd);
  CHECK(open_fd_count() == before);
}

TEST_CASE("replies: a flow handle that does not fit the SQE fd is -EPROTO") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  srv.set_hook([&](int sock, const MsgHeader& h) {
    OpenFlowReply rep{0x80000000u, 0};
    send_reply(sock, h, 0, &rep, nullptr, 0);
  });
  CHECK(ring.open_flow(0, FlowSpec::raw()) == -EPROTO);
}

TEST_CASE("replies: a server that hangs up is -ECONNRESET") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  srv.set_hook([&](int sock, const MsgHeader&) { shutdown(sock, SHUT_RDWR); });
  CHECK(ring.create(8) == -ECONNRESET);
}

TEST_CASE("replies: no reply within the control timeout is -ETIMEDOUT, then for every call") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  ring.set_control_timeout(50);
  srv.set_hook([](int, const MsgHeader&) {});  // swallow the request
  CHECK(ring.create(8) == -ETIMEDOUT);
  CHECK(ring.create(8) == -ETIMEDOUT);  // out of step: no second exchange
  CHECK(srv.served[kOpCreateRing] == 0);
}

TEST_CASE("replies: random reply bytes with random fds never crash, leak or succeed wrongly") {
  fake::Server srv;
  Ring ring;
  REQUIRE(ring.attach(srv.open_session()) == 0);
  std::mt19937_64 rng(99);
  int fd_pool[2] = {region_fd(4096), region_fd(8192)};
  const int before = open_fd_count();
  for (int iter = 0; iter < 300; iter++) {
    std::vector<unsigned char> junk(rng() % (kMaxMsgSize + 2) + 1);
    for (auto& b : junk) b = static_cast<unsigned char>(rng());
    bool plausible = (iter & 1) && junk.size() >= sizeof(ReplyHeader);
    unsigned nfds = static_cast<unsigned>(rng() % 3);
    // The hook owns its copy: the client may free `junk` as soon as the
    // reply is in the socket, before the server's sendmsg has returned.
    srv.set_hook([junk, plausible, nfds, &fd_pool](int sock, const MsgHeader& h) mutable {
      if (plausible) {  // right framing, random result and body
        ReplyHeader rh = make_reply_header(h, 0, 0);
        rh.hdr.len = static_cast<uint32_t>(junk.size());
        std::memcpy(&rh.result, junk.data() + 16, 4);
        rh.resv = 0;
        std::memcpy(junk.data(), &rh, sizeof(rh));
      }
      send_msg(sock, junk.data(), junk.size(), fd_pool, nfds);
    });
    int r = ring.open_flow(0, FlowSpec::raw());
    // A junk reply may only pass as an error from the kernel's range or,
    // when it is a well-formed OPEN_FLOW success, as a handle.
    CHECK(r >= -4095);
    if (r >= 0) CHECK(junk.size() == sizeof(Reply<OpenFlowReply>));
    CHECK(open_fd_count() == before);
  }
  close(fd_pool[0]);
  close(fd_pool[1]);
}
