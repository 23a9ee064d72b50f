// SPDX-License-Identifier: MIT
// Control ops on flows (OPEN_FLOW, CLOSE_FLOW: flow groups) and on the
// ring's wakeup eventfd.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "control.h"
#include "eventfd_signal.h"

namespace zcrxd {

namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;
namespace core = zcrx::core;

namespace {

// A flow group's map key: the flow, then the real ifq it belongs to, so
// the same flow may be opened on several queues (flows are per ifq).
std::vector<uint8_t> key_bytes(const FlowKey& k, const Ifq* real) {
  std::vector<uint8_t> v(sizeof(k) + sizeof(real));
  std::memcpy(v.data(), &k, sizeof(k));
  std::memcpy(v.data() + sizeof(k), &real, sizeof(real));
  return v;
}


}  // namespace

int Control::op_open_flow(Session& s, const proto::OpenFlowReq& r, uint32_t* handle) {
  Ifq* entry = s.ctx->lookup(r.zcrx_id);
  // A device-less ifq (if_rxq -1) has no queue to deliver a flow: the
  // kernel has no errno for RECV_ZC there (its copy path serves any
  // socket), so -EINVAL, as for an ifq whose queue closed.
  if (!entry || entry->if_rxq() < 0) return -EINVAL;
  Ifq* real = &entry->target();
  if (real->if_rxq() < 0) return -EINVAL;
  FlowKey k;
  k.kind = static_cast<FlowKind>(r.kind);
  k.ip_version = r.ip_version;
  k.src_port = r.src_port;
  k.dst_port = r.dst_port;
  std::memcpy(k.src_addr, r.src_addr, 16);
  std::memcpy(k.dst_addr, r.dst_addr, 16);
  if (int rc = normalize(&k)) return rc;
  auto bytes = key_bytes(k, real);
  auto it = groups_.find(bytes);
  if (it != groups_.end()) {
    if (it->second.real != real) return -EEXIST;
    for (auto& [sess, h] : it->second.members)
      if (sess == &s) return -EEXIST;
  }
  uint32_t h = 0;
  while (h < kMaxFlowsPerRing && s.flows[h].open) h++;
  if (h == kMaxFlowsPerRing) return -EMFILE;
  Group& g = groups_[bytes];
  g.real = real;
  g.members.push_back({&s, h});
  s.flows[h] = {true, k, real};
  s.dp->set_flow(h, real);
  republish(ring_queue(s));
  *handle = h;
  return 0;
}

int Control::op_close_flow(Session& s, uint32_t h) {
  if (h >= kMaxFlowsPerRing || !s.flows[h].open) return -ENOENT;
  auto it = groups_.find(key_bytes(s.flows[h].key, s.flows[h].real));
  if (it != groups_.end()) {
    auto& m = it->second.members;
    for (size_t i = 0; i < m.size(); i++)
      if (m[i].first == &s && m[i].second == h) {
        m.erase(m.begin() + static_cast<long>(i));
        break;
      }
    if (m.empty()) groups_.erase(it);
  }
  s.flows[h] = {};
  if (s.dp) s.dp->set_flow(h, nullptr);
  if (!s.closing) {
    republish(ring_queue(s));
    // A request armed on the flow ends with a CQE that its SQ's poll
    // posts: a sleeping SQ is woken for it.
    wake_ring(s);
  }
  return 0;
}

int Control::op_register_eventfd(Session& s, int fd) {
  if (fd < 0) return -EBADF;
  if (s.eventfd) return -EBUSY;
  // The signaller holds its own reference to the eventfd (the consumer's
  // descriptor is closed after this call) and never blocks on it.
  if (int rc = EventfdSignal::open(fd, &s.eventfd)) {
    if (rc != -EINVAL)
      std::fprintf(stderr, "zcrxd: eventfd registration refused (%s): zcrxd signals eventfds "
                   "through io_uring (kernel.io_uring_disabled, seccomp?)\n", strerrorname_np(-rc));
    return rc;
  }
  s.dp->set_eventfd(s.eventfd.get());
  return 0;
}

int Control::op_unregister_eventfd(Session& s) {
  if (!s.eventfd) return -ENXIO;
  s.dp->set_eventfd(nullptr);
  qs_->queue(ring_queue(s)).dp.synchronize();  // its datapath may be about to signal it
  s.eventfd.reset();
  return 0;
}

}  // namespace zcrxd
