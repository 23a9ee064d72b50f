// SPDX-License-Identifier: MIT
// What a descriptor reopened read-write on a zcrxd-made area (memfd sealed
// with F_SEAL_SHRINK | GROW | FUTURE_WRITE | SEAL) must be refused: the
// same EPERM whether zcrxd's unit test or a consumer asks.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace testtools {

/// No writable mapping, no write(2), no shrink or growth of the `len`
/// bytes, no hole, no new seal: each refused with EPERM.
inline void check_sealed_against_writes(int rw, size_t len) {
  CHECK(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0) == MAP_FAILED);
  CHECK(errno == EPERM);
  CHECK(pwrite(rw, "x", 1, 0) == -1);
  CHECK(errno == EPERM);
  CHECK(ftruncate(rw, static_cast<off_t>(len / 2)) == -1);
  CHECK(errno == EPERM);
  CHECK(ftruncate(rw, static_cast<off_t>(len * 2)) == -1);
  CHECK(errno == EPERM);
  CHECK(fallocate(rw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == -1);
  CHECK(errno == EPERM);
  CHECK(fcntl(rw, F_ADD_SEALS, F_SEAL_WRITE) == -1);
  CHECK(errno == EPERM);
}

}  // namespace testtools
