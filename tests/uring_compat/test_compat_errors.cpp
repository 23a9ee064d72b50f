// SPDX-License-Identifier: MIT
// libzcrx's liburing-compatible API refuses what the kernel refuses, with
// the kernel's errno (io_uring_setup's checks in io_uring/io_uring.c,
// io_register_zcrx / io_create_region / io_import_area in io_uring/zcrx.c
// and io_uring/memmap.c), one check per case, against the fake zcrxd.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "compat_fixture.h"

namespace {

int init_with(unsigned entries, unsigned flags, unsigned cq_entries = 0) {
  io_uring ring;
  io_uring_params p{};
  p.flags = flags;
  p.cq_entries = cq_entries;
  int r = io_uring_queue_init_params(entries, &ring, &p);
  if (r == 0) io_uring_queue_exit(&ring);
  return r;
}

}  // namespace

// ---- io_uring_queue_init ----------------------------------------------------------
// These fail before any zcrxd is asked: no server is needed.

TEST_CASE("uring compat setup: each setup flag zcrxd cannot serve is -EINVAL") {
  const unsigned refused[] = {IORING_SETUP_IOPOLL,        IORING_SETUP_SQPOLL,
                              IORING_SETUP_SQ_AFF,        IORING_SETUP_ATTACH_WQ,
                              IORING_SETUP_R_DISABLED,    IORING_SETUP_SQE128,
                              IORING_SETUP_NO_MMAP,       IORING_SETUP_REGISTERED_FD_ONLY,
                              IORING_SETUP_HYBRID_IOPOLL, IORING_SETUP_CQE_MIXED,
                              1u << 30};
  for (unsigned f : refused) {
    CAPTURE(f);
    CHECK(init_with(8, f | IORING_SETUP_CQE32) == -EINVAL);
  }
}

TEST_CASE("uring compat setup: 0 entries, or more than 32768 without CLAMP, is -EINVAL") {
  CHECK(init_with(0, 0) == -EINVAL);
  CHECK(init_with(32769, 0) == -EINVAL);
}

TEST_CASE("uring compat setup: CQSIZE with 0, fewer than the SQ, or above 65536 without CLAMP") {
  CHECK(init_with(8, IORING_SETUP_CQSIZE, 0) == -EINVAL);
  CHECK(init_with(64, IORING_SETUP_CQSIZE, 32) == -EINVAL);
  CHECK(init_with(8, IORING_SETUP_CQSIZE, 65537) == -EINVAL);
}

TEST_CASE("uring compat setup: DEFER_TASKRUN needs SINGLE_ISSUER, TASKRUN_FLAG a task-run mode") {
  CHECK(init_with(8, IORING_SETUP_DEFER_TASKRUN) == -EINVAL);
  CHECK(init_with(8, IORING_SETUP_TASKRUN_FLAG) == -EINVAL);
}

TEST_CASE("uring compat setup: non-zero resv is -EINVAL") {
  io_uring ring;
  io_uring_params p{};
  p.resv[1] = 1;
  CHECK(io_uring_queue_init_params(8, &ring, &p) == -EINVAL);
}

TEST_CASE("uring compat setup: the served flags reach zcrxd, sizes rounded and clamped") {
  CompatServer srv;
  io_uring ring;
  io_uring_params p{};
  p.flags = kZcrxFlags | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_NO_SQARRAY;
  p.cq_entries = 100000;  // clamped to 65536
  REQUIRE(io_uring_queue_init_params(5, &ring, &p) == 0);
  CHECK(p.sq_entries == 8);
  CHECK(p.cq_entries == 65536);
  CHECK(ring.sq.ring_entries == 8);
  CHECK(ring.cq.ring_entries == 65536);
  CHECK(ring.flags == p.flags);
  io_uring_queue_exit(&ring);
}

TEST_CASE("uring compat setup: no zcrxd at the socket is connect's errno") {
  setenv("ZCRX_URING_SOCKET", "/nonexistent/zcrxd.sock", 1);
  CHECK(init_with(8, kZcrxFlags) == -ENOENT);
  unsetenv("ZCRX_URING_SOCKET");
}

// ---- io_uring_register_ifq ------------------------------------------------------------

