// SPDX-License-Identifier: MIT
#include "control.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "area_pool.h"
#include "inject.h"
#include "port.h"

namespace zcrxd {

namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;
namespace core = zcrx::core;

namespace {

constexpr int kHousekeepingMs = 100;

// A flow group's map key: the flow, then the real ifq it belongs to, so
// the same flow may be opened on several queues (flows are per ifq).
std::vector<uint8_t> key_bytes(const FlowKey& k, const Ifq* real) {
  std::vector<uint8_t> v(sizeof(k) + sizeof(real));
  std::memcpy(v.data(), &k, sizeof(k));
  std::memcpy(v.data() + sizeof(k), &real, sizeof(real));
  return v;
}

int make_memfd(const char* name, size_t size, void** map) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  // The consumer maps it too: it must not be able to shrink it under us.
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int e = -errno;
    close(fd);
    return e;
  }
  *map = p;
  return fd;
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

Control::Control(const Options& opt, Device& dev, const std::vector<ServedQueue*>& queues)
    : opt_(opt),
      dev_(dev),
      qs_(std::make_unique<QueueSet>(dev, queues, [this](uint32_t k) { republish(k); })),
      engine_(std::make_unique<core::Engine>(*qs_, *qs_)),
      polled_(queues.size(), false) {
  // A whole-port restart pauses every queue's datapath, and a deferred
  // start resumes the queues bound before it.
  dev_.set_pause_hook([this](bool) { republish_all(); });
}

void Control::sync_injector() {
  if (!injector_) return;
  // The injector transmits exactly while some queue is polled: it is
  // parked before a queue's datapath stops (bind, restart, close), so no
  // TX burst meets a stopped port, and what it sends is taken.
  for (bool rx : polled_)
    if (rx) {
      injector_->go();
      return;
    }
  injector_->pause();
}

Control::~Control() {
  teardown();
  dev_.set_pause_hook(nullptr);
  release_areas();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(opt_.socket_path.c_str());
  }
}

int Control::listen_socket() {
  const std::string& path = opt_.socket_path;
  // Create the parent directory (one level, as /run/zcrx or $XDG/zcrx).
  std::string dir = path.substr(0, path.find_last_of('/'));
  if (!dir.empty() && mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) {
    int e = errno;
    std::fprintf(stderr, "zcrxd: mkdir %s: %s\n", dir.c_str(), std::strerror(e));
    return -e;
  }
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path.c_str());
  // A socket file left by a daemon that died: remove it unless someone
  // still answers on it.
  int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    if (connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
      close(probe);
      close(fd);
      std::fprintf(stderr, "zcrxd: %s: another zcrxd is serving it\n", path.c_str());
      return -EADDRINUSE;
    }
    close(probe);
  }
  unlink(path.c_str());
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  umask(old);
  if (rc < 0 || chmod(path.c_str(), opt_.socket_mode) < 0) {
    int e = errno;
    std::fprintf(stderr, "zcrxd: bind %s: %s\n", path.c_str(), std::strerror(e));
    close(fd);
    return -e;
  }
  if (!opt_.socket_group.empty()) {
    group* g = getgrnam(opt_.socket_group.c_str());
    if (!g || chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) < 0) {
      std::fprintf(stderr, "zcrxd: socket group %s: %s\n", opt_.socket_group.c_str(),
                   g ? std::strerror(errno) : "no such group");
      close(fd);
      unlink(path.c_str());
      return -EINVAL;
    }
  }
  if (listen(fd, 64) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  listen_fd_ = fd;
  return 0;
}

// ---- datapath snapshot -------------------------------------------------------

void Control::republish_all() {
  for (uint32_t k = 0; k < qs_->size(); k++) republish(k);
}

