// SPDX-License-Identifier: MIT
// tcp_uring_recv: the kernel io_uring TCP baseline of bench/run's tcp
// scenario. A multishot accept, then one multishot IORING_OP_RECV per
// connection with buffer selection from one provided buffer ring (liburing);
// every received byte is checked against the tests/tools/tcp_pattern.h
// stream and its buffer goes straight back to the ring. The best
// copy-based TCP receive path io_uring offers, doing the same work per
// byte as tcp_peer --listen (recv + verify) and zcrx_tcp.
#include <arpa/inet.h>
#include <getopt.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "bench_common.h"
#include "provided_buffers.h"
#include "tcp_pattern.h"

namespace {

using namespace zcrx::bench;

constexpr int kBufGroup = 3;
// user_data: the kind in the top byte, a connection slot below.
constexpr uint64_t kAccept = 1ull << 56;
constexpr uint64_t kRecv = 2ull << 56;
constexpr uint64_t kKindMask = 0xffull << 56;

struct Options {
  const char* bind_addr = "0.0.0.0";
  int port = 5001;
  unsigned conns = 1;
  uint64_t bytes = 0;  // per connection; 0: not checked
  unsigned buffers = 256;  // power of two
  unsigned buf_size = 65536;
  double timeout = 60;
};

void usage(FILE* f) {
  fprintf(f,
          "usage: tcp_uring_recv [options]\n"
          "Kernel io_uring TCP receiver: multishot accept, one multishot recv per\n"
          "connection from a provided buffer ring, every byte checked against the\n"
          "tcp_pattern.h stream (the first 8 bytes name the connection).\n"
          "  --bind ADDR      IPv4 address to listen on (default 0.0.0.0)\n"
          "  --port N         TCP port (default 5001)\n"
          "  --conns K        connections to accept, then stop listening (default 1)\n"
          "  --bytes N        bytes each connection must carry (default: not checked)\n"
          "  --buffers N      provided buffers, power of two (default 256)\n"
          "  --buf-size N     bytes per buffer (default 65536)\n"
          "  --timeout S      give up after S seconds (default 60)\n"
          "  --help           this text\n"
          "Prints 'tcp_uring_recv: ready port=N' when listening; ends when every\n"
          "connection reached EOF. Final line: RESULT {json} with connections (ended\n"
          "with every byte right), expected, ended, bytes, bad_bytes, errors, enobufs, rearms, completions,\n"
          "elapsed_s (first byte to last EOF), gbit_s, cpu_user_s, cpu_sys_s.\n"
          "Exit status 0 only when every connection ended cleanly with every byte right.\n");
}

bool parse(int argc, char** argv, Options* o) {
  static const option longopts[] = {
      {"bind", required_argument, nullptr, 'a'},     {"port", required_argument, nullptr, 'p'},
      {"conns", required_argument, nullptr, 'k'},    {"bytes", required_argument, nullptr, 'b'},
      {"buffers", required_argument, nullptr, 'n'},  {"buf-size", required_argument, nullptr, 's'},
      {"timeout", required_argument, nullptr, 't'},  {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 'a': o->bind_addr = optarg; break;
      case 'p': o->port = atoi(optarg); break;
      case 'k': o->conns = static_cast<unsigned>(atoi(optarg)); break;
      case 'b': o->bytes = strtoull(optarg, nullptr, 0); break;
      case 'n': o->buffers = static_cast<unsigned>(atoi(optarg)); break;
      case 's': o->buf_size = static_cast<unsigned>(atoi(optarg)); break;
      case 't': o->timeout = atof(optarg); break;
      case 'h': usage(stdout); exit(0);
      default: return false;
    }
  }
  const bool pow2 = o->buffers && (o->buffers & (o->buffers - 1)) == 0;
  return o->port > 0 && o->port < 65536 && o->conns >= 1 && o->conns <= 1024 && pow2 &&
         o->buffers <= 32768 && o->buf_size >= 4096 && o->buf_size <= (1u << 20) && o->timeout > 0;
}

/// One accepted connection: its stream index (from the first 8 bytes) and
/// how far the check got.
struct Conn {
  int fd = -1;
  uint64_t index = UINT64_MAX;
  uint64_t off = 0;
  uint8_t header[TCP_PATTERN_HEADER_BYTES] = {};
  unsigned header_n = 0;
  bool bad = false;
  bool done = false;
};

struct Totals {
  uint64_t bytes = 0, bad_bytes = 0, errors = 0, enobufs = 0, rearms = 0, completions = 0;
  unsigned accepted = 0, completed = 0, intact = 0;  // completed: reached EOF or failed
};

class Receiver {
 public:
  Receiver(const Options& o, io_uring* ring) : o_(o), ring_(ring), conns_(o.conns), seen_(o.conns) {}

