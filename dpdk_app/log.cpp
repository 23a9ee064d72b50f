// SPDX-License-Identifier: MIT
#include "log.h"

namespace zcrxd {

int log_control = RTE_LOGTYPE_EAL;  // until registered (a failed registration keeps it)
int log_datapath = RTE_LOGTYPE_EAL;

}  // namespace zcrxd

// Before main, as RTE_LOG_REGISTER does: the EAL applies --log-level to the
// registered types when it parses its arguments, and a level given for a
// pattern before registration is picked up by it.
RTE_INIT(zcrxd_log_register) {
  int t = rte_log_register_type_and_pick_level("zcrxd.control", RTE_LOG_INFO);
  if (t >= 0) zcrxd::log_control = t;
  t = rte_log_register_type_and_pick_level("zcrxd.datapath", RTE_LOG_INFO);
  if (t >= 0) zcrxd::log_datapath = t;
}
