// SPDX-License-Identifier: MIT
// liburing compatibility: io_uring_register_ifq and
// io_uring_register_zcrx_ctrl over zcrxd's REGISTER_IFQ / EXPORT / CTRL.
//
// A kernel-zcrx program hands over its own memory for the area and the
// refill queue, usually mmap(MAP_ANONYMOUS | MAP_PRIVATE): the kernel pins
// those pages. zcrxd lives in another process and needs shared memory, so
// registration replaces each range in place (mmap MAP_FIXED over it) with
// a shared mapping of the same address: the area becomes a read-only view
// of a new memfd zcrxd writes packets into, the region becomes zcrxd's RQ
// memfd (head, tail and RQEs at the offsets returned in reg->offsets).
// What the program wrote into either range before is gone; the program's
// pointers stay valid.
#include <fcntl.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "uring_compat.h"

namespace {

namespace uapi = zcrx::uapi;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxAreaLen = uint64_t{1} << 30;  // io_validate_user_buf_range
constexpr uint32_t kQueueNone = ~uint32_t{0};
constexpr uint32_t kRegFlags = ZCRX_REG_IMPORT | ZCRX_REG_NODEV;

bool all_zero(const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0) return false;
  return true;
}

// True when every page of [addr, addr + len) is mapped (the kernel pins
// them; an unmapped one is -EFAULT there).
bool range_mapped(uint64_t addr, uint64_t len) {
  return msync(reinterpret_cast<void*>(static_cast<uintptr_t>(addr)), len, MS_ASYNC) == 0;
}

// The DPDK port of kernel interface `if_idx`: -ENODEV for no interface of
// that index, or (with $ZCRX_URING_IFNAME) one zcrxd does not serve.
int port_of_ifindex(uint32_t if_idx, uint32_t* port) {
  char name[IF_NAMESIZE];
  if (if_idx == 0 || if_indextoname(if_idx, name) == nullptr) return -ENODEV;
  const char* served = std::getenv("ZCRX_URING_IFNAME");
  if (served && *served && std::strcmp(served, name) != 0) return -ENODEV;
  const char* p = std::getenv("ZCRX_URING_PORT");
  *port = p && *p ? static_cast<uint32_t>(std::strtoul(p, nullptr, 0)) : 0;
  return 0;
}

// io_create_region's checks of a user-memory region descriptor.
int check_region(const io_uring_region_desc& rd) {
  if (!all_zero(rd.__resv, sizeof(rd.__resv)) || rd.mmap_offset || rd.id) return -EINVAL;
  if (rd.flags & ~static_cast<uint32_t>(IORING_MEM_REGION_TYPE_USER)) return -EINVAL;
  // A kernel-allocated region is mmap()ed from the io_uring fd, which a
  // zcrxd ring does not have.
  if (!(rd.flags & IORING_MEM_REGION_TYPE_USER)) return -EOPNOTSUPP;
  if (rd.user_addr == 0) return -EFAULT;
  if (rd.size == 0) return -EINVAL;
  if ((rd.size / kPage) > INT32_MAX) return -E2BIG;
  if ((rd.user_addr | rd.size) % kPage) return -EINVAL;
  if (rd.user_addr + rd.size < rd.user_addr) return -EOVERFLOW;
  return 0;
}

// io_import_area / io_import_umem on the program's area (zcrxd sees only
// the memfd we make, so its address checks are ours to do).
int check_area(const io_uring_zcrx_area_reg& a) {
  if (a.flags & ~static_cast<uint32_t>(IORING_ZCRX_AREA_DMABUF)) return -EINVAL;
  if (a.rq_area_token != 0) return -EINVAL;
  if (!all_zero(a.__resv2, sizeof(a.__resv2))) return -EINVAL;
  if (a.len == 0 || a.len > kMaxAreaLen) return -EFAULT;
  if (a.addr + ((a.len + kPage - 1) & ~(kPage - 1)) < a.addr) return -EOVERFLOW;
  if ((a.addr | a.len) % kPage) return -EINVAL;
  if (a.flags & IORING_ZCRX_AREA_DMABUF) return -EOPNOTSUPP;
  if (a.dmabuf_fd != 0) return -EINVAL;
  if (a.addr == 0) return -EFAULT;
  return 0;
}

// Maps `fd` at the program's `addr` (MAP_FIXED: over its own mapping).
int map_over(uint64_t addr, size_t len, int prot, int fd) {
  void* want = reinterpret_cast<void*>(static_cast<uintptr_t>(addr));
  void* got = mmap(want, len, prot, MAP_SHARED | MAP_FIXED, fd, 0);
  if (got == MAP_FAILED) return -errno;
  return 0;
}