  bool setup_buffers() {
    ProvidedBuffers b;
    if (!setup_provided_buffers(ring_, o_.buffers, o_.buf_size, kBufGroup, "tcp_uring_recv", &b))
      return false;
    br_ = b.ring;
    pool_ = b.pool;
    mask_ = b.mask;
    return true;
  }

  void arm_accept(int listen_fd) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_);
    io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, kAccept);
  }

  void arm_recv(unsigned slot) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_);
    if (!sqe) {
      io_uring_submit(ring_);
      sqe = io_uring_get_sqe(ring_);
    }
    io_uring_prep_recv_multishot(sqe, conns_[slot].fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufGroup;
    io_uring_sqe_set_data64(sqe, kRecv | slot);
  }

  /// Handles one completion; `recycled` counts buffers queued back (the
  /// caller publishes them once per batch).
  void on_cqe(const io_uring_cqe* cqe, int* recycled, double now) {
    t_.completions++;
    const uint64_t kind = cqe->user_data & kKindMask;
    if (kind == kAccept) return on_accept(cqe);
    if (kind != kRecv) return;
    const auto slot = static_cast<unsigned>(cqe->user_data & ~kKindMask);
    if (slot >= t_.accepted) return;
    Conn& c = conns_[slot];
    if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
      const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      const auto len = static_cast<size_t>(cqe->res);
      if (bid < o_.buffers && len <= o_.buf_size) {
        if (t_first_ == 0) t_first_ = now;
        check(c, pool_ + static_cast<size_t>(bid) * o_.buf_size, len);
        give_back(bid, (*recycled)++);
      } else {
        error(c, "a completion names no valid buffer");
      }
    } else if (cqe->res == 0) {
      return end(c, now);
    } else if (cqe->res == -ENOBUFS) {
      t_.enobufs++;
    } else if (cqe->res < 0) {
      error(c, strerror(-cqe->res));
      return end(c, now);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE) && !c.done) {
      t_.rearms++;
      arm_recv(slot);
    }
  }

  /// Publishes the buffers on_cqe queued back.
  void publish(int recycled) { io_uring_buf_ring_advance(br_, recycled); }

  void cancel_accept() {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_);
    if (!sqe) {
      io_uring_submit(ring_);
      sqe = io_uring_get_sqe(ring_);
    }
    io_uring_prep_cancel64(sqe, kAccept, 0);
    io_uring_sqe_set_data64(sqe, 0);  // its own completion is ignored
  }

  bool all_done() const { return t_.completed == o_.conns; }
  const Totals& totals() const { return t_; }
  double elapsed() const { return t_last_ > t_first_ ? t_last_ - t_first_ : 0; }

  void close_all() {
    for (Conn& c : conns_)
      if (c.fd >= 0) close(c.fd);
  }

 private:
  void give_back(unsigned bid, int slot) {
    io_uring_buf_ring_add(br_, pool_ + static_cast<size_t>(bid) * o_.buf_size, o_.buf_size,
                          static_cast<unsigned short>(bid), mask_, slot);
  }

  void on_accept(const io_uring_cqe* cqe) {
    if (cqe->res == -ECANCELED) return;  // cancel_accept()
    if (cqe->res < 0) {
      t_.errors++;
      fprintf(stderr, "tcp_uring_recv: accept: %s\n", strerror(-cqe->res));
      return;
    }
    if (t_.accepted == o_.conns) {
      close(cqe->res);  // beyond --conns
      t_.errors++;
      return;
    }
    const unsigned slot = t_.accepted++;
    conns_[slot].fd = cqe->res;
    arm_recv(slot);
  }

  void check(Conn& c, const uint8_t* p, size_t n) {
    t_.bytes += n;
    while (c.header_n < TCP_PATTERN_HEADER_BYTES && n > 0) {
      c.header[c.header_n++] = *p++;
      c.off++;
      n--;
      if (c.header_n == TCP_PATTERN_HEADER_BYTES) learn_index(c);
    }
    if (n == 0) return;
    if (c.index < o_.conns) {
      const uint64_t bad = tcp_pattern_count_mismatches(p, n, c.index, c.off);
      if (bad && !c.bad) {
        fprintf(stderr, "tcp_uring_recv: connection %llu: bad bytes near stream offset %llu\n",
                static_cast<unsigned long long>(c.index), static_cast<unsigned long long>(c.off));
        c.bad = true;
        t_.errors++;
      }
      t_.bad_bytes += bad;
    }
    c.off += n;
  }

  void learn_index(Conn& c) {
    c.index = tcp_pattern_conn_of(c.header);
    if (c.index >= o_.conns || seen_[c.index]) {
      error(c, c.index >= o_.conns ? "a stream names a connection beyond --conns"
                                   : "two streams name one connection");
      c.index = UINT64_MAX;
      return;
    }
    seen_[c.index] = true;
  }

  void error(Conn& c, const char* why) {
    t_.errors++;
    c.bad = true;
    fprintf(stderr, "tcp_uring_recv: connection at byte %llu: %s\n",
            static_cast<unsigned long long>(c.off), why);
  }

  void end(Conn& c, double now) {
    if (c.done) return;
    if (o_.bytes && c.off != o_.bytes && !c.bad)
      error(c, "the stream ended short of --bytes");
    c.done = true;
    t_.completed++;
    if (!c.bad) t_.intact++;
    t_last_ = now;
    close(c.fd);
    c.fd = -1;
  }

  Options o_;
  io_uring* ring_;
  std::vector<Conn> conns_;
  std::vector<bool> seen_;
  io_uring_buf_ring* br_ = nullptr;
  uint8_t* pool_ = nullptr;
  int mask_ = 0;
  Totals t_;
  double t_first_ = 0, t_last_ = 0;
};

