// SPDX-License-Identifier: MIT
// zcrxd's DPDK log types, so that `--log-level=zcrxd.control:debug` (or
// `--log-level='zcrxd.*:warning'`) sets them like any other EAL log type:
//   zcrxd.control   rings coming and going (registration, clone, import,
//                   teardown, each with the peer's pid and uid), refusals
//                   of a limit, rings marked corrupt (default: info)
//   zcrxd.datapath  the receive mode a queue was bound in (default: info)
// Nothing is logged per packet. Lines start with "zcrxd: " like zcrxd's
// other output; the EAL writes them to stdout (and to syslog).
// The periodic stats lines are not log lines: they stay on stdout.
#pragma once

#include <rte_log.h>

namespace zcrxd {

extern int log_control;
extern int log_datapath;

}  // namespace zcrxd

/// ZLOG(control, INFO, "ring of pid %d ...\n", ...): one line of type
/// zcrxd.<type> at RTE_LOG_<level>.
#define ZLOG(type, level, ...) \
  rte_log(RTE_LOG_##level, ::zcrxd::log_##type, "zcrxd: " __VA_ARGS__)