void Control::republish(uint32_t k) {
  Provider& p = qs_->provider(k);
  auto s = std::make_unique<Snapshot>();
  for (auto& sess : sessions_)
    if (sess->dp && !sess->closing && ring_queue(*sess) == k) s->rings.push_back(sess->dp.get());
  s->real = p.bound();
  s->pool = p.pool();
  s->copy = p.copy_mode();  // the loop picks its delivery path per snapshot
  // Polled only while bound and the port runs (not paused for a restart,
  // not waiting for the other queues' areas).
  s->rx = p.bound() != nullptr && qs_->queue(k).port.started();
  std::vector<std::pair<FlowKey, uint32_t>> keys;
  for (auto& [bytes, g] : groups_) {
    if (!s->real || g.real != s->real) continue;  // not on the bound queue
    FlowGroupDp dg;
    for (auto& [sess, h] : g.members)
      if (!sess->closing) dg.members.push_back({sess->dp.get(), h});
    if (dg.members.empty()) continue;
    FlowKey k;
    std::memcpy(&k, bytes.data(), sizeof(k));
    keys.push_back({k, static_cast<uint32_t>(s->groups.size())});
    s->groups.push_back(std::move(dg));
  }
  s->flows = FlowTable(keys);
  polled_[k] = s->rx;
  qs_->queue(k).dp.publish(std::move(s));
  sync_injector();
}

void Control::assign_ring(Session& s, int k) {
  uint32_t from = ring_queue(s);
  s.queue = k;
  uint32_t to = ring_queue(s);
  if (from == to || !s.dp) return;
  // One CQ, one producer: the old datapath lets go (publish waits for its
  // quiescent point) before the new one may touch the ring.
  republish(from);
  republish(to);
}

int Control::check_ring_queue(const Session& s, int k, const char* what) {
  if (k < 0 || s.queue < 0 || s.queue == k) return 0;
  std::fprintf(stderr,
               "zcrxd: %s on rx queue %u refused (-EOPNOTSUPP): the ring's entries are on "
               "rx queue %u, and one ring has one CQ producer\n",
               what, qs_->queue(static_cast<uint32_t>(k)).port.queue(),
               qs_->queue(static_cast<uint32_t>(s.queue)).port.queue());
  return -EOPNOTSUPP;
}

void Control::take_closed_pools() {
  for (uint32_t k = 0; k < qs_->size(); k++)
    if (AreaPool* p = qs_->provider(k).take_closed()) retire_pool(p);
}

// ---- sessions ------------------------------------------------------------------

void Control::accept_session() {
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  auto s = std::make_unique<Session>();
  s->sock = fd;
  sessions_.push_back(std::move(s));
  sessions_total_++;
}

void Control::close_session(Session& s) {
  // 1. Out of the datapath: its ring and flows, then a quiescent point.
  s.closing = true;
  for (uint32_t h = 0; h < kMaxFlowsPerRing; h++)
    if (s.flows[h].open) op_close_flow(s, h);
  republish(ring_queue(s));
  // 2. The kernel's ring teardown (may close and scrub the queue).
  if (s.ctx) engine_->terminate_ctx(s.ctx);
  s.ctx = nullptr;
  take_closed_pools();
  // 3. Every entry of the ring left the datapath: unmap what it used.
  for (Mapped& m : s.rqs) munmap(m.base, m.len);
  s.rqs.clear();
  s.events.reset();
  s.dp.reset();
  if (s.ring.base) munmap(s.ring.base, s.ring.len);
  if (s.ring_fd >= 0) close(s.ring_fd);
  if (s.eventfd >= 0) close(s.eventfd);
  if (s.sock >= 0) close(s.sock);
  s.sock = -1;
}

void Control::release_export(Export& e) {
  engine_->release_box(e.box);
  e.box = nullptr;
  take_closed_pools();
  close(e.our_end);
  e.our_end = -1;
}

void Control::retire_pool(AreaPool* pool) {
  for (auto& a : areas_)
    if (a->pool.get() == pool) a->real = nullptr;
}

