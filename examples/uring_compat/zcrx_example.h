/* SPDX-License-Identifier: MIT */
/*
 * The parts the kernel-zcrx example programs share: their command line, the
 * zcrx registration over an anonymous area and refill region, ACCEPT and
 * multishot RECV_ZC, the byte-pattern check, the completion loop and the
 * pattern-sending client. Written against liburing only, so it builds for
 * the kernel (a liburing with the zcrx helpers) and for zcrxd (libzcrx's
 * <liburing.h>) alike. Each program includes it once, after defining
 * PROGRAM_NAME, and provides refill_buffer() for how it returns buffers.
 *
 * The stream is byte i = 'a' + i % 26. The server takes one connection and
 * checks every byte; it exits 42 when zcrx cannot be set up here (as the
 * kernel selftests skip).
 */
#ifndef ZCRX_EXAMPLE_H
#define ZCRX_EXAMPLE_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#define SKIP_CODE 42
#define UD_ACCEPT 1
#define UD_RECV 2

static int cfg_server, cfg_client, cfg_port = 9100, cfg_queue;
static const char *cfg_ifname, *cfg_host;
static unsigned long long cfg_bytes;

static long page_size;
static void *area;
static size_t area_len;
static struct io_uring_zcrx_rq rq;
static unsigned long long area_token;
static unsigned zcrx_id;
static int conn_fd = -1;
static int done;
static unsigned long long received, bad;

/* How the program hands a consumed buffer back (its refill policy). */
static void refill_buffer(struct io_uring *ring, __u64 off, __u32 len);

static void die(const char *what, int err) {
  fprintf(stderr, "%s: %s: %s\n", PROGRAM_NAME, what, strerror(err));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *out) {
  fprintf(out, "usage: %s -s -i IFNAME [-q QUEUE] [-p PORT] -n BYTES   (server)\n"
               "       %s -c -h IPV4 [-p PORT] -n BYTES               (client)\n",
          PROGRAM_NAME, PROGRAM_NAME);
}

/* Returns 0 to go on, or the exit code (0 after --help, 2 on bad usage). */
static int parse_args(int argc, char **argv, int *exit_code) {
  int c;
  page_size = sysconf(_SC_PAGESIZE);
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help")) {
      usage(stdout);
      *exit_code = 0;
      return 1;
    }
  while ((c = getopt(argc, argv, "sci:q:p:h:n:")) != -1) {
    switch (c) {
      case 's': cfg_server = 1; break;
      case 'c': cfg_client = 1; break;
      case 'i': cfg_ifname = optarg; break;
      case 'q': cfg_queue = atoi(optarg); break;
      case 'p': cfg_port = atoi(optarg); break;
      case 'h': cfg_host = optarg; break;
      case 'n': cfg_bytes = strtoull(optarg, NULL, 0); break;
      default: usage(stderr); *exit_code = 2; return 1;
    }
  }
  if (cfg_server == cfg_client || !cfg_bytes || (cfg_server && !cfg_ifname) ||
      (cfg_client && !cfg_host)) {
    usage(stderr);
    *exit_code = 2;
    return 1;
  }
  return 0;
}

static size_t refill_region_size(unsigned rq_entries) {
  /* the RQE array plus a page for the head and tail words */
  size_t n = rq_entries * sizeof(struct io_uring_zcrx_rqe) + page_size;
  return (n + page_size - 1) & ~(size_t)(page_size - 1);
}

static void setup_zcrx(struct io_uring *ring, unsigned rq_entries, size_t area_pages) {
  unsigned ifindex = if_nametoindex(cfg_ifname);
  if (!ifindex) die("if_nametoindex", errno);

  area_len = area_pages * page_size;
  area = mmap(NULL, area_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (area == MAP_FAILED) die("mmap area", errno);
  size_t region_len = refill_region_size(rq_entries);
  void *region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (region == MAP_FAILED) die("mmap region", errno);

  struct io_uring_region_desc region_reg = {
      .user_addr = (__u64)(unsigned long)region,
      .size = region_len,
      .flags = IORING_MEM_REGION_TYPE_USER,
  };
  struct io_uring_zcrx_area_reg area_reg = {
      .addr = (__u64)(unsigned long)area,
      .len = area_len,
  };
  struct io_uring_zcrx_ifq_reg reg = {
      .if_idx = ifindex,
      .if_rxq = (__u32)cfg_queue,
      .rq_entries = rq_entries,
      .area_ptr = (__u64)(unsigned long)&area_reg,
      .region_ptr = (__u64)(unsigned long)&region_reg,
  };
  int ret = io_uring_register_ifq(ring, &reg);
  if (ret == -EOPNOTSUPP || ret == -EPERM) {
    fprintf(stderr, "%s: no zcrx here: %s\n", PROGRAM_NAME, strerror(-ret));
    exit(SKIP_CODE);
  }
  if (ret) die("io_uring_register_ifq", -ret);

  rq.khead = (__u32 *)((char *)region + reg.offsets.head);
  rq.ktail = (__u32 *)((char *)region + reg.offsets.tail);
  rq.rqes = (struct io_uring_zcrx_rqe *)((char *)region + reg.offsets.rqes);
  rq.rq_tail = 0;
  rq.ring_entries = reg.rq_entries;
  area_token = area_reg.rq_area_token;
  zcrx_id = reg.zcrx_id;
}

/* Writes one RQE and publishes it; the caller has made sure there is room. */
static void push_rqe(__u64 off, __u32 len) {
  unsigned mask = rq.ring_entries - 1;
  struct io_uring_zcrx_rqe *rqe = &rq.rqes[rq.rq_tail & mask];
  rqe->off = (off & ~IORING_ZCRX_AREA_MASK) | area_token;
  rqe->len = len;
  io_uring_smp_store_release(rq.ktail, ++rq.rq_tail);
}

static void add_accept(struct io_uring *ring, int listen_fd) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  io_uring_prep_accept(sqe, listen_fd, NULL, NULL, 0);
  sqe->user_data = UD_ACCEPT;
}

