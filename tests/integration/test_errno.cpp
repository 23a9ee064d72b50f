// SPDX-License-Identifier: MIT
// Every failing control call gets the kernel's errno: protocol framing,
// CREATE_RING, REGISTER_IFQ (register, clone, import), EXPORT, CTRL, flows,
// eventfds, and RECV_ZC SQEs; garbage closes the session.
#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "consumer.h"
#include "daemon.h"
#include "raw_session.h"
#include "zcrx/proto.h"

using namespace itest;
namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;

namespace {

proto::RegisterIfqReq reg_req(uint64_t area_len = 4u << 20) {
  proto::RegisterIfqReq r{};
  r.reg.rq_entries = 256;
  r.area.len = area_len;
  return r;
}

}  // namespace

TEST_CASE("control calls fail with the kernel's errno") {
  std::string pcap = scratch_dir() + "/errno.pcap";
  REQUIRE(make_pcap(pcap, 10, 100, "9000"));
  Daemon d(pcap_vdev({pcap}));
  REQUIRE(d.ready());
  int area = make_area(4u << 20);
  REQUIRE(area >= 0);
  RawSession a(d.socket());
  REQUIRE(a.sock >= 0);

  // Framing: magic, version, op, length, reserved words.
  proto::Request<proto::CreateRingReq> cr{proto::make_header(proto::kOpCreateRing, 1),
                                          {64, 0, 0, 0}};
  auto bad = cr;
  bad.hdr.magic = 0x12345678;
  CHECK(a.send_bytes(&bad, sizeof(bad)) == -EINVAL);
  bad = cr;
  bad.hdr.version = proto::kVersion + 1;  // a version from the future
  CHECK(a.send_bytes(&bad, sizeof(bad)) == -EINVAL);
  bad = cr;
  bad.hdr.op = 99;
  CHECK(a.send_bytes(&bad, sizeof(bad)) == -EINVAL);
  bad = cr;
  bad.hdr.len = sizeof(bad) + 4;
  CHECK(a.send_bytes(&bad, sizeof(bad)) == -EINVAL);
  bad = cr;
  bad.body.flags = 1;
  CHECK(a.send_bytes(&bad, sizeof(bad)) == -EINVAL);
  bad = cr;
  bad.body.sq_entries = 0;
  CHECK(a.send_bytes(&bad, sizeof(bad)) == -EINVAL);

  // Anything but CREATE_RING first: -EBADFD.
  CHECK(a.call(proto::kOpRegisterIfq, reg_req(), area) == -EBADFD);
  CHECK(a.call(proto::kOpOpenFlow, proto::OpenFlowReq{0, proto::kFlowRaw, 0, 0, {}, {}, 0, 0, 0}) == -EBADFD);

  REQUIRE(a.create_ring() == 0);
  REQUIRE(a.nfds == 1);
  int a_ring = a.take_fd(0);
  CHECK(a.create_ring() == -EEXIST);

  // REGISTER_IFQ.
  CHECK(a.call(proto::kOpRegisterIfq, reg_req()) == -EBADF);  // no area fd
  auto r = reg_req();
  r.port = 7;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -ENODEV);
  // The device lookup comes before the area and rx_buf_len checks, as in
  // the kernel (zcrx_register_netdev before io_zcrx_create_area).
  r.reg.rx_buf_len = 3000;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -ENODEV);
  r = reg_req(8u << 20);  // past the memfd
  r.port = 7;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -ENODEV);
  r = reg_req();
  r.reg.if_rxq = 3;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -ERANGE);  // not a served queue
  r = reg_req();
  r.reg.rq_entries = 0;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -EINVAL);
  r = reg_req();
  r.reg.rx_buf_len = 3000;
  CHECK(a.call(proto::kOpRegisterIfq, r, area) == -EINVAL);
  CHECK(a.call(proto::kOpRegisterIfq, reg_req(8u << 20), area) == -EFAULT);  // past the memfd
  r = reg_req();
  r.reg.flags = 1;
  r.area = {};
  int plain = make_area(4096);
  // Neither ring nor export: an import of a non-zcrx fd. Its own field
  // checks first (rq_entries must be 0: -EINVAL), then -EBADF.
  CHECK(a.call(proto::kOpRegisterIfq, r, plain) == -EINVAL);
  auto not_zcrx = r;
  not_zcrx.reg.rq_entries = 0;
  CHECK(a.call(proto::kOpRegisterIfq, not_zcrx, plain) == -EBADF);
  CHECK(a.call(proto::kOpRegisterIfq, r, a_ring) == -EBADFD);  // clone of its own ring
  // Reserved words are checked before the descriptor is looked at, so a
  // clone of its own ring with one set is -EINVAL, as the engine says.
  auto resv = r;
  resv.reg.__resv[0] = 1;
  CHECK(a.call(proto::kOpRegisterIfq, resv, a_ring) == -EINVAL);
  resv = r;
  resv.reg.zcrx_id = 2;
  CHECK(a.call(proto::kOpRegisterIfq, resv, a_ring) == -EINVAL);
  CHECK(a.call(proto::kOpExport, proto::CtrlReq{uapi::zcrx_ctrl{0, uapi::ZCRX_CTRL_EXPORT, {}, {}}}) == -ENXIO);
  CHECK(a.call(proto::kOpCtrl, proto::CtrlReq{uapi::zcrx_ctrl{3, uapi::ZCRX_CTRL_FLUSH_RQ, {}, {}}}) == -ENXIO);
  proto::OpenFlowReq of{0, proto::kFlowUdpPort, 0, 0, {}, {}, 0, 9000, 0};
  CHECK(a.call(proto::kOpOpenFlow, of) == -EINVAL);  // no zcrx id 0 yet

  // An area that cannot be sealed against shrinking could fault zcrxd.
  int unsealable = memfd_create("itest-unsealable", MFD_CLOEXEC);
  REQUIRE(ftruncate(unsealable, 4u << 20) == 0);
  CHECK(a.call(proto::kOpRegisterIfq, reg_req(), unsealable) == -EINVAL);
  close(unsealable);

  REQUIRE(a.call(proto::kOpRegisterIfq, reg_req(), area) == 0);
  CHECK(a.nfds == 1);  // the RQ region
  CHECK(a.call(proto::kOpRegisterIfq, r, a_ring) == -EBADFD);  // clone of self

  // A second ring: the queue is taken; clones need an existing id.
  RawSession b(d.socket());
  REQUIRE(b.create_ring() == 0);
  int area2 = make_area(4u << 20);
  CHECK(b.call(proto::kOpRegisterIfq, reg_req(), area2) == -EEXIST);
  auto cl = r;
  cl.reg.if_rxq = 9;
  CHECK(b.call(proto::kOpRegisterIfq, cl, a_ring) == -EINVAL);
  REQUIRE(b.call(proto::kOpRegisterIfq, r, a_ring) == 0);
  CHECK(b.nfds == 2);  // RQ region + read-only area
  // Import: the export fd selects it; a non-zero if_rxq is refused.
  REQUIRE(a.call(proto::kOpExport, proto::CtrlReq{uapi::zcrx_ctrl{0, uapi::ZCRX_CTRL_EXPORT, {}, {}}}) == 0);
  REQUIRE(a.nfds == 1);
  int exp = a.take_fd(0);
  auto im = r;
  im.reg.rq_entries = 0;  // an import shares the exporter's geometry
  auto bad_im = im;
  bad_im.reg.if_rxq = 1;
  CHECK(b.call(proto::kOpRegisterIfq, bad_im, exp) == -EINVAL);
  bad_im = im;
  bad_im.reg.rq_entries = 64;
  CHECK(b.call(proto::kOpRegisterIfq, bad_im, exp) == -EINVAL);
  CHECK(b.call(proto::kOpRegisterIfq, im, exp) == 0);
  close(exp);

  // Flows.
  proto::OpenFlowReq big = of;
  big.ip_version = 5;
  CHECK(a.call(proto::kOpOpenFlow, big) == -EINVAL);
  REQUIRE(a.call(proto::kOpOpenFlow, of) == 0);
  uint32_t handle;
  std::memcpy(&handle, a.body, sizeof(handle));
  CHECK(a.call(proto::kOpOpenFlow, of) == -EEXIST);
  CHECK(a.call(proto::kOpCloseFlow, proto::CloseFlowReq{33, 0}) == -ENOENT);
  CHECK(a.call(proto::kOpCloseFlow, proto::CloseFlowReq{handle, 0}) == 0);
  CHECK(a.call(proto::kOpCloseFlow, proto::CloseFlowReq{handle, 0}) == -ENOENT);

  // Eventfds.
  CHECK(a.call(proto::kOpRegisterEventfd, proto::EventfdReq{0, 0}) == -EBADF);
  CHECK(a.call(proto::kOpRegisterEventfd, proto::EventfdReq{0, 0}, plain) == -EINVAL);
  int efd = eventfd(0, EFD_CLOEXEC);
  CHECK(a.call(proto::kOpRegisterEventfd, proto::EventfdReq{0, 0}, efd) == 0);
  CHECK(a.call(proto::kOpRegisterEventfd, proto::EventfdReq{0, 0}, efd) == -EBUSY);
  CHECK(a.call(proto::kOpUnregisterEventfd, proto::EventfdReq{0, 0}) == 0);
  CHECK(a.call(proto::kOpUnregisterEventfd, proto::EventfdReq{0, 0}) == -ENXIO);
  CHECK(a.call(proto::kOpCtrl, proto::CtrlReq{uapi::zcrx_ctrl{0, uapi::ZCRX_CTRL_FLUSH_RQ, {}, {}}}) == 0);

  // Garbage shorter than a header: the session is closed, not answered.
  uint8_t junk[3] = {1, 2, 3};
  CHECK(a.send_bytes(junk, sizeof(junk)) == -EPIPE);

  close(efd);
  close(plain);
  close(area);
  close(area2);
  close(a_ring);
  b.drop_fds();
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("ZCRX_REG_NODEV: an ifq with an area and an RQ but no queue") {
  std::string pcap = scratch_dir() + "/nodev.pcap";
  REQUIRE(make_pcap(pcap, 10, 100, "9000"));
  Daemon d(pcap_vdev({pcap}));
  REQUIRE(d.ready());
  int area = make_area(4u << 20);
  int area2 = make_area(4u << 20);
  REQUIRE(area >= 0);
  REQUIRE(area2 >= 0);
  RawSession a(d.socket());
  REQUIRE(a.create_ring() == 0);
  int a_ring = a.take_fd(0);

  auto nd = reg_req();
  nd.reg.flags = uapi::kZcrxRegNodev;
  // Naming a device or a queue, or a niov size the copy path cannot use.
  auto bad = nd;
  bad.reg.if_rxq = 1;
  CHECK(a.call(proto::kOpRegisterIfq, bad, area) == -EINVAL);
  bad = nd;
  bad.port = 3;
  CHECK(a.call(proto::kOpRegisterIfq, bad, area) == -EINVAL);
  bad = nd;
  bad.reg.rx_buf_len = 8192;
  CHECK(a.call(proto::kOpRegisterIfq, bad, area) == -EOPNOTSUPP);
  bad = nd;
  bad.reg.flags = uapi::kZcrxRegNodev | 4;
  CHECK(a.call(proto::kOpRegisterIfq, bad, area) == -EINVAL);

  REQUIRE(a.call(proto::kOpRegisterIfq, nd, area) == 0);
  CHECK(a.nfds == 1);  // the RQ region
  proto::RegisterIfqReply rep;
  std::memcpy(&rep, a.body, sizeof(rep));
  CHECK(rep.reg.zcrx_id == 0);
  CHECK(rep.reg.rx_buf_len == 4096);
  CHECK(rep.area.rq_area_token == uapi::area_token(0));
  CHECK(rep.rq_region_size > 0);
  a.drop_fds();
  // No queue delivers to it: no flow.
  proto::OpenFlowReq of{0, proto::kFlowUdpPort, 0, 0, {}, {}, 0, 9000, 0};
  CHECK(a.call(proto::kOpOpenFlow, of) == -EINVAL);
  CHECK(a.call(proto::kOpCtrl, proto::CtrlReq{uapi::zcrx_ctrl{0, uapi::ZCRX_CTRL_FLUSH_RQ, {}, {}}}) == 0);

  // It bound nothing: queue 0 is still free for a device registration.
  RawSession b(d.socket());
  REQUIRE(b.create_ring() == 0);
  REQUIRE(b.call(proto::kOpRegisterIfq, reg_req(), area2) == 0);
  b.drop_fds();
  // Cloned and imported like any other.
  auto cl = reg_req();
  cl.reg.flags = uapi::kZcrxIfqRegClone;
  cl.reg.rq_entries = 0;
  cl.area = {};
  REQUIRE(b.call(proto::kOpRegisterIfq, cl, a_ring) == 0);
  CHECK(b.nfds == 2);  // RQ region + read-only area
  std::memcpy(&rep, b.body, sizeof(rep));
  CHECK(rep.reg.rx_buf_len == 4096);
  b.drop_fds();
  CHECK(b.call(proto::kOpOpenFlow, proto::OpenFlowReq{rep.reg.zcrx_id, proto::kFlowUdpPort, 0, 0,
                                                      {}, {}, 0, 9001, 0}) == -EINVAL);
  REQUIRE(a.call(proto::kOpExport, proto::CtrlReq{uapi::zcrx_ctrl{0, uapi::ZCRX_CTRL_EXPORT, {}, {}}}) == 0);
  int exp = a.take_fd(0);
  RawSession c(d.socket());
  REQUIRE(c.create_ring() == 0);
  auto im = cl;
  im.reg.flags = uapi::kZcrxRegImport;
  REQUIRE(c.call(proto::kOpRegisterIfq, im, exp) == 0);
  CHECK(c.nfds == 2);
  c.drop_fds();
  close(exp);

  close(area);
  close(area2);
  close(a_ring);
  a.drop_fds();
  CHECK(d.stop() == 0);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("RECV_ZC SQEs that fail complete with the kernel's errno") {
  std::string pcap = scratch_dir() + "/sqe.pcap";
  REQUIRE(make_pcap(pcap, 10, 100, "9000"));
  Daemon d(pcap_vdev({pcap}));
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(ring, d.socket().c_str(), &ifq, 256, 4);
    REQUIRE(id >= 0);
    int flow = ring.open_flow(static_cast<uint32_t>(id), zcrx::FlowSpec::udp(9000));
    REQUIRE(flow >= 0);
    zcrx::prep_recv_zc(ring.get_sqe(), flow + 1, static_cast<uint32_t>(id), 0, true, 1);
    zcrx::prep_recv_zc(ring.get_sqe(), flow, 7, 0, true, 2);
    zcrx::prep_recv_zc(ring.get_sqe(), flow, static_cast<uint32_t>(id), 0, false, 3);
    zcrx::prep_recv_zc(ring.get_sqe(), flow, static_cast<uint32_t>(id), 0, true, 4);
    zcrx::prep_recv_zc(ring.get_sqe(), flow, static_cast<uint32_t>(id), 0, true, 5);
    zcrx::prep_nop(ring.get_sqe(), 6);
    zcrx::prep_cancel(ring.get_sqe(), 77, 7);
    ring.submit();
    int32_t res[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 200; i++) {
      ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 10'000'000);
      ring.for_each_cqe([&](const uapi::io_uring_cqe32& c) {
        if (c.cqe.user_data < 8) res[c.cqe.user_data] = c.cqe.res;
      });
      if (res[7] != 1) break;
    }
    CHECK(res[1] == -EBADF);   // not an open flow handle
    CHECK(res[2] == -EINVAL);  // no such zcrx id
    CHECK(res[3] == -EINVAL);  // RECV_ZC without multishot
    CHECK(res[4] == 1);        // armed: no completion
    CHECK(res[5] == -EBUSY);   // the flow already has one armed
    CHECK(res[6] == 0);        // NOP
    CHECK(res[7] == -ENOENT);  // nothing with that user_data
  }
  CHECK(d.stop() == 0);
}
