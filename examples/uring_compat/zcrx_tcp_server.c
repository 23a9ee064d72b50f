/* SPDX-License-Identifier: MIT */
/*
 * zcrx_tcp_server: a kernel-zcrx program, written against liburing the way
 * the kernel's own zcrx tests are (socket/bind/listen, an io_uring with
 * CQE32 and DEFER_TASKRUN, io_uring_register_ifq over an anonymous area and
 * refill region, ACCEPT, multishot RECV_ZC filled by hand, refills through
 * reg.offsets). The same file builds against a liburing with the zcrx
 * helpers for the kernel, and against libzcrx's <liburing.h> for zcrxd
 * (run it with libzcrx-uring-sockets.so preloaded): the ports differ in no
 * line.
 *
 *   server: zcrx_tcp_server -s -i IFNAME [-q QUEUE] [-p PORT] -n BYTES
 *   client: zcrx_tcp_server -c -h IPV4 [-p PORT] -n BYTES
 *
 * The stream is byte i = 'a' + i % 26. The server takes one connection,
 * checks every byte, and prints "RESULT bytes=N bad=0" at the peer's EOF;
 * it exits 0 when N == BYTES with nothing bad, 1 otherwise, 42 when the
 * setup is not possible here (as the kernel selftests skip).
 */
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
#define RQ_ENTRIES 4096
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

static void die(const char *what, int err) {
  fprintf(stderr, "zcrx_tcp_server: %s: %s\n", what, strerror(err));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t refill_region_size(void) {
  /* the RQE array plus a page for the head and tail words */
  size_t n = RQ_ENTRIES * sizeof(struct io_uring_zcrx_rqe) + page_size;
  return (n + page_size - 1) & ~(size_t)(page_size - 1);
}

static void setup_zcrx(struct io_uring *ring) {
  unsigned ifindex = if_nametoindex(cfg_ifname);
  if (!ifindex) die("if_nametoindex", errno);

  area_len = (size_t)RQ_ENTRIES * page_size;
  area = mmap(NULL, area_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (area == MAP_FAILED) die("mmap area", errno);
  size_t region_len = refill_region_size();
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
      .rq_entries = RQ_ENTRIES,
      .area_ptr = (__u64)(unsigned long)&area_reg,
      .region_ptr = (__u64)(unsigned long)&region_reg,
  };
  int ret = io_uring_register_ifq(ring, &reg);
  if (ret == -EOPNOTSUPP || ret == -EPERM) {
    fprintf(stderr, "zcrx_tcp_server: no zcrx here: %s\n", strerror(-ret));
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

static void refill(__u64 off, __u32 len) {
  unsigned mask = rq.ring_entries - 1;
  /* The area has no more buffers than the RQ has slots: it cannot fill. */
  struct io_uring_zcrx_rqe *rqe = &rq.rqes[rq.rq_tail & mask];
  rqe->off = (off & ~IORING_ZCRX_AREA_MASK) | area_token;
  rqe->len = len;
  io_uring_smp_store_release(rq.ktail, ++rq.rq_tail);
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
  refill(rcqe->off, (__u32)cqe->res);
}

static void run_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket", errno);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) die("setsockopt", errno);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg_port)};
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) die("bind", errno);
  if (listen(fd, 16)) die("listen", errno);

  struct io_uring ring;
  unsigned flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
                   IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQE32;
  int ret = io_uring_queue_init(512, &ring, flags);
  if (ret) die("io_uring_queue_init", -ret);
  setup_zcrx(&ring);
  add_accept(&ring, fd);
  printf("LISTENING port=%d\n", cfg_port);
  fflush(stdout);

  double deadline = now_s() + 60;
  while (!done && now_s() < deadline) {
    struct io_uring_cqe *cqe;
    unsigned head, count = 0;
    io_uring_submit_and_wait(&ring, 1);
    io_uring_for_each_cqe(&ring, head, cqe) {
      if (cqe->user_data == UD_ACCEPT) {
        if (cqe->res < 0) die("accept", -cqe->res);
        conn_fd = cqe->res;
        add_recvzc(&ring);
      } else if (cqe->user_data == UD_RECV) {
        process_recvzc(&ring, cqe);
      } else {
        die("unexpected completion", EPROTO);
      }
      count++;
    }
    io_uring_cq_advance(&ring, count);
  }
  printf("RESULT bytes=%llu bad=%llu\n", received, bad);
  fflush(stdout);
  io_uring_queue_exit(&ring);
  if (!done) die("timed out", ETIMEDOUT);
  exit(received == cfg_bytes && bad == 0 ? 0 : 1);
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

int main(int argc, char **argv) {
  int c;
  page_size = sysconf(_SC_PAGESIZE);
  while ((c = getopt(argc, argv, "sci:q:p:h:n:")) != -1) {
    switch (c) {
      case 's': cfg_server = 1; break;
      case 'c': cfg_client = 1; break;
      case 'i': cfg_ifname = optarg; break;
      case 'q': cfg_queue = atoi(optarg); break;
      case 'p': cfg_port = atoi(optarg); break;
      case 'h': cfg_host = optarg; break;
      case 'n': cfg_bytes = strtoull(optarg, NULL, 0); break;
      default: return 2;
    }
  }
  if (cfg_server == cfg_client || !cfg_bytes || (cfg_server && !cfg_ifname) ||
      (cfg_client && !cfg_host)) {
    fprintf(stderr, "usage: %s -s -i IFNAME [-q QUEUE] [-p PORT] -n BYTES\n"
                    "       %s -c -h IPV4 [-p PORT] -n BYTES\n", argv[0], argv[0]);
    return 2;
  }
  if (cfg_server)
    run_server();
  else
    run_client();
  return 0;
}
