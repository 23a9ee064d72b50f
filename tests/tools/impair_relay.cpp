// SPDX-License-Identifier: MIT
// impair_relay: a userspace Ethernet bridge between two interfaces that
// drops, duplicates, reorders and delays frames per direction with a seed:
// the loss and reordering the tests need where the kernel has no netem.
// See relay_options.cpp (--help) for the options and docs/TESTING-TCP.md.
#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstdio>

#include "relay.h"
#include "relay_options.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  // Relaxed: the loop polls the flag; a signal handler may only touch
  // lock-free atomics, and nothing else is published with it.
  g_stop.store(true, std::memory_order_relaxed);
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = zcrx::tools::parse_relay_options(argc, argv);
  if (parsed.help) {
    std::fputs(zcrx::tools::relay_usage(), stdout);
    return 0;
  }
  if (!parsed.options) {
    std::fprintf(stderr, "impair_relay: %s (see --help)\n", parsed.error.c_str());
    return 2;
  }
  const auto& o = *parsed.options;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // Delays of tens of microseconds need a timer slack below the default 50 us.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

  std::string err;
  auto relay = zcrx::tools::Relay::open(o, &err);
  if (!relay) {
    std::fprintf(stderr, "impair_relay: %s\n", err.c_str());
    return 1;
  }
  std::printf("READY a=%s b=%s seed=%llu outgoing=%s\n", o.if_a.c_str(), o.if_b.c_str(),
              static_cast<unsigned long long>(o.seed),
              relay->kernel_ignores_outgoing() ? "ignored-by-kernel" : "skipped-by-relay");
  std::fflush(stdout);
  relay->run(g_stop);
  return 0;
}
