/* SPDX-License-Identifier: MIT
 * A kernel-style io_uring TCP sender built against libzcrx's <liburing.h>:
 * socket(2) (the preloaded shim makes it zcrxd's), io_uring_prep_connect,
 * then io_uring_prep_send from its own heap buffer (never the TX region)
 * until every byte went, resending the rest of a short send as stream
 * senders do, and io_uring_prep_close. The stream is byte i = 'a' + i % 26,
 * rewritten into the same 64 KiB buffer for each send, so a send whose
 * bytes were not copied at submit would carry the next chunk's.
 * Usage: uring_send HOST PORT BYTES. Prints "RESULT sent=N short=S". */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <liburing.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "uring_itest.h"

#define CHUNK 65536

static int die(const char *what, int err) {
  fprintf(stderr, "uring_send: %s: %s\n", what, strerror(err));
  exit(1);
}

static int run(struct io_uring *ring, void (*prep)(struct io_uring_sqe *, void *), void *arg) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  int res, r;
  if (!sqe) die("get_sqe", EBUSY);
  prep(sqe, arg);
  io_uring_sqe_set_data64(sqe, 1);
  r = itest_submit_wait(ring, &res);
  if (r) die("submit and wait", -r);
  return res;
}

struct op {
  int fd;
  struct sockaddr_in *sa;
  const char *buf;
  size_t len;
};

static void prep_connect(struct io_uring_sqe *sqe, void *a) {
  struct op *o = a;
  io_uring_prep_connect(sqe, o->fd, (struct sockaddr *)o->sa, sizeof(*o->sa));
}
static void prep_send(struct io_uring_sqe *sqe, void *a) {
  struct op *o = a;
  io_uring_prep_send(sqe, o->fd, o->buf, o->len, 0);
}
static void prep_close(struct io_uring_sqe *sqe, void *a) {
  io_uring_prep_close(sqe, ((struct op *)a)->fd);
}

static void register_ifq(struct io_uring *ring) {
  int r = itest_register_ifq(ring);
  if (r) die("register_ifq", -r);
}

int main(int argc, char **argv) {
  struct io_uring ring;
  struct sockaddr_in sa;
  struct op o;
  unsigned long long total, sent = 0, shorts = 0;
  char *buf = malloc(CHUNK);
  int r;
  if (argc != 4 || !buf) {
    fprintf(stderr, "usage: uring_send HOST PORT BYTES\n");
    return 2;
  }
  total = strtoull(argv[3], NULL, 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) die("address", EINVAL);
  r = io_uring_queue_init(8, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                        IORING_SETUP_CQE32);
  if (r) die("queue_init", -r);
  register_ifq(&ring);
  o.fd = socket(AF_INET, SOCK_STREAM, 0);
  if (o.fd < 0) die("socket", errno);
  o.sa = &sa;
  r = run(&ring, prep_connect, &o);
  if (r < 0) die("connect", -r);
  fprintf(stderr, "uring_send: connected\n");
  while (sent < total) {
    size_t i, n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
    for (i = 0; i < n; i++) buf[i] = (char)('a' + (sent + i) % 26);
    o.buf = buf;
    o.len = n;
    r = run(&ring, prep_send, &o);
    if (r < 0) die("send", -r);
    if ((size_t)r < n) shorts++;
    sent += (unsigned long long)r;
  }
  r = run(&ring, prep_close, &o);
  if (r < 0) die("close", -r);
  io_uring_queue_exit(&ring);
  printf("RESULT sent=%llu short=%llu\n", sent, shorts);
  free(buf);
  return 0;
}
