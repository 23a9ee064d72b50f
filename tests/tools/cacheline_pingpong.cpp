// SPDX-License-Identifier: MIT
// cacheline_pingpong: the round trip of one cache line between CPU 0 and
// CPU 1, printed beside every two-core measurement (on this kind of VM it
// switches between ~51 ns and ~340 ns as the host moves the virtual CPUs,
// and two-core throughput follows it). --help for the options.
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

alignas(64) std::atomic<uint64_t> g_ball{0};

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rounds = 200000;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--help")) {
      std::printf("usage: cacheline_pingpong [--rounds N]\n"
                  "Bounces one cache line between threads on CPU 0 and CPU 1 N times\n"
                  "(default 200000) and prints PINGPONG {\"round_trip_ns\":...}.\n");
      return 0;
    }
    if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::strtoull(argv[++i], nullptr, 0);
  }
  std::thread echo([rounds] {
    pin(1);
    // Acquire/release: each side waits for the other's store before
    // answering; the line itself is the only data.
    for (uint64_t r = 1; r <= rounds; r++) {
      while (g_ball.load(std::memory_order_acquire) != 2 * r - 1) {
      }
      g_ball.store(2 * r, std::memory_order_release);
    }
  });
  if (!pin(0)) {
    std::fprintf(stderr, "cacheline_pingpong: cannot pin to CPU 0\n");
    return 1;
  }
  const uint64_t start = now_ns();
  for (uint64_t r = 1; r <= rounds; r++) {
    g_ball.store(2 * r - 1, std::memory_order_release);
    while (g_ball.load(std::memory_order_acquire) != 2 * r) {
    }
  }
  const uint64_t ns = now_ns() - start;
  echo.join();
  std::printf("PINGPONG {\"round_trip_ns\":%.1f}\n", static_cast<double>(ns) / static_cast<double>(rounds));
  return 0;
}
