// SPDX-License-Identifier: MIT
// Test and benchmark support: area memory as zcrxd's consumers hand it
// over, a memfd mapped shared. Header-only, DPDK-free.
#pragma once

#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace zcrxd::testing {

/// `len` bytes of a new memfd, mapped read-write and shared; unmapped and
/// closed on destruction. `base` is nullptr when memfd_create, ftruncate
/// or mmap failed (errno says why).
struct MemfdArea {
  int fd = -1;
  void* base = nullptr;
  size_t len = 0;

  explicit MemfdArea(size_t l, const char* name = "zcrxd-test-area") : len(l) {
    fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(len)) < 0) return;
    base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) base = nullptr;
  }
  ~MemfdArea() {
    if (base) munmap(base, len);
    if (fd >= 0) close(fd);
  }
  MemfdArea(const MemfdArea&) = delete;
  MemfdArea& operator=(const MemfdArea&) = delete;

  uint8_t* bytes() const { return static_cast<uint8_t*>(base); }
};

}  // namespace zcrxd::testing
