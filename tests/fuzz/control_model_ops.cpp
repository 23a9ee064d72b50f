// SPDX-License-Identifier: MIT
// ControlModel's ops that create shared memory, as control_register.cpp
// maps them onto the engine: CREATE_RING, REGISTER_IFQ (register, clone,
// import), EXPORT.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "area_memfd.h"
#include "control_model.h"

namespace zcrx::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_control_proto";

// zcrxd's make_memfd; `map` null: the memfd only (a ring region this model
// never reads).
int make_memfd(const char* name, size_t size, void** map) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
    const int e = -errno;
    close(fd);
    return e;
  }
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  if (!map) return fd;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    const int e = -errno;
    close(fd);
    return e;
  }
  *map = p;
  return fd;
}

// QueueSet::index_of for port 0's queues 0..kQueues-1.
int queue_index(uint32_t port, int64_t rxq) {
  return port == 0 && rxq >= 0 && rxq < kQueues ? static_cast<int>(rxq) : -1;
}

}  // namespace

int ControlModel::op_create_ring(Session& s, const proto::CreateRingReq& r,
                                 proto::CreateRingReply* out, int* fd_out) {
  if (s.ctx) return -EEXIST;
  const uint32_t sq = zcrx::round_ring_entries(r.sq_entries, zcrx::kMaxSqEntries);
  const uint32_t cq =
      r.cq_entries ? zcrx::round_ring_entries(r.cq_entries, zcrx::kMaxCqEntries) : 2 * sq;
  if (!sq || !cq || cq < sq || cq > zcrx::kMaxCqEntries) return -EINVAL;
  const zcrx::RingRegionLayout l = zcrx::ring_region_layout(sq, cq);
  if (int rc = limits_.take_region(s.uid, l.size)) return rc;
  const int fd = make_memfd("zcrx-ring", l.size, nullptr);
  if (fd < 0) {
    limits_.put_region(s.uid, l.size);
    return fd;
  }
  s.region_bytes += l.size;
  struct stat st {};
  fstat(fd, &st);
  s.ring_fd = fd;
  s.layout = l;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.events = std::make_unique<Events>();
  s.ctx = engine_->create_ctx(s.events.get());
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

int ControlModel::make_rq_region(Session& s, const zcrx::RqRegionLayout& l, int* fd_out,
                                 core::Mapping* m) {
  if (int rc = limits_.take_region(s.uid, l.size)) return rc;
  void* map = nullptr;
  const int fd = make_memfd("zcrx-rq", l.size, &map);
  if (fd < 0) {
    limits_.put_region(s.uid, l.size);
    return fd;
  }
  s.region_bytes += l.size;
  s.rqs.push_back({map, l.size});
  *m = {map, l.size};
  *fd_out = fd;
  return 0;
}

void ControlModel::drop_rq_region(Session& s) {
  const Mapped m = s.rqs.back();
  s.rqs.pop_back();
  munmap(m.base, m.len);
  limits_.put_region(s.uid, m.len);
  s.region_bytes -= m.len;
}

int ControlModel::check_ring_queue(const Session& s, int k) const {
  if (k < 0 || s.queue < 0 || s.queue == k) return 0;
  return -EOPNOTSUPP;
}

uid_t ControlModel::ifq_owner(const core::Ifq* real, uid_t fallback) const {
  for (const auto& a : areas_)
    if (a->real == real) return a->owner;
  return fallback;
}

int ControlModel::register_fresh(Session& s, proto::RegisterIfqReq& r, int fd,
                                 proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  const uint64_t off = r.area.addr, len = r.area.len;
  r.reg.if_idx = r.port;
  uapi::io_uring_zcrx_area_reg area = r.area;
  const uint32_t buf_len = r.reg.rx_buf_len ? r.reg.rx_buf_len : core::kDefaultRxBufLen;
  area.addr = 1ull << 30;
  zcrx::RqRegionLayout rq{};
  const uapi::zcrx_event_desc* ev = r.reg.event_desc ? &r.event : nullptr;
  if (int rc = engine_->check_ifq_reg(r.reg, area, &rq, ev)) return rc;
  const int k = queue_index(r.port, static_cast<int32_t>(r.reg.if_rxq));
  if (int rc = check_ring_queue(s, k)) return rc;
  void* map = nullptr;
  const char* why = "";
  if (int rc = zcrxd::map_consumer_area(fd, off, len, &map, &why)) return rc;
  area.addr = reinterpret_cast<uint64_t>(map);
  int rq_fd = -1;
  core::Mapping rq_map;
  if (int rc = make_rq_region(s, rq, &rq_fd, &rq_map)) {
    munmap(map, len);
    return rc;
  }
  const int rc = engine_->register_ifq(s.ctx, r.reg, area, {map, len}, rq_map, ev);
  if (rc) {
    munmap(map, len);
    drop_rq_region(s);
    close(rq_fd);
    return rc;
  }
  if (k >= 0) s.queue = k;
  auto rec = std::make_unique<AreaRec>();
  rec->fd = dup(fd);
  rec->offset = off;
  rec->map = {map, len};
  // The registering entry's RQ region goes with the area (its stats block
  // is written while the queue delivers, whoever keeps it open).
  rec->rq = s.rqs.back();
  s.rqs.pop_back();
  rec->owner = s.uid;
  s.region_bytes -= rec->rq.len;
  rec->real = s.ctx->lookup(r.reg.zcrx_id);
  FUZZ_CHECK(rec->real != nullptr && rec->real->kind() == core::IfqKind::real);
  rec->free = core::PlainProvider::free_list(*rec->real->area());
  areas_.push_back(std::move(rec));
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

int ControlModel::register_shared(Session& s, proto::RegisterIfqReq& r, int fd,
                                  proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  struct stat st {};
  if (fstat(fd, &st) < 0) return -EBADF;
  Session* src = nullptr;
  Export* exp = nullptr;
  for (Session& o : sessions_)
    if (o.ctx && o.ring_fd >= 0 && o.dev == st.st_dev && o.ino == st.st_ino) src = &o;
  for (auto& e : exports_)
    if (e->box && e->dev == st.st_dev && e->ino == st.st_ino) exp = e.get();
  if (!src && !exp) return -EBADF;
  zcrx::RqRegionLayout rq{};
  int rc = src ? engine_->clone_rq_layout(s.ctx, src->ctx, r.reg.if_rxq, &rq)
               : engine_->import_rq_layout(exp->box, &rq);
  if (rc) return rc;
  const core::Ifq* real = nullptr;
  if (src) {
    if (core::Ifq* e = src->ctx->lookup(r.reg.if_rxq)) real = &e->target();
  } else {
    real = core::Engine::box_ifq(exp->box);
  }
  const int k = queue_index(0, real ? real->if_rxq() : -1);
  if ((rc = check_ring_queue(s, k))) return rc;
  const uid_t owner = ifq_owner(real, s.uid);
  if ((rc = limits_.take_entry(real, owner, s.uid))) return rc;
  int rq_fd = -1;
  core::Mapping rq_map;
  if ((rc = make_rq_region(s, rq, &rq_fd, &rq_map))) {
    limits_.put_entry(real, owner, s.uid);
    return rc;
  }
  r.reg.if_idx = 0;
  rc = src ? engine_->clone_ifq(s.ctx, r.reg, src->ctx, rq_map)
           : engine_->import_ifq(s.ctx, r.reg, exp->box, rq_map);
  if (rc) {
    drop_rq_region(s);
    limits_.put_entry(real, owner, s.uid);
    close(rq_fd);
    return rc;
  }
  if (k >= 0) s.queue = k;
  s.entries.push_back({real, owner});
  core::Ifq* e = s.ctx->lookup(r.reg.zcrx_id);
  FUZZ_CHECK(e != nullptr && e->rq_base() == rq_map.base);
  FUZZ_CHECK(&e->target() == real);
  const AreaRec* area = nullptr;
  for (const auto& a : areas_)
    if (a->real == &e->target()) area = a.get();
  int ro = -1;
  if (area) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", area->fd);
    ro = open(path, O_RDONLY | O_CLOEXEC);
  }
  if (ro < 0) {
    close(rq_fd);
    return -ENODEV;
  }
  out->reg = r.reg;
  out->reg.rx_buf_len = 1u << e->area()->niov_shift();
  out->area = {};
  out->area.addr = area->offset;
  out->area.len = area->map.len;
  out->area.rq_area_token = e->area()->token();
  out->rq_region_size = rq.size;
  fds_out[0] = rq_fd;
  fds_out[1] = ro;
  *nfds = 2;
  return 0;
}

int ControlModel::op_register_ifq(Session& s, proto::RegisterIfqReq r, int fd,
                                  proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  if (fd < 0) return -EBADF;
  return r.reg.flags == 0 ? register_fresh(s, r, fd, out, fds_out, nfds)
                          : register_shared(s, r, fd, out, fds_out, nfds);
}

int ControlModel::op_export(Session& s, const uapi::zcrx_ctrl& c, int* fd_out) {
  core::ExportBox* box = nullptr;
  int rc = engine_->export_ifq(s.ctx, c, &box);
  if (rc) return rc;
  FUZZ_CHECK(box != nullptr);
  if ((rc = limits_.take_export(s.exports))) {
    engine_->release_box(box);
    return rc;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    rc = -errno;
    limits_.put_export();
    engine_->release_box(box);
    return rc;
  }
  struct stat st {};
  fstat(sv[1], &st);
  auto e = std::make_unique<Export>();
  e->our_end = sv[0];
  e->session = s.id;
  e->dev = st.st_dev;
  e->ino = st.st_ino;
  e->box = box;
  exports_.push_back(std::move(e));
  s.exports++;
  *fd_out = sv[1];
  return 0;
}

void ControlModel::housekeeping() {
  // Control::housekeeping: an area whose queue closed goes once every
  // buffer is back; nothing may touch its memory or RQ region after.
  for (size_t i = 0; i < areas_.size();) {
    AreaRec& a = *areas_[i];
    if (a.real == nullptr && a.free->free_count() == a.free->capacity()) {
      release_area_memory(a);
      areas_.erase(areas_.begin() + static_cast<long>(i));
      continue;
    }
    i++;
  }
  // Exports nobody holds any more.
  for (size_t i = 0; i < exports_.size();) {
    if (!exports_[i]->box) {
      exports_.erase(exports_.begin() + static_cast<long>(i));
      continue;
    }
    i++;
  }
}

void ControlModel::release_area_memory(AreaRec& a) {
  munmap(a.map.base, a.map.len);
  if (a.rq.base) {
    munmap(a.rq.base, a.rq.len);
    limits_.put_region(a.owner, a.rq.len);
  }
  close(a.fd);
  a = AreaRec{};
}

}  // namespace zcrx::fuzz
