// SPDX-License-Identifier: MIT
// TcpStack: local ports. The ephemeral choice of BIND to port 0, and
// CONNECT's source port steered to this queue by the port's RSS
// (rss_steer.h; docs/ARCHITECTURE.md "Steering on several queues").
#include <cerrno>

#include "tcp_stack.h"

namespace zcrxd {

namespace tcp = zcrx::tcp;

bool TcpStack::port_in_use(uint32_t addr, uint16_t port) const {
  for (uint32_t i = 0; i < n_tables_; i++)
    for (const TcpSocket& s : tables_[i]->socks)
      if (s.state != SockState::free && s.bound && s.bound_port == port &&
          (!s.bound_addr || !addr || s.bound_addr == addr))
        return true;
  return false;
}

uint16_t TcpStack::pick_port(uint32_t addr) {
  constexpr uint16_t kLo = 32768, kHi = 60999;
  for (uint32_t tries = 0; tries <= kHi - kLo; tries++) {
    if (next_port_ < kLo || next_port_ > kHi) next_port_ = kLo;
    const uint16_t p = next_port_++;
    if (!port_in_use(addr, p)) return p;
  }
  return 0;
}

int TcpStack::connect_steered(const tcp::FourTuple& tu, TcpConnState* cs, tcp::Conn** out) {
  const RssSteering* rss = cfg_.rss;
  if (!rss || !rss->steers) return engine_->connect(tu, cs, out, now_us_);
  // The engine's range (Linux's ip_local_port_range); a port bound by a
  // socket of ours is skipped as bind() would refuse it, a tuple the
  // engine still has (TIME-WAIT) by its -EADDRINUSE.
  constexpr uint16_t kLo = 32768, kHi = 60999;
  struct Ctx {
    const TcpStack* stack;
    uint32_t addr;
  } ctx{this, tu.local.addr};
  auto in_use = [](void* p, uint16_t port) {
    auto* c = static_cast<Ctx*>(p);
    return c->stack->port_in_use(c->addr, port);
  };
  const SteeredPorts ports(*rss, tu.remote.addr, tu.local.addr, tu.remote.port);
  uint16_t start = next_port_;
  for (uint32_t tries = 0; tries <= kHi - kLo; tries++) {
    const uint16_t p = pick_steered_port(ports, cfg_.tx_queue, kLo, kHi, start, in_use, &ctx);
    if (!p) break;
    tcp::FourTuple t = tu;
    t.local.port = p;
    const int rc = engine_->connect(t, cs, out, now_us_);
    start = static_cast<uint16_t>(p == kHi ? kLo : p + 1);
    if (rc != -EADDRINUSE) {
      if (rc == 0) next_port_ = start;
      return rc;
    }
  }
  // No port of the range lands here: what Linux answers when its
  // ephemeral range is exhausted.
  return -EADDRNOTAVAIL;
}

}  // namespace zcrxd
