// SPDX-License-Identifier: MIT
// zcrx_tcp: TCP through zcrxd's TCP endpoint. --listen: accept connections
// and receive them zero-copy (RECV_ZC on each socket), every byte checked
// against tests/tools/tcp_pattern.h; --connect: send that stream from the
// ring's TX region. Progress once a second, CONN lines for connections
// that went wrong, a final `RESULT {json}` line.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "client.h"
#include "common.h"
#include "options.h"
#include "server.h"
#include "zcrx/client.h"

namespace zcrx_tcp {
namespace {

constexpr int kExitNoTcp = 77;

void on_signal(int) { g_stop = 1; }

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int fail(const char* what, int err) {
  if (err == -EAFNOSUPPORT) {
    // zcrxd serves no TCP address (it runs without --ip, or predates TCP).
    std::fprintf(stderr, "zcrx_tcp: zcrxd has no TCP endpoint (%s: %s)\n", what,
                 std::strerror(-err));
    return kExitNoTcp;
  }
  std::fprintf(stderr, "zcrx_tcp: %s: %s\n", what, std::strerror(-err));
  return 2;
}

int run(const Options& o) {
  install_signals();
  zcrx::Ring ring;
  if (int r = ring.connect(o.socket.empty() ? nullptr : o.socket.c_str()))
    return fail("connect to zcrxd", r);
  if (int r = ring.create(o.sq_entries, o.cq_entries)) return fail("create ring", r);
  zcrx::IfqParams p;
  p.port = o.port;
  p.queue = o.queue;
  p.rq_entries = o.rq_entries;
  p.area_len = static_cast<size_t>(o.area_mb) << 20;
  p.rx_buf_len = o.rx_buf_len;
  zcrx::Ifq* ifq = nullptr;
  if (int id = ring.register_ifq(p, &ifq); id < 0) return fail("register ifq", id);
  if (o.wait != Wait::busy_poll) {
    if (int r = ring.enable_eventfd()) return fail("register eventfd", r);
    ring.set_spin_ns(int64_t{o.spin_us} * 1000);
  }
  Totals t;
  int r;
  if (o.role == Role::server) {
    r = run_server(ring, *ifq, o, t);
    if (r < 0) return fail("listen (SOCKET, BIND, LISTEN)", r);
  } else {
    // One SEND slot per connection.
    const size_t tx = size_t{o.connections} * o.chunk_kb * 1024u;
    if ((r = ring.register_tx_region(tx)) != 0) return fail("register TX region", r);
    r = run_client(ring, *ifq, o, t);
    if (r < 0) return fail("SOCKET", r);
  }
  print_result(o, t);
  if (t.fatal) std::fprintf(stderr, "zcrx_tcp: stopped early: %s\n", std::strerror(-t.fatal));
  if (t.timed_out) std::fprintf(stderr, "zcrx_tcp: timed out after %.1f s\n", o.timeout_s);
  return t.ok() ? 0 : 1;
}

}  // namespace
}  // namespace zcrx_tcp

int main(int argc, char** argv) {
  zcrx_tcp::Options o;
  int r = zcrx_tcp::parse_options(argc, argv, o);
  if (r > 0) return 0;
  if (r < 0) return 2;
  return zcrx_tcp::run(o);
}
