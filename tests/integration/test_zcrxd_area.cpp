// SPDX-License-Identifier: MIT
// Areas zcrxd makes (IfqParams::area_fd = kAreaMadeByZcrxd): the in-area
// mempool on a PMD that takes any pool (net_pcap), so this runs wherever
// zcrxd does; tests/integration/test_netns_af_packet.sh af_xdp_zc shows
// the same area received into by XDP without a copy. Checked here:
// payloads byte-exact at kernel-style offsets, nobody (the registering
// consumer included, through a reopened descriptor too) can write the
// area, bad refills are refused and counted, every buffer comes back.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "consumer.h"
#include "daemon.h"
#include "rx_checks.h"
#include "seal_checks.h"
#include "zcrx/client.h"
#include "zcrx/zcrx.h"

using namespace itest;
namespace uapi = zcrx::uapi;

namespace {

// The file behind the mapping at `base`, reopened through
// /proc/self/map_files with `flags`: what a consumer can do with its
// mapping even after closing every descriptor. -errno on failure.
int reopen_mapping(const void* base, size_t len, int flags) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto b = reinterpret_cast<uintptr_t>(base);
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || lo != b) continue;
    if (hi - lo != len) return -ERANGE;
    char path[96];
    std::snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", lo, hi);
    int fd = open(path, flags | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
  }
  return -ENOENT;
}

constexpr size_t kMadeAreaLen = 4u << 20;  // 1024 niovs of 4 KiB

// Registers an ifq whose kMadeAreaLen area zcrxd makes, 1024 refill entries.
int register_made_area(zcrx::Ring& ring, zcrx::Ifq** ifq) {
  zcrx::IfqParams p;
  p.area_len = kMadeAreaLen;
  p.rq_entries = 1024;
  p.area_fd = zcrx::kAreaMadeByZcrxd;
  return ring.register_ifq(p, ifq);
}

}  // namespace

