/* SPDX-License-Identifier: MIT
 * ZCRX_REG_IMPORT end to end for a kernel-style program built against
 * libzcrx's <liburing.h> with the socket shim preloaded: ring A (set up
 * first: the shim's sockets live on it) imports the zcrx ring B registered
 * on queue 0 and exported, as liburing's test/zcrx.c clone_zcrx does; A
 * accepts a kernel client and receives with multishot RECV_ZC on the
 * imported zcrx id, reading the payload at B's area pointer (the kernel
 * importer's memory too) and refilling through A's own refill queue
 * (zcrx_uring_rq_region, the one line that differs from a kernel program,
 * which would refill through B's region) with B's rq_entries.
 * Usage: uring_import PORT BYTES. Prints LISTENING, then
 * "RESULT bytes=N bad=B refills=R" after the client's EOF. */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define AREA_LEN (256 * 4096)
#define RQ_ENTRIES 64

static void die(const char *what, int err) {
  fprintf(stderr, "uring_import: %s: %s\n", what, strerror(err));
  exit(1);
}

static void submit_one(struct io_uring *ring, struct io_uring_sqe *sqe) {
  int r = io_uring_submit(ring);
  (void)sqe;
  if (r != 1) die("submit", r < 0 ? -r : EIO);
}

int main(int argc, char **argv) {
  static struct io_uring a, b;
  static struct io_uring_region_desc rd;
  static struct io_uring_zcrx_area_reg ar;
  static struct io_uring_zcrx_ifq_reg reg, imp;
  const char *ifname = getenv("ZCRX_URING_IFNAME");
  const unsigned flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                         IORING_SETUP_CQE32;
  struct sockaddr_in sa;
  struct zcrx_ctrl ctrl;
  struct io_uring_sqe *sqe;
  struct io_uring_cqe *cqe;
  unsigned long long want, got = 0, bad = 0, refills = 0;
  unsigned rq_tail = 0, *rq_ktail;
  struct io_uring_zcrx_rqe *rqes;
  char *area, *rq;
  int lfd, conn, r, box, one = 1;
  if (argc != 3) {
    fprintf(stderr, "usage: uring_import PORT BYTES\n");
    return 2;
  }
  want = strtoull(argv[2], NULL, 0);
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) die("socket", errno);
  (void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa))) die("bind", errno);
  if (listen(lfd, 8)) die("listen", errno);
  if ((r = io_uring_queue_init(8, &a, flags))) die("queue_init a", -r);
  if ((r = io_uring_queue_init(8, &b, flags))) die("queue_init b", -r);

  area = mmap(NULL, AREA_LEN, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  rq = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (area == MAP_FAILED || rq == MAP_FAILED) die("mmap", errno);
  rd.user_addr = (__u64)(uintptr_t)rq;
  rd.size = 4 * 4096;
  rd.flags = IORING_MEM_REGION_TYPE_USER;
  ar.addr = (__u64)(uintptr_t)area;
  ar.len = AREA_LEN;
  reg.if_idx = ifname ? if_nametoindex(ifname) : 0;
  reg.if_rxq = 0;
  reg.rq_entries = RQ_ENTRIES;
  reg.area_ptr = (__u64)(uintptr_t)&ar;
  reg.region_ptr = (__u64)(uintptr_t)&rd;
  if ((r = io_uring_register_ifq(&b, &reg))) die("register_ifq", -r);
  memset(&ctrl, 0, sizeof(ctrl));
  ctrl.zcrx_id = reg.zcrx_id;
  ctrl.op = ZCRX_CTRL_EXPORT;
  if ((r = io_uring_register_zcrx_ctrl(&b, &ctrl))) die("export", -r);
  box = (int)ctrl.zc_export.zcrx_fd;
  imp.flags = ZCRX_REG_IMPORT;
  imp.if_idx = (__u32)box;
  if ((r = io_uring_register_ifq(&a, &imp))) die("import", -r);
  close(box);
  rq = zcrx_uring_rq_region(&a, imp.zcrx_id);
  if (!rq) die("rq region", ENOENT);
  rq_ktail = (unsigned *)(rq + imp.offsets.tail);
  rqes = (struct io_uring_zcrx_rqe *)(rq + imp.offsets.rqes);
  printf("LISTENING\n");
  fflush(stdout);

  sqe = io_uring_get_sqe(&a);
  io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
  io_uring_sqe_set_data64(sqe, 1);
  submit_one(&a, sqe);
  if ((r = io_uring_wait_cqe(&a, &cqe))) die("wait accept", -r);
  conn = cqe->res;
  io_uring_cqe_seen(&a, cqe);
  if (conn < 0) die("accept", -conn);
  sqe = io_uring_get_sqe(&a);
  io_uring_prep_rw(IORING_OP_RECV_ZC, sqe, conn, NULL, 0, 0);
  sqe->ioprio |= IORING_RECV_MULTISHOT;
  sqe->zcrx_ifq_idx = imp.zcrx_id;
  io_uring_sqe_set_data64(sqe, 2);
  submit_one(&a, sqe);
  for (;;) {
    const struct io_uring_zcrx_cqe *z;
    unsigned long long i;
    const char *data;
    if ((r = io_uring_wait_cqe(&a, &cqe))) die("wait", -r);
    if (cqe->res < 0) die("recv_zc", -cqe->res);
    if (cqe->res == 0) {
      io_uring_cqe_seen(&a, cqe);
      break;
    }
    z = (const struct io_uring_zcrx_cqe *)(cqe + 1);
    data = area + (z->off & ~IORING_ZCRX_AREA_MASK);
    for (i = 0; i < (unsigned long long)cqe->res; i++)
      if (data[i] != (char)('a' + (got + i) % 26)) bad++;
    got += (unsigned long long)cqe->res;
    rqes[rq_tail & (reg.rq_entries - 1)].off = z->off;
    rqes[rq_tail & (reg.rq_entries - 1)].len = (__u32)cqe->res;
    io_uring_smp_store_release(rq_ktail, ++rq_tail);
    refills++;
    io_uring_cqe_seen(&a, cqe);
  }
  if (close(conn)) die("close", errno);
  close(lfd);
  io_uring_queue_exit(&a);
  io_uring_queue_exit(&b);
  printf("RESULT bytes=%llu bad=%llu refills=%llu\n", got, bad, refills);
  return got == want && bad == 0 ? 0 : 1;
}