// The zcrx event descriptor the program points at, as IfqParams fields.
int take_event_desc(const io_uring_zcrx_ifq_reg& reg, uint32_t rq_entries,
                    zcrx::IfqParams* p) {
  if (reg.event_desc == 0) return 0;
  const auto* d =
      reinterpret_cast<const zcrx_event_desc*>(static_cast<uintptr_t>(reg.event_desc));
  p->event_mask = d->type_mask;
  p->event_user_data = d->user_data;
  // zcrxd's stats block sits where stats_offset_for() says; the program's
  // choice must be that one (anything else the kernel would accept is
  // not served here).
  if (d->flags & ZCRX_EVENT_DESC_FLAG_STATS) {
    if (d->stats_offset != zcrx::proto::stats_offset_for(rq_entries)) return -EOPNOTSUPP;
    p->event_stats = true;
  }
  // zcrxd checks the rest (unknown bits, reserved words) as the kernel.
  if ((d->flags & ~ZCRX_EVENT_DESC_FLAG_STATS) || !all_zero(d->__resv2, sizeof(d->__resv2)) ||
      (!(d->flags & ZCRX_EVENT_DESC_FLAG_STATS) && d->stats_offset != 0))
    return -EINVAL;
  return 0;
}

void fill_reg_out(io_uring_zcrx_ifq_reg* reg, const zcrx::Ifq& q) {
  const uapi::io_uring_zcrx_offsets& o = q.rq_offsets();
  reg->offsets.head = o.head;
  reg->offsets.tail = o.tail;
  reg->offsets.rqes = o.rqes;
  reg->rq_entries = q.rq_entries();
  reg->zcrx_id = q.id();
}

// import_zcrx's checks in its order, then zcrxd's import. The kernel's
// importer shares the exporter's area and refill queue; zcrxd gives it a
// refill queue of its own, which the program reaches through
// zcrx_uring_rq_region (the area is the exporter's memory, as there).
int register_import(zcrx_uring* u, io_uring_zcrx_ifq_reg* reg) {
  if (reg->if_rxq || reg->rq_entries || reg->area_ptr || reg->region_ptr) return -EINVAL;
  if (reg->event_desc) return -EINVAL;
  if (reg->flags & ~static_cast<uint32_t>(ZCRX_REG_IMPORT)) return -EINVAL;
  // CLASS(fd): no such descriptor. zcrxd refuses one that is not an
  // exported zcrx with -EBADF too (the kernel's f_op check).
  const int fd = static_cast<int>(reg->if_idx);
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) return -EBADF;
  zcrx::Ifq* q = nullptr;
  const int id = u->ring.import_ifq(fd, &q);
  if (id < 0) return id;
  // io_fill_zcrx_offsets and the id: all an import reports.
  const uapi::io_uring_zcrx_offsets& o = q->rq_offsets();
  reg->offsets.head = o.head;
  reg->offsets.tail = o.tail;
  reg->offsets.rqes = o.rqes;
  reg->zcrx_id = static_cast<uint32_t>(id);
  return 0;
}

}  // namespace

