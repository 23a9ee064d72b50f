/* SPDX-License-Identifier: MIT */
/*
 * zcrx_ctrl_server: a kernel-zcrx receiver that drives its zcrx instance
 * through the ctrl operations (io_uring_register_zcrx_ctrl), the way
 * liburing-based zcrx wrappers do: it exports the instance once
 * (ZCRX_CTRL_EXPORT: a file standing for it, here only checked and closed),
 * keeps a small refill queue, and when that queue is full asks for it to be
 * processed now (ZCRX_CTRL_FLUSH_RQ) before waiting for room. The rest is a
 * TCP server as zcrx_tcp_server is. The same file builds against a liburing
 * with the zcrx helpers for the kernel, and against libzcrx's <liburing.h>
 * for zcrxd (run it with libzcrx-uring-sockets.so preloaded).
 *
 *   server: zcrx_ctrl_server -s -i IFNAME [-q QUEUE] [-p PORT] -n BYTES
 *   client: zcrx_ctrl_server -c -h IPV4 [-p PORT] -n BYTES
 *
 * The stream is byte i = 'a' + i % 26. The server takes one connection,
 * checks every byte and prints "RESULT bytes=N bad=0 exported=1 flushes=F"
 * at the peer's EOF; it exits 0 when N == BYTES with nothing bad, 1
 * otherwise, 42 when the setup is not possible here. The shared parts are
 * in zcrx_example.h.
 */
#include <sys/stat.h>

#define PROGRAM_NAME "zcrx_ctrl_server"
#define RQ_ENTRIES 16
#define AREA_PAGES 512
#include "zcrx_example.h"

static unsigned long long flushes;
static int exported;

static int zcrx_ctrl_op(struct io_uring *ring, struct zcrx_ctrl *ctrl) {
  return io_uring_register_zcrx_ctrl(ring, ctrl);
}

/* ZCRX_CTRL_EXPORT: a file that stands for the instance (another ring
 * would import it); this program only checks it is one and drops it. */
static void export_zcrx(struct io_uring *ring) {
  struct zcrx_ctrl ctrl = {.zcrx_id = zcrx_id, .op = ZCRX_CTRL_EXPORT};
  struct stat st;
  int ret = zcrx_ctrl_op(ring, &ctrl);
  if (ret) die("ZCRX_CTRL_EXPORT", -ret);
  if (fstat((int)ctrl.zc_export.zcrx_fd, &st)) die("fstat of the export", errno);
  close((int)ctrl.zc_export.zcrx_fd);
  exported = 1;
}

/* Room for one more RQE: when the queue is full, ZCRX_CTRL_FLUSH_RQ, then
 * wait (bounded) for the consumer of the queue to free slots. */
static void wait_rq_room(struct io_uring *ring) {
  if (rq.rq_tail - io_uring_smp_load_acquire(rq.khead) < rq.ring_entries) return;
  struct zcrx_ctrl ctrl = {.zcrx_id = zcrx_id, .op = ZCRX_CTRL_FLUSH_RQ};
  int ret = zcrx_ctrl_op(ring, &ctrl);
  if (ret) die("ZCRX_CTRL_FLUSH_RQ", -ret);
  flushes++;
  double deadline = now_s() + 5;
  while (rq.rq_tail - io_uring_smp_load_acquire(rq.khead) >= rq.ring_entries)
    if (now_s() > deadline) die("the refill queue stays full", ETIMEDOUT);
}

static void refill_buffer(struct io_uring *ring, __u64 off, __u32 len) {
  wait_rq_room(ring);
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
  setup_zcrx(&ring, RQ_ENTRIES, AREA_PAGES);
  export_zcrx(&ring);
  serve(&ring, listen_fd);
  printf("RESULT bytes=%llu bad=%llu exported=%d flushes=%llu\n", received, bad, exported,
         flushes);
  fflush(stdout);
  io_uring_queue_exit(&ring);
  if (!done) die("timed out", ETIMEDOUT);
  return received == cfg_bytes && bad == 0 && exported ? 0 : 1;
}
