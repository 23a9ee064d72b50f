// SPDX-License-Identifier: MIT
// tcp_peer: the kernel side of the TCP interoperability tests. Listens or
// connects, sends or verifies the tcp_pattern.h stream on K connections at
// once (or M in sequence, K at a time), and ends with RESULT {json}.
#include <signal.h>

#include <cstdio>

#include "tcp_peer_options.h"
#include "tcp_peer_run.h"

int main(int argc, char** argv) {
  const auto parsed = zcrx::tools::parse_peer_options(argc, argv);
  if (parsed.help) {
    std::fputs(zcrx::tools::peer_usage(), stdout);
    return 0;
  }
  if (!parsed.options) {
    std::fprintf(stderr, "tcp_peer: %s (see --help)\n", parsed.error.c_str());
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  zcrx::tools::PeerRun run(*parsed.options);
  return run.run();
}
