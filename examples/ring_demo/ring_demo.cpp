// SPDX-License-Identifier: MIT
// ring_demo: the zcrx ring protocol between two processes, without DPDK.
//
// The parent plays zcrxd: it takes a free buffer of the area, writes a
// verifiable payload into it and posts a CQE32 whose `off` carries the area
// token and the buffer's offset. The child plays the consumer: it checks
// every byte of every payload and hands the buffer back through the refill
// queue with an RQE, exactly as a zcrx consumer refills. Both sides bound-
// check what they read from shared memory. At the end every buffer must be
// back on the parent's free list.
#include <getopt.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <new>
#include <vector>

#include "demo_shm.h"
#include "zcrx/pattern.h"
#include "zcrx/uapi.h"

namespace ring_demo {
namespace {

using zcrx::uapi::io_uring_cqe32;
using zcrx::uapi::io_uring_zcrx_rqe;

// Consumer results travel back to the parent in the shared memory's tail.
struct ConsumerReport {
  uint64_t payloads = 0;
  uint64_t bytes = 0;
  uint64_t bad_payloads = 0;
  uint64_t bad_offsets = 0;
  uint64_t out_of_order = 0;
  uint32_t ring_corrupt = 0;
};

void usage(FILE* out) {
  std::fprintf(out,
      "usage: ring_demo [options]\n"
      "Moves verifiable payloads from a producer process (zcrxd's role) to a\n"
      "consumer process through a CQE32 completion ring and a zcrx refill\n"
      "queue in one memfd, checking every byte; exits 0 when every payload\n"
      "was intact and every buffer came back.\n\n"
      "  -n, --entries N        payloads to move (default 4000000)\n"
      "  -b, --batch N          CQEs posted per step (default 32)\n"
      "  -c, --cq-entries N     CQ size, power of two (default 1024)\n"
      "  -B, --buffers N        area buffers (default 512)\n"
      "  -s, --buf-size N       bytes per buffer, power of two >= 16 (default 256)\n"
      "  -e, --inject-errors N  damage N payloads on purpose; the consumer\n"
      "                         must report exactly N bad payloads\n"
      "  -h, --help             this text\n");
}

bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

bool parse_options(int argc, char** argv, Options& o) {
  static const option longopts[] = {
      {"entries", required_argument, nullptr, 'n'},
      {"batch", required_argument, nullptr, 'b'},
      {"cq-entries", required_argument, nullptr, 'c'},
      {"buffers", required_argument, nullptr, 'B'},
      {"buf-size", required_argument, nullptr, 's'},
      {"inject-errors", required_argument, nullptr, 'e'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "n:b:c:B:s:e:h", longopts, nullptr)) != -1) {
    uint64_t v = optarg ? std::strtoull(optarg, nullptr, 0) : 0;
    switch (c) {
      case 'n': o.entries = v; break;
      case 'b': o.batch = static_cast<uint32_t>(v); break;
      case 'c': o.cq_entries = static_cast<uint32_t>(v); break;
      case 'B': o.buffers = static_cast<uint32_t>(v); break;
      case 's': o.buf_size = static_cast<uint32_t>(v); break;
      case 'e': o.inject_errors = v; break;
      case 'h': usage(stdout); std::exit(0);
      default: usage(stderr); return false;
    }
  }
  if (optind != argc || !is_pow2(o.cq_entries) || o.cq_entries > zcrx::kMaxCqEntries ||
      !is_pow2(o.buf_size) || o.buf_size < 16 || o.buffers == 0 ||
      o.batch == 0 || o.batch > o.cq_entries || o.inject_errors > o.entries) {
    std::fprintf(stderr, "ring_demo: invalid options (see --help)\n");
    return false;
  }
  // The refill queue must hold every buffer, so a refill never waits.
  o.rq_entries = zcrx::round_ring_entries(o.buffers, zcrx::kMaxRqEntries);
  if (o.rq_entries == 0 || o.rq_entries < o.buffers) {
    std::fprintf(stderr, "ring_demo: too many buffers for one refill queue\n");
    return false;
  }
  return true;
}

// Final CQE (no F_MORE) tells the consumer the stream ended.
constexpr uint64_t kUserData = 0x5a43'5258;  // "ZCRX"

int run_consumer(const Options& o, const ShmLayout& l, ShmViews& v,
                 ConsumerReport& rep) {
  const uint64_t token = zcrx::uapi::area_token(kAreaId);
  uint64_t expect_seq = 0;
  std::vector<io_uring_zcrx_rqe> rqes(o.cq_entries);
  for (;;) {
    uint32_t n = v.cq_cons.peek(o.cq_entries);
    if (v.cq_cons.state() != zcrx::RingState::ok) {
      rep.ring_corrupt = 1;
      return 1;
    }
    if (n == 0) continue;
    uint32_t refill = 0;
    bool done = false;
    for (uint32_t i = 0; i < n; i++) {
      io_uring_cqe32 c = v.cq_cons.load(i);
      if (!(c.cqe.flags & zcrx::uapi::kCqeFMore)) {
        done = true;
        break;
      }
      uint64_t off = c.zcqe.off;
      uint64_t at = zcrx::uapi::area_offset_of(off);
      // Never follow an offset outside our area (or another area's token).
      if ((off & zcrx::uapi::kZcrxAreaMask) != token || c.cqe.res < 0 ||
          at > l.area_size || uint64_t(c.cqe.res) > l.area_size - at) {
        rep.bad_offsets++;
        continue;
      }
      const uint8_t* p = v.area + at;
      size_t len = static_cast<size_t>(c.cqe.res);
      if (zcrx::pattern::first_mismatch(p, len) != len) rep.bad_payloads++;
      if (zcrx::pattern::seq_of(p, len) != expect_seq) rep.out_of_order++;
      expect_seq++;
      rep.payloads++;
      rep.bytes += len;
      rqes[refill++] = io_uring_zcrx_rqe{off, static_cast<uint32_t>(len), 0};
    }
    v.cq_cons.advance(n);
    // The RQ holds every buffer, so this push cannot run out of room.
    if (refill && !v.rq_prod.push_bulk(rqes.data(), refill)) {
      std::fprintf(stderr, "ring_demo: refill queue full\n");
      return 1;
    }
    if (done) return 0;
  }
}

struct ProducerTotals {
  uint64_t posted = 0;
  uint64_t refilled = 0;
  uint64_t bad_rqes = 0;
};

// zcrxd's side: a free list of area buffers, posting and reclaiming.
class Producer {
 public:
  Producer(const Options& o, ShmViews& v)
      : o_(o), v_(v), free_list_(o.buffers), held_(o.buffers, 0),
        rqes_(o.rq_entries), nfree_(o.buffers) {
    for (uint32_t i = 0; i < o.buffers; i++) free_list_[i] = o.buffers - 1 - i;
  }

