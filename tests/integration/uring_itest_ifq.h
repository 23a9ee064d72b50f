/* SPDX-License-Identifier: MIT */
/* The ifq the compat integration programs register: queue 0 of
 * $ZCRX_URING_IFNAME, from an anonymous private area and refill region, as
 * a kernel zcrx program registers one. zcrxd runs TCP only on the queues a
 * ring serves, so a program that connects, sends or accepts needs it. */
#ifndef ZCRX_TESTS_URING_ITEST_IFQ_H
#define ZCRX_TESTS_URING_ITEST_IFQ_H

#include <errno.h>
#include <liburing.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Returns 0, or -errno from mmap or io_uring_register_ifq. */
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

#endif
