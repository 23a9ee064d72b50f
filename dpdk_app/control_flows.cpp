// SPDX-License-Identifier: MIT
// Control ops on flows (OPEN_FLOW, CLOSE_FLOW: flow groups) and on the
// ring's wakeup eventfd.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "control.h"

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

bool is_eventfd(int fd) {
  char path[64], link[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof(link) - 1);
  if (n < 0) return false;
  link[n] = 0;
  return std::strcmp(link, "anon_inode:[eventfd]") == 0;
}

}  // namespace

int Control::op_open_flow(Session& s, const proto::OpenFlowReq& r, uint32_t* handle) {
  Ifq* entry = s.ctx->lookup(r.zcrx_id);
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
  if (!s.closing) republish(ring_queue(s));
  return 0;
}

int Control::op_register_eventfd(Session& s, int fd) {
  if (fd < 0) return -EBADF;
  if (!is_eventfd(fd)) return -EINVAL;
  if (s.eventfd >= 0) return -EBUSY;
  s.eventfd = dup(fd);
  if (s.eventfd < 0) return -errno;
  s.dp->set_eventfd(s.eventfd);
  return 0;
}

int Control::op_unregister_eventfd(Session& s) {
  if (s.eventfd < 0) return -ENXIO;
  s.dp->set_eventfd(-1);
  qs_->queue(ring_queue(s)).dp.synchronize();  // its datapath may be about to write it
  close(s.eventfd);
  s.eventfd = -1;
  return 0;
}

}  // namespace zcrxd
