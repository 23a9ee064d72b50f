// SPDX-License-Identifier: MIT
// Fixtures of the liburing compatibility tests: the fake zcrxd on a unix
// socket the compat layer finds through $ZCRX_URING_SOCKET, a ring set up
// the way zcrx programs do, and the program-side memory and descriptors of
// a valid registration (each test breaks one field).
#pragma once

#include <liburing.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "fake_server.h"

#ifndef ZCRX_URING_COMPAT
#error "the system's <liburing.h> was found instead of libzcrx's"
#endif

inline constexpr unsigned kZcrxFlags =
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQE32 |
    IORING_SETUP_SUBMIT_ALL;

// The fake zcrxd, listening where the compat layer connects.
struct CompatServer {
  fake::Server srv;
  std::string path;
  CompatServer() {
    path = "/tmp/zcrx-uring-compat-" + std::to_string(getpid()) + ".sock";
    unlink(path.c_str());
    if (srv.listen_on(path.c_str()) != 0) std::abort();
    setenv("ZCRX_URING_SOCKET", path.c_str(), 1);
  }
  ~CompatServer() {
    unsetenv("ZCRX_URING_SOCKET");
    unlink(path.c_str());
  }
};

// A ring as a kernel-zcrx program sets it up.
struct CompatRing {
  CompatServer server;
  fake::Server& srv = server.srv;
  io_uring ring{};
  explicit CompatRing(unsigned entries = 8) {
    if (io_uring_queue_init(entries, &ring, kZcrxFlags) != 0) std::abort();
  }
  ~CompatRing() { io_uring_queue_exit(&ring); }
};

// Anonymous private memory, as kernel-zcrx programs map it: a 16-page
// area, a 3-page refill region, and the address of an unmapped page.
struct UserMemory {
  static constexpr size_t kArea = 16 * 4096;
  size_t region_len = 3 * 4096;
  void* area = nullptr;
  void* region = nullptr;
  uint64_t hole = 0;
  UserMemory() {
    area = mmap(nullptr, kArea, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    region = mmap(nullptr, region_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    void* h = mmap(nullptr, 4096, PROT_NONE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (area == MAP_FAILED || region == MAP_FAILED || h == MAP_FAILED) std::abort();
    munmap(h, 4096);
    hole = reinterpret_cast<uintptr_t>(h);
  }
  ~UserMemory() {
    munmap(area, kArea);
    munmap(region, region_len);
  }
};

// A valid registration of `m` on the loopback interface, queue 0.
struct Registration {
  io_uring_region_desc region{};
  io_uring_zcrx_area_reg area{};
  io_uring_zcrx_ifq_reg reg{};
  explicit Registration(const UserMemory& m) {
    region.user_addr = reinterpret_cast<uintptr_t>(m.region);
    region.size = m.region_len;
    region.flags = IORING_MEM_REGION_TYPE_USER;
    area.addr = reinterpret_cast<uintptr_t>(m.area);
    area.len = UserMemory::kArea;
    reg.if_idx = if_nametoindex("lo");
    reg.if_rxq = 0;
    reg.rq_entries = 16;
    reg.area_ptr = reinterpret_cast<uintptr_t>(&area);
    reg.region_ptr = reinterpret_cast<uintptr_t>(&region);
  }
  Registration(const Registration&) = delete;
};
