// SPDX-License-Identifier: MIT
// IORING_REGISTER_ZCRX_IFQ: validation as io_register_zcrx and
// io_zcrx_create_area do it, then the ifq, its RQ, the device lookup, its
// area, the queue binding (none for ZCRX_REG_NODEV), the event descriptor
// and the master ctx, undoing in reverse order on failure.
#include <cerrno>

#include "internal.h"

namespace zcrx::core {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kMaxAreaLen = uint64_t{1} << 30;  // io_validate_user_buf_range
constexpr uint32_t kQueueNone = ~uint32_t{0};      // if_rxq == -1

bool all_zero(const uint64_t* w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (w[i] != 0) return false;
  return true;
}

int log2_u32(uint32_t v) {
  int s = 0;
  while ((uint32_t{1} << s) < v) s++;
  return s;
}

// io_import_area / io_import_umem checks, then the niov size fit.
int check_area_reg(const uapi::io_uring_zcrx_area_reg& area, uint32_t rx_buf_len) {
  if (area.flags & ~uapi::kZcrxAreaDmabuf) return -EINVAL;
  if (area.rq_area_token != 0) return -EINVAL;
  if (!all_zero(area.__resv2, 2)) return -EINVAL;
  if (area.len == 0 || area.len > kMaxAreaLen) return -EFAULT;
  if (area.addr + ((area.len + kPageSize - 1) & ~(kPageSize - 1)) < area.addr)
    return -EOVERFLOW;
  if ((area.addr & (kPageSize - 1)) || (area.len & (kPageSize - 1))) return -EINVAL;
  if (area.flags & uapi::kZcrxAreaDmabuf) return -EOPNOTSUPP;  // no dma-buf here
  if (area.dmabuf_fd != 0) return -EINVAL;
  if (area.addr == 0) return -EFAULT;
  if (area.len & (rx_buf_len - 1)) return -EINVAL;
  return 0;
}

// io_zcrx_create_area: the niov size, then the area's own checks.
int check_niov_size_and_area(const uapi::io_uring_zcrx_ifq_reg& reg,
                             const uapi::io_uring_zcrx_area_reg& area) {
  const uint32_t rx_buf_len = reg.rx_buf_len ? reg.rx_buf_len : kDefaultRxBufLen;
  if ((rx_buf_len & (rx_buf_len - 1)) != 0 || rx_buf_len < kPageSize) return -EINVAL;
  // A device-less ifq lives on the copy path, which fills one page of a
  // niov: the kernel refuses any other niov size for it.
  if ((reg.flags & uapi::kZcrxRegNodev) && rx_buf_len != kPageSize) return -EOPNOTSUPP;
  return check_area_reg(area, rx_buf_len);
}

}  // namespace

int check_reg_common(const uapi::io_uring_zcrx_ifq_reg& reg) {
  if (!all_zero(reg.__resv, 2) || reg.zcrx_id != 0) return -EINVAL;
  return 0;
}

int Engine::check_ifq_reg(const uapi::io_uring_zcrx_ifq_reg& reg,
                          const uapi::io_uring_zcrx_area_reg& area,
                          RqRegionLayout* rq_out,
                          const uapi::zcrx_event_desc* ev) const {
  if (int err = check_reg_common(reg)) return err;
  // ZCRX_SUPPORTED_REG_FLAGS less IMPORT, which is import_ifq's.
  if (reg.flags & ~uapi::kZcrxRegNodev) return -EINVAL;
  if (reg.if_rxq == kQueueNone || reg.rq_entries == 0) return -EINVAL;
  // Device-less: no device or queue may be named.
  if ((reg.flags & uapi::kZcrxRegNodev) && (reg.if_idx != 0 || reg.if_rxq != 0)) return -EINVAL;
  // The kernel copies the area struct and rejects a token, then copies and
  // checks the event descriptor; the rest of the area is checked when the
  // area is created, after the device lookup (check_ifq_area).
  if (area.rq_area_token != 0) return -EINVAL;
  if (int err = check_event_desc(reg, ev)) return err;
  // Capped as with IORING_SETUP_CLAMP, then a power of two.
  const uint32_t entries = round_ring_entries(reg.rq_entries, kMaxRqEntries);
  if (rq_out != nullptr) *rq_out = rq_region_layout(entries);
  return 0;
}