TEST_CASE("uring compat register: the ring must have DEFER_TASKRUN and CQE32") {
  CompatServer srv;
  UserMemory m;
  for (unsigned flags : {IORING_SETUP_CQE32, IORING_SETUP_SINGLE_ISSUER |
                                                 IORING_SETUP_DEFER_TASKRUN}) {
    io_uring ring;
    REQUIRE(io_uring_queue_init(8, &ring, flags) == 0);
    Registration g(m);
    CHECK(io_uring_register_ifq(&ring, &g.reg) == -EINVAL);
    io_uring_queue_exit(&ring);
  }
}

TEST_CASE("uring compat register: reserved words and zcrx_id are -EINVAL") {
  CompatRing r;
  UserMemory m;
  {
    Registration g(m);
    g.reg.__resv[1] = 1;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  {
    Registration g(m);
    g.reg.zcrx_id = 3;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
}

TEST_CASE("uring compat register: unknown reg flags are -EINVAL") {
  CompatRing r;
  UserMemory m;
  Registration g(m);
  g.reg.flags = 1u << 2;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
}

TEST_CASE("uring compat register: an import with queue, entries, area or region is -EINVAL") {
  CompatRing r;
  UserMemory m;
  Registration g(m);
  g.reg.flags = ZCRX_REG_IMPORT;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);  // rq_entries, pointers
  g.reg.rq_entries = 0;
  g.reg.area_ptr = 0;
  g.reg.region_ptr = 0;
  g.reg.if_rxq = 1;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  // The kernel's shape, but if_idx (the box fd) names no exported zcrx.
  g.reg.if_rxq = 0;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EBADF);
}

TEST_CASE("uring compat register: no region or no area pointer is -EFAULT") {
  CompatRing r;
  UserMemory m;
  {
    Registration g(m);
    g.reg.region_ptr = 0;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EFAULT);
  }
  {
    Registration g(m);
    g.reg.area_ptr = 0;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EFAULT);
  }
}

TEST_CASE("uring compat register: if_rxq -1, rq_entries 0 or above 32768 without CLAMP") {
  CompatRing r;
  UserMemory m;
  Registration g(m);
  g.reg.if_rxq = ~0u;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  g.reg.if_rxq = 0;
  g.reg.rq_entries = 0;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  g.reg.rq_entries = 32769;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
}

TEST_CASE("uring compat register: the region descriptor as io_create_region checks it") {
  CompatRing r;
  UserMemory m;
  SUBCASE("a kernel-allocated region (no user memory) is not served") {
    Registration g(m);
    g.region.flags = 0;
    g.region.user_addr = 0;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EOPNOTSUPP);
  }
  SUBCASE("unknown region flags") {
    Registration g(m);
    g.region.flags |= 1u << 4;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  SUBCASE("mmap_offset, id or reserved words set") {
    Registration g(m);
    g.region.mmap_offset = 4096;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.region.mmap_offset = 0;
    g.region.id = 1;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.region.id = 0;
    g.region.__resv[3] = 1;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  SUBCASE("user_addr 0 is -EFAULT") {
    Registration g(m);
    g.region.user_addr = 0;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EFAULT);
  }
  SUBCASE("size 0, or address or size not page-aligned") {
    Registration g(m);
    g.region.size = 0;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.region.size = m.region_len - 100;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.region.size = m.region_len - 4096;
    g.region.user_addr += 8;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  SUBCASE("a region too small for rq_entries RQEs") {
    Registration g(m);
    g.reg.rq_entries = 4096;  // 64 KiB of RQEs, the region has 3 pages
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  SUBCASE("a region that is not mapped is -EFAULT") {
    Registration g(m);
    g.region.user_addr = m.hole;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EFAULT);
  }
}

TEST_CASE("uring compat register: an if_idx naming no interface, or not zcrxd's, is -ENODEV") {
  CompatRing r;
  UserMemory m;
  Registration g(m);
  g.reg.if_idx = 0;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -ENODEV);
  g.reg.if_idx = 0x7ffffff0;
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -ENODEV);
  setenv("ZCRX_URING_IFNAME", "zcrx-none0", 1);
  g.reg.if_idx = if_nametoindex("lo");
  CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -ENODEV);
  unsetenv("ZCRX_URING_IFNAME");
}