void Control::housekeeping() {
  // Areas whose queue closed: free them once every buffer is back (scrub
  // returned what users held; the PMD gave back the rest on rebind).
  for (size_t i = 0; i < areas_.size();) {
    AreaRec& a = *areas_[i];
    // A queue left unpolled may still point at the pool (see port.h).
    if (a.real == nullptr && a.pool && a.pool->full() && !dev_.uses_pool(a.pool->pool())) {
      a.pool.reset();
      munmap(a.map.base, a.map.len);
      close(a.fd);
      areas_.erase(areas_.begin() + static_cast<long>(i));
      continue;
    }
    i++;
  }
  for (auto& s : sessions_) {
    if (s->dp && s->dp->broken() && !s->reported_broken) {
      s->reported_broken = true;
      std::fprintf(stderr, "zcrxd: a consumer corrupted its ring indices; ring no longer served\n");
    }
  }
}

// ---- ops ---------------------------------------------------------------------

int Control::op_create_ring(Session& s, const proto::CreateRingReq& r,
                            proto::CreateRingReply* out, int* fd_out) {
  if (s.ctx) return -EEXIST;
  uint32_t sq = zcrx::round_ring_entries(r.sq_entries, zcrx::kMaxSqEntries);
  uint32_t cq = r.cq_entries ? zcrx::round_ring_entries(r.cq_entries, zcrx::kMaxCqEntries)
                             : 2 * sq;
  if (!sq || !cq || cq < sq || cq > zcrx::kMaxCqEntries) return -EINVAL;
  zcrx::RingRegionLayout l = zcrx::ring_region_layout(sq, cq);
  void* map = nullptr;
  int fd = make_memfd("zcrx-ring", l.size, &map);
  if (fd < 0) return fd;
  zcrx::init_ring_region(map, l);
  struct stat st {};
  fstat(fd, &st);
  s.ring_fd = fd;
  s.ring = {map, l.size};
  s.layout = l;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.dp = std::make_unique<RingDp>(map, l);
  // Events of the ifqs this ring becomes master of go to its own CQ.
  s.events = std::make_unique<RingEvents>(*s.dp);
  s.ctx = engine_->create_ctx(s.events.get());
  republish(ring_queue(s));
  *out = {};
  out->sq_off = l.sq_off;
  out->cq_off = l.cq_off;
  out->sqes_off = l.sqes_off;
  out->sq_entries = l.sq_entries;
  out->cq_entries = l.cq_entries;
  out->size = l.size;
  *fd_out = fd;
  return 0;
}

int Control::make_rq_region(Session& s, const zcrx::RqRegionLayout& l, int* fd_out,
                            core::Mapping* m) {
  void* map = nullptr;
  int fd = make_memfd("zcrx-rq", l.size, &map);
  if (fd < 0) return fd;
  s.rqs.push_back({map, l.size});
  *m = {map, l.size};
  *fd_out = fd;
  return 0;
}

void Control::publish_entry(Session& s, uint32_t zcrx_id) {
  Ifq* e = s.ctx->lookup(zcrx_id);
  if (e) s.dp->set_entry(zcrx_id, e, &e->target());
}