  // Takes back what the consumer refilled. The consumer is untrusted: an
  // RQE with a wrong area token, an index out of range or a buffer the
  // consumer does not hold is skipped and counted, never a double free.
  bool reclaim() {
    uint32_t n = v_.rq_cons.pop_burst(rqes_.data(), o_.rq_entries);
    for (uint32_t i = 0; i < n; i++) {
      uint64_t off = rqes_[i].off;
      uint64_t idx = zcrx::uapi::area_offset_of(off) / o_.buf_size;
      if ((off & zcrx::uapi::kZcrxAreaMask) != token_ || idx >= o_.buffers ||
          !held_[idx]) {
        t.bad_rqes++;
        continue;
      }
      held_[idx] = 0;
      free_list_[nfree_++] = static_cast<uint32_t>(idx);
      t.refilled++;
    }
    return v_.rq_cons.state() == zcrx::RingState::ok;
  }

  // Posts every payload and the final CQE. Gives up when the consumer
  // process `child` exits early (it would never refill again).
  int run(pid_t child, int& status, bool& reaped) {
    // Damaged payloads are spread evenly across the run.
    const uint64_t damage_every = o_.inject_errors ? o_.entries / o_.inject_errors : 0;
    const uint32_t len = o_.buf_size - 8;  // payload starts 8 bytes in
    uint32_t stalls = 0;
    while (t.posted < o_.entries) {
      if (!reclaim()) return 1;
      uint32_t want = static_cast<uint32_t>(
          std::min<uint64_t>({o_.batch, o_.entries - t.posted, nfree_}));
      want = v_.cq_prod.reserve(want);
      if (want == 0 && ++stalls % (1u << 20) == 0 &&
          waitpid(child, &status, WNOHANG) == child) {
        reaped = true;
        std::fprintf(stderr, "ring_demo: consumer exited before the end\n");
        return 1;
      }
      for (uint32_t i = 0; i < want; i++) {
        uint32_t idx = free_list_[--nfree_];
        held_[idx] = 1;
        uint64_t at = uint64_t(idx) * o_.buf_size + 8;
        uint8_t* p = v_.area + at;
        uint64_t seq = t.posted + i;
        zcrx::pattern::fill(p, len, seq);
        if (damage_every && seq % damage_every == damage_every - 1) p[len - 1] ^= 0xff;
        io_uring_cqe32& c = v_.cq_prod.slot(i);
        c.cqe = {kUserData, static_cast<int32_t>(len), zcrx::uapi::kCqeFMore};
        c.zcqe = {token_ | at, 0};
      }
      v_.cq_prod.commit(want);
      t.posted += want;
    }
    while (!v_.cq_prod.push(io_uring_cqe32{{kUserData, 0, 0}, {0, 0}}))
      if (!reclaim()) return 1;
    return 0;
  }

