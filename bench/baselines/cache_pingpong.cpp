// SPDX-License-Identifier: MIT
// cache_pingpong: what moving one cache line between two CPUs costs right
// now. Two threads, pinned to the two CPUs, take turns writing one shared
// line: each waits for the other's value, then writes the next. One round
// trip is two line transfers. bench/run runs it beside every sample of a
// path that crosses cores, because on a virtual machine the host may move
// the virtual CPUs and that cost can change several-fold between samples.
//
//   cache_pingpong [--cpus A,B] [--rounds N] [--repeats R]
//
// R short runs of N round trips each; a run in which the scheduler took
// either thread off its CPU is slower, never faster, so the fastest run is
// the line's cost (rtt_ns) even on a loaded machine; the median and the
// slowest are printed beside it.
// Final line: RESULT {"rtt_ns": the fastest run, "rtt_ns_median",
// "rtt_ns_max", "rounds", "repeats", "cpus"}.
#include <getopt.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "bench_common.h"

namespace {

using namespace zcrx::bench;

struct alignas(64) Line {
  std::atomic<uint64_t> v{0};
};

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

constexpr uint64_t kStop = ~uint64_t{0};  // odd: tells the echo thread to end

/// The echo side: answers every odd value but kStop with the next even one.
void echo(Line& line, int cpu, std::atomic<bool>* pinned) {
  pinned->store(pin(cpu), std::memory_order_relaxed);
  for (;;) {
    uint64_t v;
    // acquire/release: each side's store is what the other waits for.
    while (((v = line.v.load(std::memory_order_acquire)) & 1) == 0) {
    }
    if (v == kStop) return;
    line.v.store(v + 1, std::memory_order_release);
  }
}

/// `rounds` round trips from the even value *v; ns per round trip.
double run_once(Line& line, uint64_t* v, uint64_t rounds) {
  const int64_t t0 = now_ns();
  for (uint64_t i = 0; i < rounds; i++) {
    line.v.store(*v + 1, std::memory_order_release);
    while (line.v.load(std::memory_order_acquire) != *v + 2) {
    }
    *v += 2;
  }
  return static_cast<double>(now_ns() - t0) / static_cast<double>(rounds);
}

void usage(FILE* f) {
  fprintf(f,
          "usage: cache_pingpong [--cpus A,B] [--rounds N] [--repeats R]\n"
          "Round-trip time of one cache line written in turn by two threads\n"
          "pinned to CPUs A and B (default 0,1): R timed runs (default 40) of N\n"
          "round trips (default 1000).\n"
          "Final line: RESULT {json}: rtt_ns (the fastest run's ns per round trip),\n"
          "rtt_ns_median, rtt_ns_max.\n");
}

}  // namespace

int main(int argc, char** argv) {
  int cpu_a = 0, cpu_b = 1;
  uint64_t rounds = 1000;
  unsigned repeats = 40;
  static const option opts[] = {{"cpus", required_argument, nullptr, 'c'},
                                {"rounds", required_argument, nullptr, 'n'},
                                {"repeats", required_argument, nullptr, 'r'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "", opts, nullptr)) != -1;) {
    switch (c) {
      case 'c':
        if (sscanf(optarg, "%d,%d", &cpu_a, &cpu_b) != 2 || cpu_a < 0 || cpu_b < 0 ||
            cpu_a == cpu_b) {
          fprintf(stderr, "cache_pingpong: --cpus wants two different CPUs, A,B\n");
          return 2;
        }
        break;
      case 'n':
        rounds = strtoull(optarg, nullptr, 10);
        break;
      case 'r':
        repeats = static_cast<unsigned>(strtoul(optarg, nullptr, 10));
        break;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (rounds == 0 || repeats == 0) {
    fprintf(stderr, "cache_pingpong: --rounds and --repeats must be > 0\n");
    return 2;
  }
  Line line;
  std::atomic<bool> echo_pinned{false};
  std::thread peer(echo, std::ref(line), cpu_b, &echo_pinned);
  const bool pinned = pin(cpu_a);
  uint64_t v = 0;
  run_once(line, &v, rounds);  // untimed: both threads up and the line warm
  std::vector<double> rtt;
  for (unsigned r = 0; r < repeats; r++) rtt.push_back(run_once(line, &v, rounds));
  line.v.store(kStop, std::memory_order_release);
  peer.join();
  if (!pinned || !echo_pinned.load(std::memory_order_relaxed)) {
    // Both on one CPU would measure the scheduler, not the line.
    fprintf(stderr, "cache_pingpong: cannot pin to CPUs %d and %d\n", cpu_a, cpu_b);
    return 1;
  }
  std::sort(rtt.begin(), rtt.end());
  char cpus[32];
  snprintf(cpus, sizeof cpus, "%d,%d", cpu_a, cpu_b);
  JsonLine j;
  j.num("rtt_ns", rtt.front()).num("rtt_ns_median", rtt[rtt.size() / 2]).num("rtt_ns_max", rtt.back());
  j.integer("rounds", rounds).integer("repeats", repeats).str("cpus", cpus);
  j.print();
  return 0;
}
