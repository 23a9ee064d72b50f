/* SPDX-License-Identifier: MIT */
/* What the compat integration programs (uring_*.c) share: the ifq they
 * register and the one-request round trip they make. */
#ifndef ZCRX_TESTS_URING_ITEST_H
#define ZCRX_TESTS_URING_ITEST_H

#include <errno.h>
#include <liburing.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Registers queue 0 of $ZCRX_URING_IFNAME from an anonymous private area
 * and refill region, as a kernel zcrx program registers one. zcrxd runs
 * TCP only on the queues a ring serves, so a program that connects, sends
 * or accepts needs it. Returns 0, or -errno from mmap or
 * io_uring_register_ifq. */
static inline int itest_register_ifq(struct io_uring *ring) {
  static struct io_uring_region_desc rd;
  static struct io_uring_zcrx_area_reg ar;
  static struct io_uring_zcrx_ifq_reg reg;
  const char *ifname = getenv("ZCRX_URING_IFNAME");
  size_t area_len = 64 * 4096, rq_len = 4 * 4096;
  void *area = mmap(NULL, area_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void *rq = mmap(NULL, rq_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (area == MAP_FAILED || rq == MAP_FAILED) return -errno;
  rd.user_addr = (__u64)(uintptr_t)rq;
  rd.size = rq_len;
  rd.flags = IORING_MEM_REGION_TYPE_USER;
  ar.addr = (__u64)(uintptr_t)area;
  ar.len = area_len;
  reg.if_idx = ifname ? if_nametoindex(ifname) : 0;
  reg.if_rxq = 0;
  reg.rq_entries = 64;
  reg.area_ptr = (__u64)(uintptr_t)&ar;
  reg.region_ptr = (__u64)(uintptr_t)&rd;
  return io_uring_register_ifq(ring, &reg);
}

/* Submits the one SQE the caller prepared, waits for its CQE and stores
 * the CQE's res in *res. Returns 0, or -errno when the submit or the wait
 * failed (then *res is not set). */
static inline int itest_submit_wait(struct io_uring *ring, int *res) {
  struct io_uring_cqe *cqe;
  int r = io_uring_submit(ring);
  if (r != 1) return r < 0 ? r : -EIO;
  r = io_uring_wait_cqe(ring, &cqe);
  if (r) return r;
  *res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return 0;
}

#endif