static void add_recvzc(struct io_uring *ring) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  io_uring_prep_rw(IORING_OP_RECV_ZC, sqe, conn_fd, NULL, 0, 0);
  sqe->ioprio |= IORING_RECV_MULTISHOT;
  sqe->zcrx_ifq_idx = zcrx_id;
  sqe->user_data = UD_RECV;
}

static void process_recvzc(struct io_uring *ring, struct io_uring_cqe *cqe) {
  if (cqe->res == 0 && !(cqe->flags & IORING_CQE_F_MORE)) {
    done = 1; /* the peer's FIN */
    return;
  }
  if (cqe->res < 0) die("recvzc", -cqe->res);
  if (!(cqe->flags & IORING_CQE_F_MORE)) add_recvzc(ring);

  const struct io_uring_zcrx_cqe *rcqe = (const struct io_uring_zcrx_cqe *)(cqe + 1);
  __u64 off = rcqe->off & ~IORING_ZCRX_AREA_MASK;
  const unsigned char *data = (const unsigned char *)area + off;
  if (off + (__u64)cqe->res > area_len) die("recvzc offset outside the area", EFAULT);
  for (int i = 0; i < cqe->res; i++)
    if (data[i] != (unsigned char)('a' + (received + i) % 26)) bad++;
  received += cqe->res;
  refill_buffer(ring, rcqe->off, (__u32)cqe->res);
}

/* socket/bind/listen as a kernel TCP server does; returns the listener. */
static int open_listener(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket", errno);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) die("setsockopt", errno);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg_port)};
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) die("bind", errno);
  if (listen(fd, 16)) die("listen", errno);
  return fd;
}

/* The ring zcrx programs use: CQE32 for the zcrx completions, one issuer. */
static void init_ring(struct io_uring *ring) {
  unsigned flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
                   IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQE32;
  int ret = io_uring_queue_init(512, ring, flags);
  if (ret) die("io_uring_queue_init", -ret);
}

/* Accepts one connection and receives until its EOF or 60 s. */
static void serve(struct io_uring *ring, int listen_fd) {
  add_accept(ring, listen_fd);
  printf("LISTENING port=%d\n", cfg_port);
  fflush(stdout);

  double deadline = now_s() + 60;
  while (!done && now_s() < deadline) {
    struct io_uring_cqe *cqe;
    unsigned head, count = 0;
    io_uring_submit_and_wait(ring, 1);
    io_uring_for_each_cqe(ring, head, cqe) {
      if (cqe->user_data == UD_ACCEPT) {
        if (cqe->res < 0) die("accept", -cqe->res);
        conn_fd = cqe->res;
        add_recvzc(ring);
      } else if (cqe->user_data == UD_RECV) {
        process_recvzc(ring, cqe);
      } else {
        die("unexpected completion", EPROTO);
      }
      count++;
    }
    io_uring_cq_advance(ring, count);
  }
}

static void run_client(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket", errno);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg_port)};
  if (inet_pton(AF_INET, cfg_host, &sa.sin_addr) != 1) die("address", EINVAL);
  double deadline = now_s() + 10;
  while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
    if (now_s() > deadline) die("connect", errno);
    close(fd);
    usleep(100000);
    fd = socket(AF_INET, SOCK_STREAM, 0);
  }
  static unsigned char buf[26 * 2048];
  for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (unsigned char)('a' + i % 26);
  unsigned long long sent = 0;
  while (sent < cfg_bytes) {
    /* buf is a whole number of alphabets: any offset into it is sent % 26 */
    size_t start = sent % 26, n = sizeof(buf) - start;
    if (n > cfg_bytes - sent) n = cfg_bytes - sent;
    ssize_t r = send(fd, buf + start, n, 0);
    if (r < 0) die("send", errno);
    sent += (unsigned long long)r;
  }
  close(fd);
  printf("SENT bytes=%llu\n", sent);
}

#endif
