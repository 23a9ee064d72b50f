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
 * The server prints "RESULT bytes=N bad=0" at the peer's EOF and exits 0
 * when N == BYTES with nothing bad, 1 otherwise, 42 when the setup is not
 * possible here. The shared parts are in zcrx_example.h.
 */
#define PROGRAM_NAME "zcrx_tcp_server"
#define RQ_ENTRIES 4096
#include "zcrx_example.h"

/* The area has no more buffers than the RQ has slots: it cannot fill. */
static void refill_buffer(struct io_uring *ring, __u64 off, __u32 len) {
  (void)ring;
  push_rqe(off, len);
}

int main(int argc, char **argv) {
  int code;
  if (parse_args(argc, argv, &code)) return code;
  if (cfg_client) {
    run_client();
    return 0;
  }
  int listen_fd = open_listener();
  struct io_uring ring;
  init_ring(&ring);
  setup_zcrx(&ring, RQ_ENTRIES, RQ_ENTRIES);
  serve(&ring, listen_fd);
  printf("RESULT bytes=%llu bad=%llu\n", received, bad);
  fflush(stdout);
  io_uring_queue_exit(&ring);
  if (!done) die("timed out", ETIMEDOUT);
  return received == cfg_bytes && bad == 0 ? 0 : 1;
}