int Control::register_fresh(Session& s, proto::RegisterIfqReq& r, int fd,
                            proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return -EINVAL;
  const uint64_t off = r.area.addr, len = r.area.len;
  if (off > static_cast<uint64_t>(st.st_size) || len > static_cast<uint64_t>(st.st_size) - off)
    return -EFAULT;
  // The engine sees our mapping as the area's address (it is the kernel
  // here: area.addr is a pointer in its address space).
  r.reg.if_idx = r.port;
  uapi::io_uring_zcrx_area_reg area = r.area;
  uint32_t buf_len = r.reg.rx_buf_len ? r.reg.rx_buf_len : core::kDefaultRxBufLen;
  // A plausible non-zero address for validation before we map anything.
  area.addr = 1ull << 30;
  zcrx::RqRegionLayout rq{};
  // The descriptor travels by value in the request (proto.h); a non-zero
  // reg.event_desc says it is there.
  const uapi::zcrx_event_desc* ev = r.reg.event_desc ? &r.event : nullptr;
  if (int rc = engine_->check_ifq_reg(r.reg, area, &rq, ev)) return rc;
  // The queue's index among the served ones (-1: the binder refuses it).
  const int k = r.port == dev_.id() ? qs_->index_of(static_cast<int32_t>(r.reg.if_rxq)) : -1;
  if (int rc = check_ring_queue(s, k, "an ifq registration")) return rc;
  // The PMD writes into the area and zcrxd reads nothing else: a consumer
  // that shrank the file under us would fault zcrxd (SIGBUS). Only an area
  // sealed against shrinking is accepted (memfd_create(MFD_ALLOW_SEALING);
  // zcrxd adds the seal itself).
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || !(seals & F_SEAL_SHRINK)) return -EINVAL;
  void* map = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   static_cast<off_t>(off));
  if (map == MAP_FAILED) return -ENOMEM;
  area.addr = reinterpret_cast<uint64_t>(map);
  int err = 0;
  uint32_t id = next_area_id_++;
  int dma_port = dev_.needs_dma_map() ? dev_.id() : -1;
  std::unique_ptr<AreaPool> pool =
      AreaPool::create(map, len, buf_len, id, dev_.socket(), dma_port, &err);
  if (!pool) {
    munmap(map, len);
    return err ? err : -ENOMEM;
  }
  int rq_fd = -1;
  core::Mapping rq_map;
  if (int rc = make_rq_region(s, rq, &rq_fd, &rq_map)) {
    munmap(map, len);
    return rc;
  }
  // The ring's datapath becomes the queue's before the queue delivers.
  const int ring_had = s.queue;
  if (k >= 0) {
    assign_ring(s, k);
    qs_->provider(static_cast<uint32_t>(k)).stage(pool.get());
  }
  // rq_map is the whole mapped region (rq.size bytes), so a stats block
  // at proto::stats_offset() past the RQEs is accepted.
  int rc = engine_->register_ifq(s.ctx, r.reg, area, {map, len}, rq_map, ev);
  bool unused = k >= 0 && qs_->provider(static_cast<uint32_t>(k)).unstage();
  if (unused || rc) {
    // Not bound (validation failed, or the queue refused): undo. A pool the
    // engine bound and then closed again went through close_queue.
    if (k >= 0) (void)qs_->provider(static_cast<uint32_t>(k)).take_closed();
    assign_ring(s, ring_had);
    pool.reset();
    munmap(map, len);
    munmap(rq_map.base, rq_map.len);
    s.rqs.pop_back();
    close(rq_fd);
    return rc ? rc : -ENOMEM;
  }
  auto rec = std::make_unique<AreaRec>();
  rec->fd = dup(fd);
  rec->offset = off;
  rec->map = {map, len};
  rec->pool = std::move(pool);
  rec->real = s.ctx->lookup(r.reg.zcrx_id);
  areas_.push_back(std::move(rec));
  publish_entry(s, r.reg.zcrx_id);
  out->reg = r.reg;
  out->reg.if_idx = 0;
  out->reg.rx_buf_len = buf_len;
  out->area = r.area;
  out->area.rq_area_token = area.rq_area_token;
  out->rq_region_size = rq.size;
  fds_out[0] = rq_fd;
  *nfds = 1;
  return 0;
}