TEST_CASE("uring compat register: the area as io_import_area checks it") {
  CompatRing r;
  UserMemory m;
  SUBCASE("unknown area flags, a token set, reserved words set") {
    Registration g(m);
    g.area.flags = 1u << 3;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.area.flags = 0;
    g.area.rq_area_token = 1ull << 48;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.area.rq_area_token = 0;
    g.area.__resv2[0] = 1;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  SUBCASE("len 0 or above 1 GiB is -EFAULT") {
    Registration g(m);
    g.area.len = 0;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EFAULT);
    g.area.len = (1ull << 30) + 4096;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EFAULT);
  }
  SUBCASE("address or length not page-aligned is -EINVAL") {
    Registration g(m);
    g.area.addr += 64;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.area.addr -= 64;
    g.area.len -= 64;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  SUBCASE("a dma-buf area is not served") {
    Registration g(m);
    g.area.flags = IORING_ZCRX_AREA_DMABUF;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EOPNOTSUPP);
  }
  SUBCASE("an area that is not mapped is -EFAULT") {
    Registration g(m);
    g.area.addr = m.hole;
    g.area.len = 4096;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EFAULT);
  }
}

// ---- io_uring_register_zcrx_ctrl ---------------------------------------------------------

TEST_CASE("uring compat ctrl: flush, export, reserved words (-EFAULT, -EINVAL), unknown and unserved ops (-EOPNOTSUPP)") {
  CompatRing r;
  UserMemory m;
  Registration g(m);
  REQUIRE(io_uring_register_ifq(&r.ring, &g.reg) == 0);
  zcrx_ctrl c{};
  c.zcrx_id = g.reg.zcrx_id;
  c.op = ZCRX_CTRL_FLUSH_RQ;
  CHECK(io_uring_register_zcrx_ctrl(&r.ring, &c) == 0);
  CHECK(r.srv.flushes == 1);
  c.__resv[0] = 1;
  CHECK(io_uring_register_zcrx_ctrl(&r.ring, &c) == -EFAULT);  // as zcrxd's engine
  c.__resv[0] = 0;
  c.zc_flush.__resv[2] = 1;
  CHECK(io_uring_register_zcrx_ctrl(&r.ring, &c) == -EINVAL);
  c = zcrx_ctrl{};
  c.zcrx_id = g.reg.zcrx_id;
  c.op = ZCRX_CTRL_EXPORT;
  REQUIRE(io_uring_register_zcrx_ctrl(&r.ring, &c) == 0);
  CHECK(fcntl(static_cast<int>(c.zc_export.zcrx_fd), F_GETFD) >= 0);
  close(static_cast<int>(c.zc_export.zcrx_fd));
  c.zc_export.zcrx_fd = 5;  // an input field set
  CHECK(io_uring_register_zcrx_ctrl(&r.ring, &c) == -EINVAL);
  c = zcrx_ctrl{};
  c.op = ZCRX_CTRL_ADD_AREA;
  CHECK(io_uring_register_zcrx_ctrl(&r.ring, &c) == -EOPNOTSUPP);
  c.op = __ZCRX_CTRL_LAST;
  CHECK(io_uring_register_zcrx_ctrl(&r.ring, &c) == -EOPNOTSUPP);
}

// ZCRX_REG_NODEV: io_register_zcrx's rule (no device, no queue), then a
// device-less registration in zcrxd over the program's memory.
TEST_CASE("uring compat register: ZCRX_REG_NODEV registers an ifq bound to no device") {
  CompatRing r;
  UserMemory m;
  {
    Registration g(m);
    g.reg.flags = ZCRX_REG_NODEV;  // if_idx still names lo
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
    g.reg.if_idx = 0;
    g.reg.if_rxq = 1;
    CHECK(io_uring_register_ifq(&r.ring, &g.reg) == -EINVAL);
  }
  Registration g(m);
  g.reg.flags = ZCRX_REG_NODEV;
  g.reg.if_idx = 0;
  REQUIRE(io_uring_register_ifq(&r.ring, &g.reg) == 0);
  const zcrx::proto::RegisterIfqReq sent = r.srv.last_register();
  CHECK(sent.reg.flags == zcrx::uapi::kZcrxRegNodev);
  CHECK(sent.reg.if_rxq == 0);
  CHECK(sent.port == 0);
  CHECK(g.reg.rq_entries == 16);
  CHECK(g.area.rq_area_token != 0);
  zcrx_ctrl c{};
  c.zcrx_id = g.reg.zcrx_id;
  c.op = ZCRX_CTRL_FLUSH_RQ;
  CHECK(io_uring_register_zcrx_ctrl(&r.ring, &c) == 0);
}
