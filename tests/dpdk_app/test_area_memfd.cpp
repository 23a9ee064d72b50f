// SPDX-License-Identifier: MIT
// create_zcrxd_area: zcrxd's mapping writes, every other way in is shut
// (the seals are on the file before any descriptor could leave zcrxd).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "area_memfd.h"
#include "seal_checks.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

TEST_CASE("create_zcrxd_area: sealed against every writer but zcrxd's mapping") {
  constexpr size_t kLen = 1u << 20;
  void* base = nullptr;
  const char* why = "";
  const int fd = zcrxd::create_zcrxd_area(kLen, &base, &why);
  REQUIRE(fd >= 0);
  REQUIRE(base);
  const int seals = fcntl(fd, F_GET_SEALS);
  const int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
  CHECK((seals & want) == want);
  // zcrxd's own mapping stays writable, and what it writes is what a
  // reader of the file sees.
  std::memcpy(static_cast<char*>(base) + 4096, "zcrx", 4);
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  const int ro = open(path, O_RDONLY | O_CLOEXEC);
  REQUIRE(ro >= 0);
  void* r = mmap(nullptr, kLen, PROT_READ, MAP_SHARED, ro, 0);
  REQUIRE(r != MAP_FAILED);
  CHECK(std::memcmp(static_cast<char*>(r) + 4096, "zcrx", 4) == 0);
  CHECK(mprotect(r, kLen, PROT_READ | PROT_WRITE) == -1);
  CHECK(errno == EACCES);
  munmap(r, kLen);
  close(ro);
  // A descriptor reopened read-write: no writable mapping, no write(2),
  // no size change, no hole, no new seal.
  const int rw = open(path, O_RDWR | O_CLOEXEC);
  REQUIRE(rw >= 0);
  testtools::check_sealed_against_writes(rw, kLen);
  close(rw);
  munmap(base, kLen);
  close(fd);
}

TEST_CASE("create_zcrxd_area: lengths that are not whole pages are EINVAL") {
  void* base = nullptr;
  const char* why = "";
  CHECK(zcrxd::create_zcrxd_area(0, &base, &why) == -EINVAL);
  CHECK(zcrxd::create_zcrxd_area(4095, &base, &why) == -EINVAL);
  CHECK(base == nullptr);
}