int Control::register_shared(Session& s, proto::RegisterIfqReq& r, int fd,
                             proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  struct stat st {};
  if (fstat(fd, &st) < 0) return -EBADF;
  Session* src = nullptr;
  Export* exp = nullptr;
  for (auto& o : sessions_)
    if (o->ctx && !o->closing && o->ring_fd >= 0 && o->dev == st.st_dev && o->ino == st.st_ino)
      src = o.get();
  for (auto& e : exports_)
    if (e->box && e->dev == st.st_dev && e->ino == st.st_ino) exp = e.get();
  if (!src && !exp) return -EBADF;
  zcrx::RqRegionLayout rq{};
  int rc = src ? engine_->clone_rq_layout(s.ctx, src->ctx, r.reg.if_rxq, &rq)
               : engine_->import_rq_layout(exp->box, &rq);
  if (rc) return rc;
  // The queue the new entry will receive from: the source entry's.
  int32_t rxq = -1;
  if (src) {
    if (Ifq* e = src->ctx->lookup(r.reg.if_rxq)) rxq = e->target().if_rxq();
  } else if (Ifq* real = core::Engine::box_ifq(exp->box)) {
    rxq = real->if_rxq();
  }
  const int k = qs_->index_of(rxq);
  if ((rc = check_ring_queue(s, k, src ? "a clone" : "an import"))) return rc;
  int rq_fd = -1;
  core::Mapping rq_map;
  if ((rc = make_rq_region(s, rq, &rq_fd, &rq_map))) return rc;
  const int ring_had = s.queue;
  if (k >= 0) assign_ring(s, k);
  r.reg.if_idx = 0;
  rc = src ? engine_->clone_ifq(s.ctx, r.reg, src->ctx, rq_map)
           : engine_->import_ifq(s.ctx, r.reg, exp->box, rq_map);
  take_closed_pools();
  if (rc) {
    assign_ring(s, ring_had);
    munmap(rq_map.base, rq_map.len);
    s.rqs.pop_back();
    close(rq_fd);
    return rc;
  }
  Ifq* e = s.ctx->lookup(r.reg.zcrx_id);
  AreaRec* area = nullptr;
  for (auto& a : areas_)
    if (e && a->real == &e->target()) area = a.get();
  int ro = -1;
  if (area) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", area->fd);
    ro = open(path, O_RDONLY | O_CLOEXEC);  // a new read-only description
  }
  if (ro < 0) {
    // The entry exists (the engine's state is the kernel's); the consumer
    // can still refill but cannot read: report it as the area missing.
    close(rq_fd);
    publish_entry(s, r.reg.zcrx_id);
    return -ENODEV;
  }
  publish_entry(s, r.reg.zcrx_id);
  out->reg = r.reg;
  out->reg.rx_buf_len = area->pool ? 1u << area->pool->niov_shift() : 0;
  out->area = {};
  out->area.addr = area->offset;
  out->area.len = area->map.len;
  out->area.rq_area_token = e->area() ? e->area()->token() : 0;
  out->rq_region_size = rq.size;
  fds_out[0] = rq_fd;
  fds_out[1] = ro;
  *nfds = 2;
  return 0;
}

int Control::op_register_ifq(Session& s, proto::RegisterIfqReq r, int fd,
                             proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  if (fd < 0) return -EBADF;
  return r.reg.flags == 0 ? register_fresh(s, r, fd, out, fds_out, nfds)
                          : register_shared(s, r, fd, out, fds_out, nfds);
}

int Control::op_export(Session& s, const uapi::zcrx_ctrl& c, int* fd_out) {
  core::ExportBox* box = nullptr;
  int rc = engine_->export_ifq(s.ctx, c, &box);
  if (rc) return rc;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    rc = -errno;
    engine_->release_box(box);
    return rc;
  }
  struct stat st {};
  fstat(sv[1], &st);
  auto e = std::make_unique<Export>();
  e->our_end = sv[0];
  e->dev = st.st_dev;
  e->ino = st.st_ino;
  e->box = box;
  exports_.push_back(std::move(e));
  *fd_out = sv[1];  // closed by the caller once sent
  return 0;
}

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

// ---- message dispatch ------------------------------------------------------------