extern "C" int io_uring_register_ifq(struct io_uring* ring, struct io_uring_zcrx_ifq_reg* reg) {
  zcrx_uring* u = ring ? ring->zcrx : nullptr;
  if (u == nullptr) return -EBADF;
  // Mandatory io_uring features for zcrx (io_register_zcrx).
  if (!(u->setup_flags & IORING_SETUP_DEFER_TASKRUN)) return -EINVAL;
  if (!(u->setup_flags & (IORING_SETUP_CQE32 | IORING_SETUP_CQE_MIXED))) return -EINVAL;
  if (reg == nullptr) return -EFAULT;
  if (!all_zero(reg->__resv, sizeof(reg->__resv)) || reg->zcrx_id) return -EINVAL;
  if (reg->flags & ~kRegFlags) return -EINVAL;
  if (reg->flags & ZCRX_REG_IMPORT) return register_import(u, reg);
  if (reg->region_ptr == 0) return -EFAULT;
  io_uring_region_desc rd;
  std::memcpy(&rd, reinterpret_cast<const void*>(static_cast<uintptr_t>(reg->region_ptr)),
              sizeof(rd));
  if (reg->if_rxq == kQueueNone || reg->rq_entries == 0) return -EINVAL;
  uint32_t rq_entries = reg->rq_entries;
  if (rq_entries > zcrx::kMaxRqEntries) {
    if (!(u->setup_flags & IORING_SETUP_CLAMP)) return -EINVAL;
    rq_entries = zcrx::kMaxRqEntries;
  }
  rq_entries = zcrx::round_ring_entries(rq_entries, zcrx::kMaxRqEntries);
  if (reg->area_ptr == 0) return -EFAULT;
  io_uring_zcrx_area_reg* area =
      reinterpret_cast<io_uring_zcrx_area_reg*>(static_cast<uintptr_t>(reg->area_ptr));
  zcrx::IfqParams p;
  if (int r = take_event_desc(*reg, rq_entries, &p)) return r;
  // io_allocate_rbuf_ring: the region must hold the RQ (zcrxd's layout).
  if (int r = check_region(rd)) return r;
  const size_t rq_size = zcrx::rq_region_layout(rq_entries).size;
  if (rq_size > rd.size) return -EINVAL;
  if (!range_mapped(rd.user_addr, rq_size)) return -EFAULT;
  const bool nodev = (reg->flags & ZCRX_REG_NODEV) != 0;
  uint32_t port = 0;
  if (!nodev) {
    if (int r = port_of_ifindex(reg->if_idx, &port)) return r;
  } else if (reg->if_idx != 0 || reg->if_rxq != 0) {
    return -EINVAL;
  }
  if (int r = check_area(*area)) return r;
  if (!range_mapped(area->addr, area->len)) return -EFAULT;

  int afd = zcrx::create_area_fd(area->len, false);
  if (afd < 0) return afd;
  p.port = port;
  p.queue = reg->if_rxq;
  p.nodev = nodev;  // zcrxd: rx_buf_len other than 4096 -EOPNOTSUPP
  p.rq_entries = reg->rq_entries > zcrx::kMaxRqEntries ? rq_entries : reg->rq_entries;
  p.rx_buf_len = reg->rx_buf_len;
  p.area_len = area->len;
  p.area_fd = afd;
  zcrx::Ifq* q = nullptr;
  int id = u->ring.register_ifq(p, &q);
  if (id < 0) {
    close(afd);
    return id;
  }
  // zcrxd sealed the memfd against new writable mappings: the program's
  // view of the area is read-only, as a receive area is used anyway.
  int r = map_over(area->addr, area->len, PROT_READ, afd);
  close(afd);
  if (r == 0) r = map_over(rd.user_addr, q->rq_region_size(), PROT_READ | PROT_WRITE, q->rq_fd());
  // The ifq stays registered on failure, as the kernel's does when its
  // final copy_to_user fails; the ring's exit releases it.
  if (r < 0) return r;
  fill_reg_out(reg, *q);
  area->rq_area_token = q->area_token();
  return 0;
}

extern "C" int io_uring_register_zcrx_ctrl(struct io_uring* ring, struct zcrx_ctrl* ctrl) {
  zcrx_uring* u = ring ? ring->zcrx : nullptr;
  if (u == nullptr) return -EBADF;
  if (ctrl == nullptr) return -EFAULT;
  // zcrxd's engine checks these words as the kernel's io_zcrx_ctrl does;
  // libzcrx's calls send them zero, so they are checked here.
  if (!all_zero(ctrl->__resv, sizeof(ctrl->__resv))) return -EFAULT;
  switch (ctrl->op) {
    case ZCRX_CTRL_FLUSH_RQ:
      if (!all_zero(&ctrl->zc_flush, sizeof(ctrl->zc_flush))) return -EINVAL;
      return u->ring.flush_rq(ctrl->zcrx_id);
    case ZCRX_CTRL_EXPORT: {
      // zcrx_export: the ring must be able to share it.
      if (!(u->setup_flags & IORING_SETUP_DEFER_TASKRUN)) return -EINVAL;
      if (!(u->setup_flags & (IORING_SETUP_CQE32 | IORING_SETUP_CQE_MIXED))) return -EINVAL;
      if (!all_zero(&ctrl->zc_export, sizeof(ctrl->zc_export))) return -EINVAL;
      int fd = u->ring.export_ifq(ctrl->zcrx_id);
      if (fd < 0) return fd;
      ctrl->zc_export.zcrx_fd = static_cast<uint32_t>(fd);
      return 0;
    }
    case ZCRX_CTRL_ARM_EVENT:
      if (!all_zero(ctrl->zc_arm_event.__resv, sizeof(ctrl->zc_arm_event.__resv))) return -EINVAL;
      return u->ring.arm_event(ctrl->zcrx_id, ctrl->zc_arm_event.event_type);
    default:  // ADD_AREA (not served) and unknown ops
      return -EOPNOTSUPP;
  }
}

extern "C" void* zcrx_uring_rq_region(struct io_uring* ring, unsigned zcrx_id) {
  zcrx_uring* u = ring ? ring->zcrx : nullptr;
  if (u == nullptr) return nullptr;
  const zcrx::Ifq* q = u->ring.ifq(zcrx_id);
  return q ? q->rq_region() : nullptr;
}
