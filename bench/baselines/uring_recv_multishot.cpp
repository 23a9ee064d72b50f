// SPDX-License-Identifier: MIT
// uring_recv_multishot: the kernel io_uring baseline. One UDP socket, one
// multishot IORING_OP_RECV armed with buffer selection from a provided
// buffer ring; every completion's first and last byte is read (every byte
// with --verify) and its buffer goes straight back to the buffer ring.
// This is the best copy-based receive path io_uring offers.
#include <arpa/inet.h>
#include <getopt.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench_common.h"
#include "provided_buffers.h"
#include "zcrx/pattern.h"

namespace {

using namespace zcrx::bench;

constexpr int kBufGroup = 7;
constexpr uint64_t kRecvTag = 1;
constexpr uint64_t kCancelTag = 2;

struct Options {
  const char* bind_addr = "0.0.0.0";
  int port = 9000;
  unsigned buffers = 4096;  // power of two
  unsigned buf_size = 9216;
  double duration = 5.0;
  double idle_exit = 0;
  bool busy_poll = false;
  bool verify = false;
  int rcvbuf = 8 << 20;
};

void usage(FILE* f) {
  fprintf(f,
          "usage: uring_recv_multishot [options]\n"
          "Kernel io_uring multishot recv with a provided buffer ring.\n"
          "  --bind ADDR      IPv4 address to bind (default 0.0.0.0)\n"
          "  --port N         UDP port (default 9000)\n"
          "  --buffers N      provided buffers, power of two (default 4096)\n"
          "  --buf-size N     bytes per buffer (default 9216)\n"
          "  --duration S     stop after S seconds (default 5)\n"
          "  --idle-exit S    stop S seconds after the last datagram (default off)\n"
          "  --busy-poll      peek the CQ in a loop (default: wait for completions)\n"
          "  --verify         check every payload byte against the pattern\n"
          "  --rcvbuf BYTES   SO_RCVBUF (default 8 MiB)\n"
          "  --help           this text\n"
          "Prints 'uring_recv_multishot: ready' when armed. Final line: RESULT {json}\n"
          "with packets, bytes, bad_payloads, enobufs, rearms, elapsed_s,\n"
          "cpu_user_s, cpu_sys_s.\n");
}

bool parse(int argc, char** argv, Options* o) {
  static const option longopts[] = {
      {"bind", required_argument, nullptr, 'a'},     {"port", required_argument, nullptr, 'p'},
      {"buffers", required_argument, nullptr, 'n'},  {"buf-size", required_argument, nullptr, 's'},
      {"duration", required_argument, nullptr, 't'}, {"idle-exit", required_argument, nullptr, 'i'},
      {"busy-poll", no_argument, nullptr, 'B'},      {"verify", no_argument, nullptr, 'v'},
      {"rcvbuf", required_argument, nullptr, 'r'},   {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 'a': o->bind_addr = optarg; break;
      case 'p': o->port = atoi(optarg); break;
      case 'n': o->buffers = static_cast<unsigned>(atoi(optarg)); break;
      case 's': o->buf_size = static_cast<unsigned>(atoi(optarg)); break;
      case 't': o->duration = atof(optarg); break;
      case 'i': o->idle_exit = atof(optarg); break;
      case 'B': o->busy_poll = true; break;
      case 'v': o->verify = true; break;
      case 'r': o->rcvbuf = atoi(optarg); break;
      case 'h': usage(stdout); exit(0);
      default: return false;
    }
  }
  bool pow2 = o->buffers && (o->buffers & (o->buffers - 1)) == 0;
  return o->port > 0 && o->port < 65536 && pow2 && o->buffers <= 32768 && o->buf_size >= 64 &&
         o->buf_size <= 65536 && o->duration > 0;
}

void arm_recv(io_uring* ring, int fd) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufGroup;
  io_uring_sqe_set_data64(sqe, kRecvTag);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) {
    usage(stderr);
    return 2;
  }
  install_stop_handlers();

  int fd = open_udp_receiver(o.bind_addr, o.port, o.rcvbuf, "uring_recv_multishot");
  if (fd < 0) return 1;

  io_uring ring;
  int ret = io_uring_queue_init(64, &ring, 0);
  if (ret < 0) {
    fprintf(stderr, "uring_recv_multishot: io_uring_queue_init: %s\n", strerror(-ret));
    return 1;
  }
  ProvidedBuffers bufs;
  if (!setup_provided_buffers(&ring, o.buffers, o.buf_size, kBufGroup, "uring_recv_multishot",
                              &bufs))
    return 1;
  io_uring_buf_ring* br = bufs.ring;
  uint8_t* pool = bufs.pool;
  const int mask = bufs.mask;

  arm_recv(&ring, fd);
  io_uring_submit(&ring);
  printf("uring_recv_multishot: ready port=%d\n", o.port);
  fflush(stdout);

  uint64_t packets = 0, bytes = 0, bad = 0, touch = 0, enobufs = 0, rearms = 0, errors = 0;
  double t_first = 0, t_last = 0;
  const double t_start = now_s();
  __kernel_timespec wait_ts{0, 100000000};  // wake every 100 ms for the clock

  // Reads one received datagram and queues its buffer back to the buffer
  // ring at `slot` positions past the tail (published by the caller).
  // False when the completion names no valid buffer.
  auto consume = [&](const io_uring_cqe* cqe, int slot) {
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    size_t len = static_cast<size_t>(cqe->res);
    if (bid >= o.buffers || len > o.buf_size) return false;
    uint8_t* p = pool + static_cast<size_t>(bid) * o.buf_size;
    touch += p[0] + p[len - 1];
    if (o.verify && zcrx::pattern::first_mismatch(p, len) != len) bad++;
    bytes += len;
    packets++;
    io_uring_buf_ring_add(br, p, o.buf_size, static_cast<unsigned short>(bid), mask, slot);
    return true;
  };

  while (!stop_requested()) {
    io_uring_cqe* cqe = nullptr;
    if (o.busy_poll) {
      ret = io_uring_peek_cqe(&ring, &cqe);
    } else {
      ret = io_uring_wait_cqe_timeout(&ring, &cqe, &wait_ts);
    }
    double now = now_s();
    if (ret == 0 && cqe) {
      unsigned head, seen = 0, recycled = 0;
      bool rearm = false;
      io_uring_for_each_cqe(&ring, head, cqe) {
        seen++;
        if (cqe->user_data != kRecvTag) continue;
        if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
          if (consume(cqe, static_cast<int>(recycled))) recycled++;
          if (packets == 1) t_first = now;
          t_last = now;
        } else if (cqe->res == -ENOBUFS) {
          enobufs++;
        } else if (cqe->res < 0) {
          errors++;
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) rearm = true;
      }
      io_uring_buf_ring_advance(br, static_cast<int>(recycled));
      io_uring_cq_advance(&ring, seen);
      if (rearm) {
        rearms++;
        arm_recv(&ring, fd);
        io_uring_submit(&ring);
      }
    } else if (ret < 0 && ret != -EAGAIN && ret != -ETIME && ret != -EINTR) {
      fprintf(stderr, "uring_recv_multishot: wait: %s\n", strerror(-ret));
      break;
    }
    if (now - t_start >= o.duration) break;
    if (o.idle_exit > 0 && packets > 0 && now - t_last >= o.idle_exit) break;
    if (errors > 1000) {
      fprintf(stderr, "uring_recv_multishot: too many recv errors\n");
      break;
    }
  }
  // Cancel the armed receive and reap its final completion before closing:
  // io_uring otherwise drops its socket reference asynchronously after
  // exit, and the port stays bound for a moment.
  if (io_uring_sqe* sqe = io_uring_get_sqe(&ring)) {
    io_uring_prep_cancel64(sqe, kRecvTag, 0);
    io_uring_sqe_set_data64(sqe, kCancelTag);
    io_uring_submit(&ring);
    __kernel_timespec slice{0, 10000000};
    for (int i = 0; i < 100; i++) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe_timeout(&ring, &cqe, &slice) != 0 || !cqe) continue;
      bool recv_done = cqe->user_data == kRecvTag && !(cqe->flags & IORING_CQE_F_MORE);
      // A datagram that raced with the cancel is still read and counted.
      if (cqe->user_data == kRecvTag && cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER) &&
          consume(cqe, 0))
        io_uring_buf_ring_advance(br, 1);
      io_uring_cqe_seen(&ring, cqe);
      if (recv_done) break;
    }
  }
  io_uring_queue_exit(&ring);
  close(fd);

  JsonLine j;
  j.str("prog", "uring_recv_multishot")
      .integer("packets", packets)
      .integer("bytes", bytes)
      .integer("bad_payloads", bad)
      .integer("enobufs", enobufs)
      .integer("rearms", rearms)
      .integer("errors", errors)
      .num("elapsed_s", t_last - t_first)
      .num("wall_s", now_s() - t_start)
      .integer("touch", touch & 0xffff)
      .cpu(cpu_times());
  j.print();
  return 0;
}