void Control::handle_message(Session& s) {
  alignas(8) uint8_t buf[proto::kMaxMsgSize + 8];
  proto::RecvdMsg m;
  int rc = proto::recv_msg(s.sock, buf, sizeof(buf), m, proto::kMaxFds, MSG_DONTWAIT);
  if (rc == -EAGAIN || rc == -EINTR) return;
  if (rc < 0 || m.len == 0) {
    proto::close_fds(m);
    close_session(s);
    return;
  }
  proto::MsgHeader hdr{};
  int result = (m.truncated || m.ctrunc) ? -EINVAL : proto::validate_request(buf, m.len, &hdr);
  if (m.len < sizeof(proto::MsgHeader)) {
    // Not even a header: nothing to answer to.
    proto::close_fds(m);
    close_session(s);
    return;
  }
  std::memcpy(&hdr, buf, sizeof(hdr));
  const uint8_t* body = buf + sizeof(proto::MsgHeader);
  alignas(8) uint8_t reply[proto::kMaxMsgSize];
  size_t body_len = 0;
  int fds[proto::kMaxFds] = {-1, -1};
  unsigned nfds = 0;
  int in_fd = m.nfds ? m.fds[0] : -1;
  if (result == 0 && hdr.op != proto::kOpCreateRing && !s.ctx) result = -EBADFD;
  if (result == 0) {
    uint8_t* out = reply + sizeof(proto::ReplyHeader);
    switch (hdr.op) {
      case proto::kOpCreateRing: {
        proto::CreateRingReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::CreateRingReply o;
        result = op_create_ring(s, r, &o, &fds[0]);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
          nfds = 1;
        }
        break;
      }
      case proto::kOpRegisterIfq: {
        proto::RegisterIfqReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::RegisterIfqReply o{};
        result = op_register_ifq(s, r, in_fd, &o, fds, &nfds);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
        }
        break;
      }
      case proto::kOpExport: {
        proto::CtrlReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_export(s, r.ctrl, &fds[0]);
        if (result == 0) nfds = 1;
        break;
      }
      case proto::kOpCtrl: {
        proto::CtrlReq r;
        std::memcpy(&r, body, sizeof(r));
        result = engine_->ctrl(s.ctx, r.ctrl);
        break;
      }
      case proto::kOpOpenFlow: {
        proto::OpenFlowReq r;
        std::memcpy(&r, body, sizeof(r));
        proto::OpenFlowReply o{};
        result = op_open_flow(s, r, &o.handle);
        if (result == 0) {
          std::memcpy(out, &o, sizeof(o));
          body_len = sizeof(o);
        }
        break;
      }
      case proto::kOpCloseFlow: {
        proto::CloseFlowReq r;
        std::memcpy(&r, body, sizeof(r));
        result = op_close_flow(s, r.handle);
        break;
      }
      case proto::kOpRegisterEventfd:
        result = op_register_eventfd(s, in_fd);
        break;
      case proto::kOpUnregisterEventfd:
        result = op_unregister_eventfd(s);
        break;
      default:
        result = -EINVAL;
    }
  }
  // What the consumer passed is ours to close: an export fd kept open here
  // would keep its box alive forever.
  proto::close_fds(m);
  if (result < 0) {
    body_len = 0;
    for (unsigned i = 0; i < nfds; i++) close(fds[i]);
    nfds = 0;
  }
  proto::ReplyHeader rh = proto::make_reply_header(hdr, result, body_len);
  std::memcpy(reply, &rh, sizeof(rh));
  proto::send_msg(s.sock, reply, rh.hdr.len, fds, nfds);
  // Ring region fds stay open (they name the ring); the rest were copies
  // for the consumer.
  for (unsigned i = 0; i < nfds; i++)
    if (fds[i] != s.ring_fd) close(fds[i]);
}

// ---- loop ----------------------------------------------------------------------

uint64_t Control::outstanding(uint32_t k) const {
  const DpStats& st = qs_->queue(k).stats;
  uint64_t delivered = st.delivered.get();
  uint64_t back = st.returned.get() + st.reclaimed.load(std::memory_order_relaxed);
  return delivered >= back ? delivered - back : 0;
}

uint64_t Control::outstanding() const {
  uint64_t sum = 0;
  for (uint32_t k = 0; k < qs_->size(); k++) sum += outstanding(k);
  return sum;
}

std::string Control::outstanding_per_queue() const {
  std::string s;
  for (uint32_t k = 0; k < qs_->size(); k++) {
    if (k) s += ',';
    s += std::to_string(qs_->queue(k).port.queue()) + ':' + std::to_string(outstanding(k));
  }
  return s;
}

