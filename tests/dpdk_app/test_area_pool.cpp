// SPDX-License-Identifier: MIT
// The extbuf area pool under a real EAL (--no-huge, net_null): every mbuf
// is attached to exactly one niov of the memfd area, the niov <-> mbuf
// maps agree, and a PMD bound to the pool receives into the area.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "area_pool.h"
#include "port.h"

using namespace zcrxd;

namespace {

struct Area {
  int fd = -1;
  void* base = nullptr;
  size_t len = 0;
  explicit Area(size_t l) : len(l) {
    fd = memfd_create("test-area", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(len)) < 0) return;
    base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) base = nullptr;
  }
  ~Area() {
    if (base) munmap(base, len);
    if (fd >= 0) close(fd);
  }
};

}  // namespace

TEST_CASE("every mbuf of the pool is one niov of the area, and back") {
  Area a(4u << 20);
  REQUIRE(a.base);
  int err = 0;
  auto pool = AreaPool::create(a.base, a.len, 4096, 900, 0, -1, &err);
  REQUIRE(pool);
  CHECK(err == 0);
  CHECK(pool->num_niovs() == 1024);
  CHECK(pool->niov_shift() == 12);
  CHECK(pool->full());
  std::set<uintptr_t> bufs;
  for (uint32_t i = 0; i < pool->num_niovs(); i++) {
    rte_mbuf* m = pool->mbuf(i);
    CHECK(pool->niov_of(m) == i);
    CHECK(reinterpret_cast<uintptr_t>(m->buf_addr) ==
          reinterpret_cast<uintptr_t>(a.base) + (uintptr_t{i} << 12));
    bufs.insert(reinterpret_cast<uintptr_t>(m->buf_addr));
  }
  CHECK(bufs.size() == 1024);
  // Allocation hands out exactly those mbufs; freeing brings them back.
  std::vector<rte_mbuf*> all(1024);
  REQUIRE(rte_pktmbuf_alloc_bulk(pool->pool(), all.data(), 1024) == 0);
  CHECK(pool->available() == 0);
  for (rte_mbuf* m : all) CHECK(pool->niov_of(m) != UINT32_MAX);
  rte_pktmbuf_free_bulk(all.data(), 1024);
  CHECK(pool->full());
  // A foreign mbuf maps to no niov.
  rte_mempool* other = rte_pktmbuf_pool_create("test_other", 64, 0, 0, 2048, 0);
  REQUIRE(other);
  rte_mbuf* f = rte_pktmbuf_alloc(other);
  CHECK(pool->niov_of(f) == UINT32_MAX);
  rte_pktmbuf_free(f);
  rte_mempool_free(other);
}

TEST_CASE("bad geometry is refused") {
  Area a(1u << 20);
  int err = 0;
  CHECK_FALSE(AreaPool::create(a.base, a.len, 3000, 901, 0, -1, &err));
  CHECK(err == -EINVAL);
  CHECK_FALSE(AreaPool::create(a.base, a.len - 100, 4096, 902, 0, -1, &err));
  CHECK(err == -EINVAL);
  CHECK_FALSE(AreaPool::create(static_cast<char*>(a.base) + 8, 4096, 4096, 903, 0, -1, &err));
  CHECK(err == -EINVAL);
}

TEST_CASE("a PMD bound to the area pool receives into the area") {
  Area a(8u << 20);
  int err = 0;
  auto pool = AreaPool::create(a.base, a.len, 4096, 904, 0, -1, &err);
  REQUIRE(pool);
  Port port;
  REQUIRE(port.open({0, 0, 256}) == 0);
  CHECK_FALSE(port.started());  // nothing to receive into yet
  REQUIRE(port.bind_pool(pool->pool()) == 0);
  CHECK(port.started());
  rte_mbuf* pkts[32];
  uint16_t n = 0;
  for (int i = 0; i < 100 && n == 0; i++) n = rte_eth_rx_burst(0, 0, pkts, 32);
  REQUIRE(n > 0);
  for (uint16_t i = 0; i < n; i++) CHECK(pool->niov_of(pkts[i]) != UINT32_MAX);
  rte_pktmbuf_free_bulk(pkts, n);
  port.unbind();
  CHECK_FALSE(port.started());
  port.close();
  CHECK(pool->full());
}

int main(int argc, char** argv) {
  std::string prefix = "zcrxd_unit_" + std::to_string(getpid());
  const char* eal[] = {"test", "--no-huge", "-m", "128", "--no-pci", "--no-telemetry",
                       "--file-prefix", prefix.c_str(), "-l", "0",
                       "--log-level", "lib.eal:error", "--vdev", "net_null0"};
  if (rte_eal_init(static_cast<int>(sizeof(eal) / sizeof(eal[0])),
                   const_cast<char**>(eal)) < 0) {
    std::printf("SKIP: EAL init failed (no --no-huge support here?)\n");
    return 77;
  }
  doctest::Context ctx(argc, argv);
  int rc = ctx.run();
  rte_eal_cleanup();
  return rc;
}
