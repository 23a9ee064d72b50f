/* SPDX-License-Identifier: MIT
 * A kernel-style io_uring TCP server built against libzcrx's <liburing.h>
 * with the socket shim preloaded, checking what a kernel program gets from
 * close(2) and ACCEPT's address:
 *   1. socket/bind/listen on PORT, then the ring; prints LISTENING.
 *   2. ACCEPT with addr/addrlen: prints "PEER ip:port len=N family=F"
 *      from what was written there (the kernel client knows its own).
 *   3. close(2) of the accepted socket (a zcrxd handle, >= 1024): prints
 *      "CLOSE_ACCEPTED r errno"; the client must then read EOF.
 *   4. close(2) of the listener: prints CLOSED_LISTENER and waits until
 *      the client created GOFILE (it tried to connect in between).
 *   5. socket/bind/listen on the same PORT again (EADDRINUSE while zcrxd
 *      still listens there): prints RELISTENING, then a multishot ACCEPT
 *      with an address ("PEER2 ..."), close(2) of both, the ring's exit.
 * Usage: uring_close PORT GOFILE. Exit 0 when every call succeeded. */
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

#include "uring_itest.h"

static void die(const char *what, int err) {
  fprintf(stderr, "uring_close: %s: %s\n", what, strerror(err));
  exit(1);
}

static int listen_on(unsigned short port) {
  struct sockaddr_in sa;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket", errno);
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) die("bind", errno);
  if (listen(fd, 8)) die("listen", errno);
  return fd;
}

static void register_ifq(struct io_uring *ring) {
  int r = itest_register_ifq(ring);
  if (r) die("register_ifq", -r);
}

/* One ACCEPT (multishot or not) on `fd`; the new socket. The address is
 * read only after io_uring_wait_cqe returned its CQE, as a kernel program
 * reads it. */
static int accept_one(struct io_uring *ring, int fd, int multishot, const char *tag) {
  struct sockaddr_in peer;
  socklen_t len = sizeof(peer);
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  char ip[INET_ADDRSTRLEN];
  int r, res;
  memset(&peer, 0xee, sizeof(peer));
  if (!sqe) die("get_sqe", EBUSY);
  if (multishot)
    io_uring_prep_multishot_accept(sqe, fd, (struct sockaddr *)&peer, &len, 0);
  else
    io_uring_prep_accept(sqe, fd, (struct sockaddr *)&peer, &len, 0);
  io_uring_sqe_set_data64(sqe, 7);
  r = itest_submit_wait(ring, &res);
  if (r) die("submit and wait", -r);
  if (res < 0) die("accept", -res);
  if (!inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip))) strcpy(ip, "?");
  printf("%s %s:%u len=%u family=%u\n", tag, ip, ntohs(peer.sin_port), (unsigned)len,
         (unsigned)peer.sin_family);
  fflush(stdout);
  return res;
}

int main(int argc, char **argv) {
  struct io_uring ring;
  unsigned short port;
  int lfd, conn, r, i;
  if (argc != 3) {
    fprintf(stderr, "usage: uring_close PORT GOFILE\n");
    return 2;
  }
  port = (unsigned short)atoi(argv[1]);
  lfd = listen_on(port);
  r = io_uring_queue_init(8, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                        IORING_SETUP_CQE32);
  if (r) die("queue_init", -r);
  register_ifq(&ring);
  printf("LISTENING\n");
  fflush(stdout);

  conn = accept_one(&ring, lfd, 0, "PEER");
  r = close(conn);
  printf("CLOSE_ACCEPTED %d %d\n", r, r ? errno : 0);
  fflush(stdout);
  r = close(lfd);
  printf("CLOSED_LISTENER %d\n", r);
  fflush(stdout);
  for (i = 0; i < 2000 && access(argv[2], F_OK) != 0; i++) usleep(10000);

  lfd = listen_on(port);
  printf("RELISTENING\n");
  fflush(stdout);
  conn = accept_one(&ring, lfd, 1, "PEER2");
  if (close(conn)) die("close accepted", errno);
  if (close(lfd)) die("close listener", errno);
  io_uring_queue_exit(&ring);
  printf("RESULT ok\n");
  return 0;
}