int open_listener(const Options& o) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.bind_addr, &a.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd, 1024) < 0) {
    fprintf(stderr, "tcp_uring_recv: listen on %s:%d: %s\n", o.bind_addr, o.port, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/// The ring, with task work deferred to our own waits (one issuer) where
/// the kernel has it: the setup liburing recommends for networking.
bool init_ring(io_uring* ring) {
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = 4096;
  int ret = io_uring_queue_init_params(256, ring, &p);
  if (ret == -EINVAL) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 4096;
    ret = io_uring_queue_init_params(256, ring, &p);
  }
  if (ret < 0) fprintf(stderr, "tcp_uring_recv: io_uring_queue_init: %s\n", strerror(-ret));
  return ret == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) {
    usage(stderr);
    return 2;
  }
  install_stop_handlers();
  const int lfd = open_listener(o);
  if (lfd < 0) return 1;
  io_uring ring;
  if (!init_ring(&ring)) return 1;
  Receiver rx(o, &ring);
  if (!rx.setup_buffers()) return 1;
  rx.arm_accept(lfd);
  io_uring_submit(&ring);
  printf("tcp_uring_recv: ready port=%d\n", o.port);
  fflush(stdout);

  const double t_start = now_s();
  bool listening = true;
  __kernel_timespec wait_ts{0, 100000000};  // wake every 100 ms for the clock
  while (!stop_requested() && !rx.all_done()) {
    io_uring_cqe* cqe = nullptr;
    const int ret = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &wait_ts, nullptr);
    const double now = now_s();
    if (ret >= 0 || ret == -ETIME) {
      unsigned head, seen = 0;
      int recycled = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        seen++;
        rx.on_cqe(cqe, &recycled, now);
      }
      rx.publish(recycled);
      io_uring_cq_advance(&ring, seen);
    } else if (ret != -EINTR && ret != -EAGAIN) {
      fprintf(stderr, "tcp_uring_recv: wait: %s\n", strerror(-ret));
      break;
    }
    if (listening && rx.totals().accepted == o.conns) {
      // Every connection asked for is here: later ones are refused.
      rx.cancel_accept();
      close(lfd);
      listening = false;
    }
    if (now - t_start >= o.timeout) {
      fprintf(stderr, "tcp_uring_recv: timed out\n");
      break;
    }
  }
  if (listening) close(lfd);
  rx.close_all();
  io_uring_queue_exit(&ring);

  const Totals& t = rx.totals();
  const double el = rx.elapsed();
  JsonLine j;
  j.str("prog", "tcp_uring_recv")
      .integer("connections", t.intact)
      .integer("ended", t.completed)
      .integer("expected", o.conns)
      .integer("bytes", t.bytes)
      .integer("bad_bytes", t.bad_bytes)
      .integer("errors", t.errors)
      .integer("enobufs", t.enobufs)
      .integer("rearms", t.rearms)
      .integer("completions", t.completions)
      .num("elapsed_s", el)
      .num("gbit_s", el > 0 ? static_cast<double>(t.bytes) * 8 / el / 1e9 : 0)
      .cpu(cpu_times());
  j.print();
  return t.errors == 0 && t.bad_bytes == 0 && t.intact == o.conns ? 0 : 1;
}