void Control::print_counters(const char* tag, int queue, const char* mode, const DpStats& st,
                             uint64_t outstanding, uint32_t armed, size_t rings) {
  // Cumulative datapath cycles: busy ones are those of iterations that
  // did work, so CPU cost can be compared with receivers that sleep.
  uint64_t busy = st.busy_cycles.get();
  uint64_t total = st.total_cycles.get();
  char q[24] = "";
  if (queue >= 0) std::snprintf(q, sizeof(q), " queue=%d", queue);
  std::printf("zcrxd: %s%s rx=%" PRIu64 " delivered=%" PRIu64 " bytes=%" PRIu64
              " copied=%" PRIu64 " copied_bytes=%" PRIu64
              " dropped_no_flow=%" PRIu64 " dropped_no_buffers=%" PRIu64
              " dropped_empty=%" PRIu64 " dropped_bad_len=%" PRIu64 " cq_full=%" PRIu64
              " refilled=%" PRIu64
              " returned=%" PRIu64 " reclaimed=%" PRIu64 " outstanding=%" PRIu64 " armed=%u rings=%zu"
              " busy_cycles=%" PRIu64 " total_cycles=%" PRIu64 " busy_pct=%.1f tsc_hz=%" PRIu64
              " mode=%s\n",
              tag, q, st.rx.get(), st.delivered.get(), st.delivered_bytes.get(),
              st.copied.get(), st.copied_bytes.get(),
              st.dropped_no_flow.get(), st.dropped_no_buffers.get(),
              st.dropped_empty.get(), st.dropped_bad_len.get(), st.cq_full.get(),
              st.refilled.get(),
              st.returned.get(), st.reclaimed.load(std::memory_order_relaxed),
              outstanding, armed, rings, busy, total,
              total ? 100.0 * static_cast<double>(busy) / static_cast<double>(total) : 0.0,
              rte_get_tsc_hz(), mode);
}

namespace {

void add_counter(Counter& to, const Counter& from) { to.add(from.get()); }

// The sum of every queue's counters, for the all-queue line.
void add_stats(DpStats& to, const DpStats& from) {
  add_counter(to.rx, from.rx);
  add_counter(to.delivered, from.delivered);
  add_counter(to.delivered_bytes, from.delivered_bytes);
  add_counter(to.packets_delivered, from.packets_delivered);
  add_counter(to.copied, from.copied);
  add_counter(to.copied_bytes, from.copied_bytes);
  add_counter(to.packets_copied, from.packets_copied);
  add_counter(to.dropped_no_flow, from.dropped_no_flow);
  add_counter(to.dropped_no_buffers, from.dropped_no_buffers);
  add_counter(to.dropped_empty, from.dropped_empty);
  add_counter(to.dropped_bad_len, from.dropped_bad_len);
  add_counter(to.cq_full, from.cq_full);
  add_counter(to.refilled, from.refilled);
  add_counter(to.returned, from.returned);
  add_counter(to.sqes, from.sqes);
  add_counter(to.loops, from.loops);
  add_counter(to.rx_polls_gated, from.rx_polls_gated);
  add_counter(to.busy_cycles, from.busy_cycles);
  add_counter(to.total_cycles, from.total_cycles);
  // relaxed: statistics.
  to.reclaimed.fetch_add(from.reclaimed.load(std::memory_order_relaxed),
                         std::memory_order_relaxed);
}

}  // namespace

void Control::print_stats(const char* tag) {
  DpStats sum;
  uint32_t armed = 0;
  uint32_t copying = 0;  // queues served in copy mode
  for (uint32_t k = 0; k < qs_->size(); k++) {
    ServedQueue& q = qs_->queue(k);
    const bool copy = qs_->provider(k).copy_mode();
    copying += copy;
    add_stats(sum, q.stats);
    armed += q.dp.armed();
    if (qs_->size() > 1) {
      size_t rings = 0;  // the rings this queue's datapath serves
      for (auto& s : sessions_) rings += s->dp && !s->closing && ring_queue(*s) == k;
      print_counters(tag, q.port.queue(), copy ? "copy" : "zero-copy", q.stats, outstanding(k),
                     q.dp.armed(), rings);
    }
  }
  const char* mode = copying == 0 ? "zero-copy" : copying == qs_->size() ? "copy" : "mixed";
  print_counters(tag, -1, mode, sum, outstanding(), armed, sessions_.size());
  if (injector_)
    std::printf("zcrxd: %s inject injected=%" PRIu64 " waits=%" PRIu64 " loops=%" PRIu64
                " frames_per_loop=%zu\n",
                tag, injector_->injected(), injector_->waits(), injector_->loops_done(),
                injector_->frames());
  // What the device itself could not place (no free niov, ring full).
  rte_eth_stats es{};
  if (rte_eth_stats_get(dev_.id(), &es) == 0 && (es.rx_nombuf || es.imissed))
    std::printf("zcrxd: device(%s) rx_nombuf=%" PRIu64 " imissed=%" PRIu64 "\n", tag,
                es.rx_nombuf, es.imissed);
  std::fflush(stdout);
}

