// SPDX-License-Identifier: MIT
// Interface facts and settings the test tools need (in the caller's
// network namespace): index, MTU, and GRO through SIOCETHTOOL.
#pragma once

#include <string>

namespace zcrx::tools {

/// The interface's MTU, or -errno.
int netdev_mtu(const std::string& ifname);

/// Whether GRO is on (1), off (0), or -errno.
int netdev_gro(const std::string& ifname);

/// Turns GRO on or off (ETHTOOL_SGRO); 0 or -errno.
int netdev_set_gro(const std::string& ifname, bool on);

}  // namespace zcrx::tools
