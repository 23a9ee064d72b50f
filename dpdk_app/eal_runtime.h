// SPDX-License-Identifier: MIT
// Leaving no trace of the EAL behind: rte_eal_cleanup() releases memory
// but leaves the runtime directory (/var/run/dpdk/<file-prefix>, or under
// $XDG_RUNTIME_DIR) with its config and fbarray files.
#pragma once

namespace zcrxd {

/// rte_eal_cleanup(), then removes the files the EAL creates in its runtime
/// directory (config, fbarray_*, hugepage_info, mp_socket*,
/// dpdk_telemetry*) and the directory itself when nothing else is left in
/// it. Call once, after everything that uses DPDK has stopped.
void eal_cleanup_all();

}  // namespace zcrxd