void Control::run(int signal_fd, void (*stop_datapath)(void*), void* arg) {
  using clock = std::chrono::steady_clock;
  auto next_stats = clock::now() + std::chrono::seconds(opt_.stats_seconds);
  std::vector<pollfd> pfds;
  for (;;) {
    pfds.clear();
    pfds.push_back({signal_fd, POLLIN, 0});
    pfds.push_back({listen_fd_, POLLIN, 0});
    for (auto& s : sessions_) pfds.push_back({s->sock, POLLIN, 0});
    for (auto& e : exports_) pfds.push_back({e->our_end, POLLRDHUP, 0});
    int n = poll(pfds.data(), pfds.size(), kHousekeepingMs);
    if (n < 0 && errno != EINTR) break;
    if (pfds[0].revents) {
      signalfd_siginfo si;
      if (read(signal_fd, &si, sizeof(si)) > 0) break;
    }
    if (pfds[1].revents & POLLIN) accept_session();
    size_t i = 2;
    size_t nsess = pfds.size() - 2 - exports_.size();
    for (size_t k = 0; k < nsess; k++, i++) {
      Session& s = *sessions_[k];
      if (pfds[i].revents & POLLIN) handle_message(s);
      else if (pfds[i].revents & (POLLHUP | POLLERR)) close_session(s);
    }
    for (size_t k = 0; k < exports_.size() && i < pfds.size(); k++, i++) {
      // Every copy of the exported descriptor is closed: the box goes.
      if (pfds[i].revents & (POLLHUP | POLLRDHUP | POLLERR)) release_export(*exports_[k]);
    }
    // Reap what closed.
    for (size_t k = 0; k < sessions_.size();)
      if (sessions_[k]->sock < 0) sessions_.erase(sessions_.begin() + static_cast<long>(k));
      else k++;
    for (size_t k = 0; k < exports_.size();)
      if (!exports_[k]->box) exports_.erase(exports_.begin() + static_cast<long>(k));
      else k++;
    housekeeping();
    if (opt_.stats_seconds && clock::now() >= next_stats) {
      print_stats("stats");
      next_stats += std::chrono::seconds(opt_.stats_seconds);
    }
  }
  stop_datapath(arg);
  // What consumers still held when we stopped; the teardown that follows
  // reclaims it, so the final line balances (outstanding 0).
  std::printf("zcrxd: stopping held_by_consumers=%" PRIu64 " rings=%zu\n", outstanding(),
              sessions_.size());
  teardown();
  print_stats("final");
}

void Control::teardown() {
  for (auto& s : sessions_)
    if (s->sock >= 0) close_session(*s);
  sessions_.clear();
  for (auto& e : exports_)
    if (e->box) release_export(*e);
  exports_.clear();
  housekeeping();
}

int Control::release_areas() {
  // After the port closed: whatever the PMD cached is back too.
  housekeeping();
  int missing = 0;
  for (auto& a : areas_) {
    if (a->pool && !a->pool->full()) {
      missing += static_cast<int>(a->pool->num_niovs() - a->pool->available());
      std::fprintf(stderr, "zcrxd: area %p: %u buffers never came back\n", a->map.base,
                   a->pool->num_niovs() - a->pool->available());
    }
    a->pool.reset();
    munmap(a->map.base, a->map.len);
    close(a->fd);
  }
  areas_.clear();
  return missing;
}

}  // namespace zcrxd
