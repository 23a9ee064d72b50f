// SPDX-License-Identifier: MIT
#include "area_memfd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010  // Linux 5.1
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace zcrxd {

namespace {

// Adds `seal`; true when the file has it afterwards (it may have had it).
bool add_seal(int fd, int seal) {
  if (fcntl(fd, F_ADD_SEALS, seal) == 0) return true;
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & seal) == seal;
}

}  // namespace

int map_consumer_area(int fd, uint64_t off, uint64_t len, void** base, const char** why) {
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    *why = "not a regular file";
    return -EINVAL;
  }
  if (!add_seal(fd, F_SEAL_SHRINK)) {
    *why = "does not accept F_SEAL_SHRINK (not a memfd with MFD_ALLOW_SEALING?)";
    return -EINVAL;
  }
  // The size only grows from here on.
  if (fstat(fd, &st) < 0 || off > static_cast<uint64_t>(st.st_size) ||
      len > static_cast<uint64_t>(st.st_size) - off) {
    *why = "the area's range is not inside the file";
    return -EFAULT;
  }
  void* map = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(off));
  if (map == MAP_FAILED) {
    const int e = errno;
    if (e == EPERM || e == EACCES) {
      *why = "not writable (write-sealed memfd, or a read-only descriptor)";
      return -EFAULT;
    }
    *why = "mmap failed";
    return -ENOMEM;
  }
  if (!add_seal(fd, F_SEAL_FUTURE_WRITE)) {
    munmap(map, len);
    *why = "does not accept F_SEAL_FUTURE_WRITE (F_SEAL_SEAL set?)";
    return -EINVAL;
  }
  if (madvise(map, len, MADV_POPULATE_WRITE) < 0) {
    munmap(map, len);
    *why = "its pages could not be allocated (hugetlb pool or memory limit)";
    return -ENOMEM;
  }
  *base = map;
  return 0;
}

int create_zcrxd_area(uint64_t len, void** base, const char** why) {
  if (len == 0 || len % 4096 != 0) {
    *why = "length not a multiple of 4096";
    return -EINVAL;
  }
  int fd = memfd_create("zcrx-area", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    *why = "memfd_create failed";
    return -errno;
  }
  void* map = MAP_FAILED;
  int rc = 0;
  if (ftruncate(fd, static_cast<off_t>(len)) < 0) {
    rc = -ENOMEM;
    *why = "ftruncate failed";
  } else if (!add_seal(fd, F_SEAL_SHRINK | F_SEAL_GROW)) {
    rc = -EINVAL;
    *why = "F_SEAL_SHRINK | F_SEAL_GROW refused";
  } else if ((map = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
             MAP_FAILED) {
    rc = -ENOMEM;
    *why = "mmap failed";
  } else if (madvise(map, len, MADV_POPULATE_WRITE) < 0) {
    rc = -ENOMEM;
    *why = "its pages could not be allocated (memory limit)";
  } else if (!add_seal(fd, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)) {
    // Without the write seal a consumer could reopen the memfd O_RDWR and
    // rewrite mbuf headers that live in this area: never hand it out.
    rc = -EINVAL;
    *why = "F_SEAL_FUTURE_WRITE refused";
  }
  if (rc) {
    if (map != MAP_FAILED) munmap(map, len);
    close(fd);
    return rc;
  }
  *base = map;
  return fd;
}

}  // namespace zcrxd
