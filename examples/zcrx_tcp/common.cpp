// SPDX-License-Identifier: MIT
#include "common.h"

#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace zcrx_tcp {

volatile sig_atomic_t g_stop = 0;

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

zcrx::WaitMode wait_mode(const Options& o) {
  switch (o.wait) {
    case Wait::busy_poll: return zcrx::WaitMode::busy_poll;
    case Wait::eventfd: return zcrx::WaitMode::eventfd;
    case Wait::adaptive: return zcrx::WaitMode::adaptive;
  }
  return zcrx::WaitMode::adaptive;
}

zcrx::uapi::io_uring_sqe* get_sqe(zcrx::Ring& ring) {
  if (auto* s = ring.get_sqe()) [[likely]]
    return s;
  ring.submit();
  const double give_up = now_s() + 1.0;
  while (now_s() < give_up) {
    sched_yield();  // zcrxd polls the SQ: let it run
    if (auto* s = ring.get_sqe()) return s;
  }
  return nullptr;
}

namespace {

unsigned g_bad_lines = 0;
constexpr unsigned kMaxBadLines = 20;

void print_conn(const ConnEnd& e) {
  char peer[32];
  std::snprintf(peer, sizeof(peer), "%u.%u.%u.%u:%u", e.peer_ip >> 24, (e.peer_ip >> 16) & 255,
                (e.peer_ip >> 8) & 255, e.peer_ip & 255, e.peer_port);
  std::printf("CONN {\"slot\":%u,\"stream\":%lld,\"peer\":\"%s\",\"bytes\":%" PRIu64
              ",\"bad_bytes\":%" PRIu64 ",\"error\":%d,\"problem\":\"%s\"}\n",
              e.slot, e.stream == UINT64_MAX ? -1LL : static_cast<long long>(e.stream), peer,
              e.bytes, e.bad_bytes, e.error, e.problem.c_str());
}

}  // namespace

void record_end(Totals& t, const ConnEnd& e, bool all) {
  t.ended++;
  t.last_s = now_s();
  t.bad_bytes += e.bad_bytes;
  if (e.error == -ECONNRESET) t.resets++;
  const bool bad = !e.problem.empty() || e.bad_bytes != 0 || e.error != 0;
  if (bad) t.errors++;
  else t.completed++;
  if (all || (bad && g_bad_lines < kMaxBadLines)) print_conn(e);
  if (bad && ++g_bad_lines == kMaxBadLines && !all)
    std::fprintf(stderr, "zcrx_tcp: more connections went wrong; CONN lines stop here\n");
}

void Progress::tick(double now, const Totals& t, uint64_t live) {
  if (quiet_ || now - last_ < 1.0) return;
  const double dt = now - last_;
  std::fprintf(stderr,
               "zcrx_tcp: %6.1fs live=%" PRIu64 " ended=%" PRIu64 " bytes=%" PRIu64
               " %7.3f Gbit/s bad=%" PRIu64 " errors=%" PRIu64 "\n",
               now - start_, live, t.ended, t.bytes,
               static_cast<double>(t.bytes - last_bytes_) * 8 / dt / 1e9, t.bad_bytes, t.errors);
  last_ = now;
  last_bytes_ = t.bytes;
}

void print_result(const Options& o, const Totals& t) {
  const double el = t.last_s > t.first_s ? t.last_s - t.first_s : 0;
  std::printf("RESULT {\"role\":\"%s\",\"connections\":%" PRIu64 ",\"expected\":%" PRIu64
              ",\"ended\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"errors\":%" PRIu64
              ",\"bad_bytes\":%" PRIu64 ",\"resets\":%" PRIu64
              ",\"elapsed_s\":%.6f,\"gbit_s\":%.6f,\"rearms\":%" PRIu64
              ",\"outstanding\":%" PRIu64 ",\"bad_offsets\":%" PRIu64
              ",\"paused_ms\":%.1f,\"paused_bytes\":%" PRIu64 ",\"refused\":%" PRIu64
              ",\"unexpected_bytes\":%" PRIu64 ",\"timed_out\":%s,\"fatal\":%d}\n",
              role_name(o.role), t.completed, t.expected, t.ended, t.bytes, t.errors,
              t.bad_bytes, t.resets, el,
              el > 0 ? static_cast<double>(t.bytes) * 8 / el / 1e9 : 0.0, t.rearms,
              t.outstanding(), t.bad_offsets, t.paused_ms, t.paused_bytes, t.refused,
              t.unexpected_bytes, t.timed_out ? "true" : "false", t.fatal);
  std::fflush(stdout);
}

}  // namespace zcrx_tcp
