// SPDX-License-Identifier: MIT
// Control ops that create shared memory: CREATE_RING, REGISTER_IFQ (register,
// clone, import) and EXPORT.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cinttypes>
#include <cstring>

#include "area_memfd.h"
#include "area_pool.h"
#include "control.h"
#include "log.h"
#include "port.h"

namespace zcrxd {

namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;
namespace core = zcrx::core;

namespace {

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

}  // namespace

int Control::op_create_ring(Session& s, const proto::CreateRingReq& r,
                            proto::CreateRingReply* out, int* fd_out) {
  if (s.ctx) return -EEXIST;
  uint32_t sq = zcrx::round_ring_entries(r.sq_entries, zcrx::kMaxSqEntries);
  uint32_t cq = r.cq_entries ? zcrx::round_ring_entries(r.cq_entries, zcrx::kMaxCqEntries)
                             : 2 * sq;
  if (!sq || !cq || cq < sq || cq > zcrx::kMaxCqEntries) return -EINVAL;
  zcrx::RingRegionLayout l = zcrx::ring_region_layout(sq, cq);
  // A slot for wakeups; sessions are bounded by --max-rings, so one is free.
  const auto free_slot = std::find(slots_.begin(), slots_.end(), false);
  if (free_slot == slots_.end()) return -ENFILE;
  if (int rc = limits_.take_region(s.uid, l.size)) {
    log_refusal(s, "a ring region", rc, "--max-region-mb-per-uid",
                limits_.config().max_region_mb_per_uid);
    return rc;
  }
  void* map = nullptr;
  int fd = make_memfd("zcrx-ring", l.size, &map);
  if (fd < 0) {
    limits_.put_region(s.uid, l.size);
    return fd;
  }
  s.region_bytes += l.size;
  // A new memfd reads as zeros: writing only the header words leaves the
  // CQE and SQE pages unallocated until the ring is used.
  zcrx::init_zeroed_ring_region(map, l);
  struct stat st {};
  fstat(fd, &st);
  s.ring_fd = fd;
  s.ring = {map, l.size};
  s.layout = l;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.dp = std::make_unique<RingDp>(map, l);
  s.slot = static_cast<uint32_t>(free_slot - slots_.begin());
  *free_slot = true;
  s.dp->set_slot(s.slot);
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
  if (int rc = limits_.take_region(s.uid, l.size)) {
    log_refusal(s, "a refill queue region", rc, "--max-region-mb-per-uid",
                limits_.config().max_region_mb_per_uid);
    return rc;
  }
  void* map = nullptr;
  int fd = make_memfd("zcrx-rq", l.size, &map);
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

void Control::drop_rq_region(Session& s) {
  const Mapped m = s.rqs.back();
  s.rqs.pop_back();
  munmap(m.base, m.len);
  limits_.put_region(s.uid, m.len);
  s.region_bytes -= m.len;
}

void* Control::take_spare_area(Session& s, int fd, uint64_t off, uint64_t len) {
  struct stat st {};
  if (fstat(fd, &st) < 0) return nullptr;
  for (size_t i = 0; i < s.spare_areas.size(); i++) {
    const SpareArea& a = s.spare_areas[i];
    if (a.dev == st.st_dev && a.ino == st.st_ino && a.off == off && a.len == len) {
      void* base = a.base;
      s.spare_areas.erase(s.spare_areas.begin() + static_cast<long>(i));
      return base;
    }
  }
  return nullptr;
}

void Control::keep_spare_area(Session& s, int fd, uint64_t off, uint64_t len, void* base) {
  struct stat st {};
  if (fstat(fd, &st) < 0) {
    munmap(base, len);
    return;
  }
  if (s.spare_areas.size() == kMaxSpareAreas) {
    munmap(s.spare_areas.front().base, s.spare_areas.front().len);
    s.spare_areas.erase(s.spare_areas.begin());
  }
  s.spare_areas.push_back({st.st_dev, st.st_ino, off, len, base});
}

void Control::publish_entry(Session& s, uint32_t zcrx_id) {
  Ifq* e = s.ctx->lookup(zcrx_id);
  if (!e) return;
  s.dp->set_entry(zcrx_id, e, &e->target());
  // Buffers the ring could be handed beyond what its CQ holds are dropped
  // (cq_full) whenever the consumer falls behind: say so once, here.
  const zcrx::core::Area* a = e->target().area();
  if (a && a->num_niovs() > s.layout.cq_entries)
    std::fprintf(stderr,
                 "zcrxd: pid %d uid %u: zcrx id %u has %u buffers but its ring's CQ %u "
                 "entries: a consumer behind by more than the CQ loses deliveries (cq_full); "
                 "give the CQ at least as many entries as the area has buffers\n",
                 s.pid, s.uid, zcrx_id, a->num_niovs(), s.layout.cq_entries);
}

int Control::register_fresh(Session& s, proto::RegisterIfqReq& r, int fd,
                            proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  const uint64_t off = r.area.addr, len = r.area.len;
  // zcrxd makes the area (proto.h): its flag is ours, not the kernel's.
  const bool made = r.area.flags == proto::kAreaFlagZcrxdMade;
  r.area.flags = 0;
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
  // ZCRX_REG_NODEV: no device, no queue; only the copy path of a later
  // receive (TCP) could fill it, so no queue is bound, no pool staged and
  // no flow opened on it (op_open_flow).
  const bool nodev = (r.reg.flags & uapi::kZcrxRegNodev) != 0;
  // The kernel's device lookup comes before any area or rx_buf_len error.
  if (!nodev && r.port != dev_.id()) return -ENODEV;
  // The queue's index among the served ones (-1: the binder refuses it).
  const int k = nodev ? -1 : qs_->index_of(static_cast<int32_t>(r.reg.if_rxq));
  if (int rc = check_ring_queue(s, k, "an ifq registration")) return rc;
  // rx_buf_len and the area's fields, as the kernel checks them before it
  // pins the area's pages (mapping the memfd below).
  if (int rc = engine_->check_ifq_area(r.reg, area)) return rc;
  // A zcrxd-made area is for a queue to write into: without one it is
  // memory nobody could ever fill.
  if (made && nodev) return -EINVAL;
  void* map = nullptr;
  int made_fd = -1, made_ro = -1;
  if (made) {
    if (int rc = make_area(s, len, &map, &made_fd, &made_ro)) return rc;
  } else {
    // Sealed, size-checked, mapped, sealed against anyone else's writes and
    // populated, in that order (area_memfd.h).
    // A mapping kept from this session's failed attempt is taken back: the
    // memfd is sealed against new writable mappings since then.
    map = take_spare_area(s, fd, off, len);
    const char* why = "";
    if (!map) {
      if (int rc = map_consumer_area(fd, off, len, &map, &why)) {
        std::fprintf(stderr, "zcrxd: area of pid %d uid %u refused (%s): %s\n", s.pid, s.uid,
                     strerrorname_np(-rc), why);
        return rc;
      }
    }
  }
  // A failed registration: the consumer's mapping is kept for a retry on
  // this session; a zcrxd-made area goes with its charge.
  auto drop_area = [&] {
    if (!made) {
      keep_spare_area(s, fd, off, len, map);
      return;
    }
    munmap(map, len);
    close(made_fd);
    close(made_ro);
    limits_.put_region(s.uid, len);
  };
  area.addr = reinterpret_cast<uint64_t>(map);
  int err = 0;
  uint32_t id = next_area_id_++;
  int dma_port = dev_.needs_dma_map() ? dev_.id() : -1;
  // No device: nothing to DMA into the area, so no pool over it. zcrxd's
  // own area carries the mbuf headers itself (area_pool.h, in-area).
  std::unique_ptr<AreaPool> pool =
      nodev  ? nullptr
      : made ? AreaPool::create_in_area(map, len, buf_len, id, dev_.socket(), dma_port, &err)
             : AreaPool::create(map, len, buf_len, id, dev_.socket(), dma_port, &err);
  if (!pool && !nodev) {
    drop_area();
    return err ? err : -ENOMEM;
  }
  int rq_fd = -1;
  core::Mapping rq_map;
  if (int rc = make_rq_region(s, rq, &rq_fd, &rq_map)) {
    drop_area();
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
    drop_area();
    drop_rq_region(s);
    close(rq_fd);
    return rc ? rc : -ENOMEM;
  }
  auto rec = std::make_unique<AreaRec>();
  rec->id = id;
  rec->fd = made ? made_fd : dup(fd);
  rec->offset = made ? 0 : off;
  rec->charged = made ? len : 0;
  rec->map = {map, len};
  // The registering entry's RQ region belongs to the ifq, not to the ring
  // (the zcrx_stats block in it is written as long as the queue delivers,
  // which an importer or a clone may keep going after this ring exits):
  // it is unmapped with the area.
  rec->rq = s.rqs.back();
  s.rqs.pop_back();
  rec->owner = s.uid;  // still charged to the uid, until the area goes
  s.region_bytes -= rec->rq.len;
  rec->pool = std::move(pool);
  rec->real = s.ctx->lookup(r.reg.zcrx_id);
  // A record still naming this address names an ifq that is gone.
  for (auto& a : areas_)
    if (a->real == rec->real) a->real = nullptr;
  const uint32_t ifq_id = rec->id;
  areas_.push_back(std::move(rec));
  publish_entry(s, r.reg.zcrx_id);
  ZLOG(control, INFO,
       "ring %" PRIu64 " of pid %d uid %u registered ifq%u as zcrx id %u: %s, area %" PRIu64
       " bytes in %u-byte buffers, rq %u entries\n",
       s.id, s.pid, s.uid, ifq_id, r.reg.zcrx_id,
       nodev ? "no device" : ("rx queue " + std::to_string(r.reg.if_rxq)).c_str(), len, buf_len,
       r.reg.rq_entries);
  out->reg = r.reg;
  out->reg.if_idx = 0;
  out->reg.rx_buf_len = buf_len;
  out->area = r.area;
  out->area.rq_area_token = area.rq_area_token;
  out->rq_region_size = rq.size;
  fds_out[0] = rq_fd;
  *nfds = 1;
  if (made) {
    out->area.flags = proto::kAreaFlagZcrxdMade;
    fds_out[1] = made_ro;
    *nfds = 2;
  }
  return 0;
}

int Control::make_area(Session& s, uint64_t len, void** map, int* fd, int* ro) {
  // Memory zcrxd creates for a consumer: charged like its rings.
  if (int rc = limits_.take_region(s.uid, len)) {
    log_refusal(s, "an area", rc, "--max-region-mb-per-uid",
                limits_.config().max_region_mb_per_uid);
    return rc;
  }
  const char* why = "";
  const int f = create_zcrxd_area(len, map, &why);
  if (f < 0) {
    std::fprintf(stderr, "zcrxd: area for pid %d uid %u: %s (%s)\n", s.pid, s.uid, why,
                 strerrorname_np(-f));
    limits_.put_region(s.uid, len);
    return f;
  }
  // The consumer's descriptor: a new read-only description of the sealed
  // memfd (as clones and importers get).
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
  const int r = open(path, O_RDONLY | O_CLOEXEC);
  if (r < 0) {
    const int e = -errno;
    munmap(*map, len);
    close(f);
    limits_.put_region(s.uid, len);
    return e;
  }
  *fd = f;
  *ro = r;
  return 0;
}

int Control::register_shared(Session& s, proto::RegisterIfqReq& r, int fd,
                             proto::RegisterIfqReply* out, int* fds_out, unsigned* nfds) {
  // The kernel checks the reserved words and flags before it looks at the
  // descriptor they name (-EBADF, -EBADFD come after).
  if (int rc = core::Engine::check_shared_reg(r.reg)) return rc;
  struct stat st {};
  if (fstat(fd, &st) < 0) return -EBADF;
  Session* src = nullptr;
  Export* exp = nullptr;
  for (auto& o : sessions_)
    if (o->ctx && !o->closing && o->ring_fd >= 0 && o->dev == st.st_dev && o->ino == st.st_ino)
      src = o.get();
  for (auto& e : exports_)
    if (e->box && e->dev == st.st_dev && e->ino == st.st_ino) exp = e.get();
  // Neither a ring nor an export: an import of something that is not a
  // zcrx descriptor, whose own field checks (-EINVAL) come before -EBADF.
  if (!src && !exp) return engine_->import_ifq(s.ctx, r.reg, nullptr);
  zcrx::RqRegionLayout rq{};
  int rc = src ? engine_->clone_rq_layout(s.ctx, src->ctx, r.reg.if_rxq, &rq)
               : engine_->import_rq_layout(exp->box, &rq);
  if (rc) return rc;
  // The real ifq the new entry stands for, and the queue it receives from.
  const Ifq* real = nullptr;
  if (src) {
    if (Ifq* e = src->ctx->lookup(r.reg.if_rxq)) real = &e->target();
  } else {
    real = core::Engine::box_ifq(exp->box);
  }
  const int k = qs_->index_of(real ? real->if_rxq() : -1);
  if ((rc = check_ring_queue(s, k, src ? "a clone" : "an import"))) return rc;
  // A uid's share of another uid's ifq (the engine's table is shared by all).
  const uid_t owner = ifq_owner(real, s.uid);
  if ((rc = limits_.take_entry(real, owner, s.uid))) {
    log_refusal(s, src ? "a clone" : "an import", rc, "--max-entries-per-uid",
                limits_.config().max_entries_per_uid);
    return rc;
  }
  int rq_fd = -1;
  core::Mapping rq_map;
  if ((rc = make_rq_region(s, rq, &rq_fd, &rq_map))) {
    limits_.put_entry(real, owner, s.uid);
    return rc;
  }
  const int ring_had = s.queue;
  if (k >= 0) assign_ring(s, k);
  r.reg.if_idx = 0;
  rc = src ? engine_->clone_ifq(s.ctx, r.reg, src->ctx, rq_map)
           : engine_->import_ifq(s.ctx, r.reg, exp->box, rq_map);
  take_closed_pools();
  if (rc) {
    assign_ring(s, ring_had);
    drop_rq_region(s);
    limits_.put_entry(real, owner, s.uid);
    close(rq_fd);
    return rc;
  }
  s.entries.push_back({real, owner});
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
  {
    const Session* owner_ring = session_of(real ? real->ctx() : nullptr);
    ZLOG(control, INFO,
         "ring %" PRIu64 " of pid %d uid %u %s %s (registered by pid %d uid %u) as zcrx id %u\n",
         s.id, s.pid, s.uid, src ? "cloned" : "imported", ifq_name(real).c_str(),
         owner_ring ? owner_ring->pid : 0, owner, r.reg.zcrx_id);
  }
  out->reg = r.reg;
  out->reg.rx_buf_len = e->area() ? 1u << e->area()->niov_shift() : 0;
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
  // ZCRX_REG_NODEV alone is a fresh registration; IMPORT (== CLONE) shares.
  const bool fresh = (r.reg.flags & ~uapi::kZcrxRegNodev) == 0;
  // A zcrxd-made area comes with no descriptor (one sent is ignored).
  const bool made = fresh && r.area.flags == proto::kAreaFlagZcrxdMade;
  if (fd < 0 && !made) return -EBADF;
  const int rc = fresh ? register_fresh(s, r, fd, out, fds_out, nfds)
                       : register_shared(s, r, fd, out, fds_out, nfds);
  if (rc < 0)
    ZLOG(control, DEBUG, "ring %" PRIu64 " of pid %d uid %u: %s refused (%s)\n", s.id, s.pid,
         s.uid, fresh ? "registration" : "clone/import", strerrorname_np(-rc));
  return rc;
}

int Control::op_export(Session& s, const uapi::zcrx_ctrl& c, int* fd_out) {
  core::ExportBox* box = nullptr;
  int rc = engine_->export_ifq(s.ctx, c, &box);
  if (rc) return rc;
  // Each box is a descriptor zcrxd keeps until every copy of the export
  // fd is closed: bounded per ring and in total.
  if ((rc = limits_.take_export(s.exports))) {
    const bool total = rc == -ENFILE;
    log_refusal(s, "an export", rc, total ? "--max-exports" : "--max-exports-per-ring",
                total ? limits_.config().max_exports : limits_.config().max_exports_per_ring);
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
  *fd_out = sv[1];  // closed by the caller once sent
  return 0;
}

}  // namespace zcrxd