  ProducerTotals t;

 private:
  const Options& o_;
  ShmViews& v_;
  const uint64_t token_ = zcrx::uapi::area_token(kAreaId);
  std::vector<uint32_t> free_list_;
  std::vector<uint8_t> held_;
  std::vector<io_uring_zcrx_rqe> rqes_;
  uint32_t nfree_;
};

}  // namespace
}  // namespace ring_demo

int main(int argc, char** argv) {
  using namespace ring_demo;
  Options o;
  if (!parse_options(argc, argv, o)) return 2;
  ShmLayout l = shm_layout(o);
  int fd = memfd_create("zcrx-ring-demo", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(l.size)) != 0) {
    std::perror("ring_demo: memfd");
    return 1;
  }
  ShmViews v;
  if (!map_shm(fd, l, v)) return 1;
  zcrx::init_ring_region(v.base, l.ring);
  // The consumer's counters come back through a small shared page.
  void* rep_mem = mmap(nullptr, sizeof(ConsumerReport), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (rep_mem == MAP_FAILED) {
    std::perror("ring_demo: mmap");
    return 1;
  }
  auto* report = new (rep_mem) ConsumerReport{};

  std::printf("ring_demo: %" PRIu64 " payloads of %u bytes, batch %u, CQ %u, RQ %u, %u buffers\n",
              o.entries, o.buf_size - 8, o.batch, o.cq_entries, o.rq_entries, o.buffers);
  std::fflush(stdout);
  auto t0 = std::chrono::steady_clock::now();
  pid_t child = fork();
  if (child < 0) {
    std::perror("ring_demo: fork");
    return 1;
  }
  if (child == 0) {
    // The consumer maps the memfd on its own, as a separate process would.
    ShmViews cv;
    if (!map_shm(fd, l, cv)) _exit(1);
    _exit(run_consumer(o, l, cv, *report));
  }
  Producer prod(o, v);
  int status = 0;
  bool reaped = false;
  int prc = prod.run(child, status, reaped);
  if (!reaped) waitpid(child, &status, 0);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The consumer's last refills arrive after the final CQE.
  if (!prod.reclaim()) prc = 1;
  const ProducerTotals& t = prod.t;
  const uint64_t outstanding = t.posted - t.refilled;
  const bool child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

  std::printf("\n%-22s %15s\n", "", "value");
  std::printf("%-22s %15" PRIu64 "\n", "payloads posted", t.posted);
  std::printf("%-22s %15" PRIu64 "\n", "payloads verified", report->payloads);
  std::printf("%-22s %15" PRIu64 "\n", "bytes verified", report->bytes);
  std::printf("%-22s %15" PRIu64 "\n", "bad payloads", report->bad_payloads);
  std::printf("%-22s %15" PRIu64 "\n", "bad offsets", report->bad_offsets);
  std::printf("%-22s %15" PRIu64 "\n", "out of order", report->out_of_order);
  std::printf("%-22s %15" PRIu64 "\n", "bad refill entries", t.bad_rqes);
  std::printf("%-22s %15" PRIu64 "\n", "buffers outstanding", outstanding);
  std::printf("%-22s %15.2f\n", "Mpayloads/s", t.posted / secs / 1e6);
  std::printf("%-22s %15.2f\n", "Gbit/s", report->bytes * 8 / secs / 1e9);

  const bool ok = prc == 0 && child_ok && !report->ring_corrupt &&
                  report->payloads == o.entries &&
                  report->bad_payloads == o.inject_errors &&
                  report->bad_offsets == 0 && report->out_of_order == 0 &&
                  t.bad_rqes == 0 && outstanding == 0;
  std::printf("\nring_demo: %s\n", ok ? "OK, every byte verified, every buffer returned"
                                      : "FAILED");
  return ok ? 0 : 1;
}
