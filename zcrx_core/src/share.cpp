// SPDX-License-Identifier: MIT
// Export (ZCRX_CTRL_EXPORT), box release and import (ZCRX_REG_IMPORT).
#include <cerrno>

#include "internal.h"

namespace zcrx::core {
namespace {

bool ctrl_resv_zero(const uapi::zcrx_ctrl& c) { return c.__resv[0] == 0 && c.__resv[1] == 0; }

bool export_zero(const uapi::zcrx_ctrl_export& e) {
  if (e.zcrx_fd != 0) return false;
  for (uint32_t w : e.__resv1)
    if (w != 0) return false;
  return true;
}

}  // namespace

int Engine::export_ifq(Ctx* ctx, const uapi::zcrx_ctrl& ctrl, ExportBox** box_out) {
  Impl& en = *impl_;
  if (ctx == nullptr || ctx->terminated()) return -EBADF;
  if (!ctrl_resv_zero(ctrl)) return -EFAULT;
  Ifq* e = ctx->lookup(ctrl.zcrx_id);
  if (e == nullptr || e->impl()->real == nullptr) return -ENXIO;
  if (ctrl.op != uapi::ZCRX_CTRL_EXPORT) return -EOPNOTSUPP;
  if (!export_zero(ctrl.zc_export)) return -EINVAL;
  Ifq* real = e->impl()->real;
  Impl::get_user(real);
  auto* box = new ExportBox{real};
  en.boxes.insert(box);
  *box_out = box;
  return 0;
}

// zcrx_box_release: unregister with no ctx, so the master is left alone.
void Engine::release_box(ExportBox* box) {
  Impl& en = *impl_;
  if (box == nullptr || en.boxes.erase(box) == 0) return;
  Ifq* real = box->real;
  delete box;
  en.unregister(real, nullptr);
}

int Engine::check_shared_reg(const uapi::io_uring_zcrx_ifq_reg& reg) {
  if (int err = check_reg_common(reg)) return err;
  // kZcrxRegImport == kZcrxIfqRegClone: the descriptor tells them apart.
  if (reg.flags & ~uapi::kZcrxRegImport) return -EINVAL;
  // Events belong to the real ifq's registration.
  if (reg.event_desc != 0) return -EINVAL;
  return 0;
}

Ifq* Engine::box_ifq(const ExportBox* box) { return box ? box->real : nullptr; }

int Engine::import_rq_layout(const ExportBox* box, RqRegionLayout* out) const {
  if (box == nullptr) return -EBADF;
  *out = rq_region_layout(box->real->impl()->rq_entries);
  return 0;
}

int Engine::import_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg, ExportBox* box,
                       Mapping rq_mem) {
  Impl& en = *impl_;
  if (ctx == nullptr || ctx->terminated()) return -EBADF;
  if (int err = check_shared_reg(reg)) return err;
  if (reg.if_rxq || reg.rq_entries || reg.area_ptr || reg.region_ptr) return -EINVAL;
  if (box == nullptr || en.boxes.count(box) == 0) return -EBADF;

  Ifq* real = box->real;
  Impl::get_user(real);
  // From here every failure undoes with zcrx_unregister(ifq, ctx), as
  // the kernel's import error path does (seed 000).
  Impl::Attached a;
  if (int err = en.attach_entry(IfqKind::import, ctx, real, rq_mem, &a)) {
    en.unregister(real, ctx);
    return err;
  }
  en.publish_entry(a, reg);
  return 0;
}

}  // namespace zcrx::core
