// SPDX-License-Identifier: MIT
// Taking a consumer's area descriptor into zcrxd's address space safely.
//
// The PMD writes into the area and zcrxd reads from it, so nothing the
// consumer does to its descriptor afterwards may fault zcrxd (truncate ->
// SIGBUS, a punched hole in a hugetlb file with the pool exhausted ->
// SIGBUS) or let a consumer that was given read-only access write it. The
// steps, in an order that leaves no window:
//  1. F_SEAL_SHRINK, then the size check: sealing first means the size
//     cannot drop under the check (checking first and sealing after lets
//     a consumer thread truncate in between);
//  2. a shared writable mapping of the range (zcrxd's own);
//  3. F_SEAL_FUTURE_WRITE: from now on no one can make a new writable
//     mapping, write(2) or punch holes, through any descriptor of the
//     file, even one reopened through /proc/<pid>/fd with O_RDWR; zcrxd's
//     mapping from step 2 stays writable;
//  4. MADV_POPULATE_WRITE: every page exists before the PMD writes (the
//     kernel pins the area's pages at registration; a shortage is an errno
//     now, not a SIGBUS later).
// Only a memfd created with MFD_ALLOW_SEALING (tmpfs or hugetlbfs) passes:
// any other file cannot take the seals, which also keeps files whose
// pages could block on I/O (FUSE, NFS) out of the datapath.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zcrxd {

/// Maps [off, off + len) of `fd` for zcrxd as described above. On success
/// returns 0 with the mapping in *base (munmap(*base, len) to undo; the
/// seals stay). On failure returns -errno, leaves nothing mapped and sets
/// *why to a one-line reason for the log:
///  -EINVAL  not a regular file, or a file that refuses the seals (not a
///           memfd with MFD_ALLOW_SEALING, or already F_SEAL_SEAL'd);
///  -EFAULT  the range is not inside the file; the file is write-sealed
///           (F_SEAL_WRITE / F_SEAL_FUTURE_WRITE) or the descriptor is not
///           writable: memory zcrxd cannot write, as the kernel's pinning
///           of an area it cannot write fails;
///  -ENOMEM  the mapping or its pages could not be created (a hugetlb pool
///           too small, a memory limit).
/// Seals added before a failure stay on the file (a new memfd is needed
/// to register again after a failure past step 1).
int map_consumer_area(int fd, uint64_t off, uint64_t len, void** base, const char** why);

/// Creates an area of `len` bytes (a non-zero multiple of 4096) that zcrxd
/// alone writes: a memfd sized, sealed against shrinking and growing,
/// mapped writable for zcrxd, populated, then sealed with
/// F_SEAL_FUTURE_WRITE | F_SEAL_SEAL before any descriptor of it leaves
/// zcrxd. Whoever gets a descriptor later (a read-only reopen) can map it
/// only read-only and cannot write(2), fallocate or punch it, even through
/// /proc/<pid>/fd reopened O_RDWR. On success returns the memfd (owned by
/// the caller; O_CLOEXEC) with the mapping in *base; on failure -errno
/// (-ENOMEM: no memory for the pages or the mapping) with *why set.
int create_zcrxd_area(uint64_t len, void** base, const char** why);

}  // namespace zcrxd