TEST_CASE("a zcrxd-made area: payloads in place, read-only for everyone, bad refills counted") {
  const uint64_t n = 500;
  std::string pcap = scratch_dir() + "/made.pcap";
  REQUIRE(make_pcap(pcap, n, 1000, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    REQUIRE(open_ring(ring, d.socket(), 4096) == 0);
    zcrx::Ifq* ifq = nullptr;
    const int id = register_made_area(ring, &ifq);
    REQUIRE(id >= 0);
    CHECK_FALSE(ifq->shared_area());
    CHECK(ifq->rx_buf_len() == 4096);
    REQUIRE(ifq->area_len() == kMadeAreaLen);
    uint8_t* area = const_cast<uint8_t*>(ifq->area());

    // Nobody writes it: not this mapping, not a new one, not write(2),
    // not through a descriptor reopened read-write.
    CHECK(mprotect(area, ifq->area_len(), PROT_READ | PROT_WRITE) == -1);
    CHECK(errno == EACCES);
    int rw = reopen_mapping(area, ifq->area_len(), O_RDWR);
    REQUIRE(rw >= 0);  // the seal, not the open, is what stops writers
    testtools::check_sealed_against_writes(rw, ifq->area_len());
    close(rw);

    // Every datagram, byte-exact, at an offset inside one 4096-byte buffer
    // of the area (receive() checks both).
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 7) >= 0);
    RxResult r = receive(ring, ifq, 7, n, 30000);
    check_clean_receive(r, n);

    // Refills zcrxd must refuse, each counted by its reason: past the
    // area, another area's token, a buffer nobody handed this ring.
    const uint64_t tok = ifq->area_token();
    REQUIRE(ifq->refill(tok | ifq->area_len(), 1));
    REQUIRE(ifq->refill(tok + (uint64_t{1} << uapi::kZcrxAreaShift), 1));
    REQUIRE(ifq->refill(tok | (ifq->area_len() - 4096 + 100), 1));
    ifq->flush_refills();
    // zcrxd drains the RQ on its next loop turns.
    for (int i = 0; i < 100 && ifq->rq_free() != ifq->rq_entries(); i++) usleep(10'000);
    CHECK(ifq->rq_free() == ifq->rq_entries());
  }
  CHECK(d.stop() == 0);
  CHECK(d.final_counter("delivered") == n);
  CHECK(d.final_counter("copied") == 0);
  CHECK(d.line_counter("zcrxd: final rejects", "rqe_bad_index") == 1);
  CHECK(d.line_counter("zcrxd: final rejects", "rqe_bad_token") == 1);
  CHECK(d.line_counter("zcrxd: final rejects", "rqe_no_ref") == 1);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("a zcrxd-made area in copy mode: copies land in the buffers, never on the headers") {
  // --copy-mode always: every datagram is copied into free niovs, at each
  // niov's buffer (past its object and mbuf headers); a copy at the niov's
  // start would overwrite the mbuf the pool hands out next and corrupt
  // later deliveries.
  const uint64_t n = 3000;  // several times the 1024 niovs: every mbuf reused
  std::string pcap = scratch_dir() + "/made_copy.pcap";
  REQUIRE(make_pcap(pcap, n, 1400, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--rx-gate", "1", "--copy-mode", "always"});
  REQUIRE(d.ready());
  {
    zcrx::Ring ring;
    REQUIRE(open_ring(ring, d.socket(), 4096) == 0);
    zcrx::Ifq* ifq = nullptr;
    const int id = register_made_area(ring, &ifq);
    REQUIRE(id >= 0);
    REQUIRE(arm_udp(ring, static_cast<uint32_t>(id), 9000, 9) >= 0);
    RxResult r = receive(ring, ifq, 9, n, 30000);
    check_clean_receive(r, n);
  }
  CHECK(d.stop() == 0);
  CHECK(d.final_counter("copied") == n);
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
}

TEST_CASE("a zcrxd-made area: the request's own errors") {
  std::string pcap = scratch_dir() + "/made_err.pcap";
  REQUIRE(make_pcap(pcap, 1, 100, "9000"));
  Daemon d(pcap_vdev({pcap}), {"--max-region-mb-per-uid", "8"});
  REQUIRE(d.ready());
  zcrx::Ring ring;
  REQUIRE(open_ring(ring, d.socket(), 256) == 0);
  zcrx::IfqParams p;
  p.area_len = 1u << 20;
  p.area_fd = zcrx::kAreaMadeByZcrxd;
  zcrx::Ifq* ifq = nullptr;
  // zcrxd makes a plain memfd: no huge pages.
  p.hugetlb = true;
  CHECK(ring.register_ifq(p, &ifq) == -EINVAL);
  p.hugetlb = false;
  // More than --max-region-mb-per-uid (here 8 MiB) lets a uid have zcrxd
  // create: the limit's errno, and nothing is left charged.
  p.area_len = 16u << 20;
  CHECK(ring.register_ifq(p, &ifq) == -ENOMEM);
  p.area_len = 1u << 20;
  CHECK(ring.register_ifq(p, &ifq) >= 0);
}

TEST_CASE("a zcrxd-made area through the C API (ZCRX_AREA_MADE_BY_ZCRXD)") {
  std::string pcap = scratch_dir() + "/made_c.pcap";
  REQUIRE(make_pcap(pcap, 1, 100, "9000"));
  Daemon d(pcap_vdev({pcap}));
  REQUIRE(d.ready());
  zcrx_ring* c = nullptr;
  REQUIRE(zcrx_ring_new(&c) == 0);
  REQUIRE(zcrx_connect(c, d.socket().c_str()) == 0);
  REQUIRE(zcrx_create(c, 64, 256) == 0);
  zcrx_ifq_params cp = ZCRX_IFQ_PARAMS_INIT;
  cp.area_len = 1u << 20;
  cp.area_fd = ZCRX_AREA_MADE_BY_ZCRXD;
  zcrx_ifq* cq = nullptr;
  CHECK(zcrx_register_ifq(c, &cp, &cq) >= 0);
  REQUIRE(cq);
  CHECK(zcrx_ifq_shared(cq) == 0);
  CHECK(zcrx_ifq_area_len(cq) == (1u << 20));
  void* ca = const_cast<void*>(zcrx_ifq_area(cq));
  CHECK(mprotect(ca, 1u << 20, PROT_READ | PROT_WRITE) == -1);
  CHECK(errno == EACCES);
  zcrx_ring_free(c);
}