int Engine::check_ifq_area(const uapi::io_uring_zcrx_ifq_reg& reg,
                           const uapi::io_uring_zcrx_area_reg& area) const {
  return check_niov_size_and_area(reg, area);
}

int Engine::register_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg,
                         uapi::io_uring_zcrx_area_reg& area, Mapping area_mem,
                         Mapping rq_mem, const uapi::zcrx_event_desc* ev) {
  Impl& en = *impl_;
  if (ctx == nullptr || ctx->terminated()) return -EBADF;
  RqRegionLayout layout;
  if (int err = check_ifq_reg(reg, area, &layout, ev)) return err;
  // What the kernel reads from the user's descriptor; all zero without one.
  uapi::zcrx_event_desc desc{};
  if (reg.event_desc != 0) desc = *ev;
  const bool nodev = (reg.flags & uapi::kZcrxRegNodev) != 0;

  Ifq* ifq = en.new_real(ctx, reg.if_idx, layout.rq_entries);
  ifq->impl()->nodev = nodev;
  ifq->impl()->event_user_data = desc.user_data;
  ifq->impl()->event_mask = desc.type_mask;
  // Preallocate the id (xa_alloc).
  const int id = en.alloc_id(ctx);
  if (id < 0) {
    en.unregister(ifq, ctx);
    return id;
  }
  int err = en.attach_device_and_area(ifq, reg, area, area_mem, rq_mem, layout, desc);
  if (err != 0) {
    // The id was only reserved: nothing to erase. zcrx_unregister.
    en.unregister(ifq, ctx);
    return err;
  }
  if (!nodev) {
    // relaxed: see Ifq::if_rxq(); the datapath learns of the ifq through
    // publish()'s release stores. A device-less ifq keeps -1, as the
    // kernel's: it has no queue.
    ifq->impl()->if_rxq.store(static_cast<int32_t>(reg.if_rxq), std::memory_order_relaxed);
  }
  en.publish(ifq, 0, static_cast<uint32_t>(id));

  reg.zcrx_id = static_cast<uint32_t>(id);
  reg.rq_entries = layout.rq_entries;
  reg.offsets = layout.off;
  area.rq_area_token = ifq->impl()->area->token();
  // Seed 000: every registering ring becomes the master (CAS null->ctx,
  // with a ctx reference). Linux 7.2 as merged sets it only when events are
  // asked for; we keep seed 000's rule because the master is also the owner
  // of the queue's lifetime rules this project implements, and it changes
  // nothing a consumer can observe: without a descriptor (or with an empty
  // type_mask) no event type is allowed, so none is ever posted.
  en.set_ring_ctx(ifq, ctx);
  return 0;
}

// io_register_zcrx from the RQ region on: the region, the stats block, the
// device (zcrx_register_netdev: lookup, area, queue) or, device-less, the
// area alone. Each step in the kernel's order, so the first failing one
// names the errno; the caller undoes everything with unregister().
int Engine::Impl::attach_device_and_area(Ifq* ifq, const uapi::io_uring_zcrx_ifq_reg& reg,
                                         const uapi::io_uring_zcrx_area_reg& area,
                                         Mapping area_mem, Mapping rq_mem,
                                         const RqRegionLayout& layout,
                                         const uapi::zcrx_event_desc& desc) {
  const bool nodev = ifq->impl()->nodev;
  if (int err = setup_rq(ifq, layout, rq_mem)) return err;
  if (int err = place_stats_block(ifq, desc, rq_mem.base ? rq_mem.len : layout.size)) return err;
  if (!nodev) {
    if (int err = binder.lookup_device(reg.if_idx)) return err;  // netdev_get_by_index
  }
  if (int err = check_niov_size_and_area(reg, area)) return err;
  if (area_mem.base == nullptr || area_mem.len < area.len) return -EINVAL;
  const uint32_t rx_buf_len = reg.rx_buf_len ? reg.rx_buf_len : kDefaultRxBufLen;
  // One area per ifq, id 0, as the kernel.
  ifq->impl()->area = std::make_unique<Area>(0, area_mem.base, area.len,
                                             static_cast<uint32_t>(log2_u32(rx_buf_len)));
  sink.attach_area(*ifq->impl()->area);
  if (nodev) return 0;  // nothing is bound: no queue delivers into it
  return binder.open_queue(*ifq, reg.if_idx, reg.if_rxq);
}

}  // namespace zcrx::core
