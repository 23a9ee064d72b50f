// SPDX-License-Identifier: MIT
#include "netdev.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zcrx::tools {

namespace {

/// An ioctl on `ifname` through a throwaway datagram socket; 0 or -errno.
int ifreq_ioctl(const std::string& ifname, unsigned long request, ifreq* ifr) {
  if (ifname.size() >= IFNAMSIZ) return -ENAMETOOLONG;
  std::strncpy(ifr->ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  const int rc = ioctl(s, request, ifr) < 0 ? -errno : 0;
  close(s);
  return rc;
}

int ethtool_value_ioctl(const std::string& ifname, uint32_t cmd, uint32_t* data) {
  ethtool_value ev{};
  ev.cmd = cmd;
  ev.data = *data;
  ifreq ifr{};
  ifr.ifr_data = reinterpret_cast<char*>(&ev);
  const int rc = ifreq_ioctl(ifname, SIOCETHTOOL, &ifr);
  *data = ev.data;
  return rc;
}

}  // namespace

int netdev_mtu(const std::string& ifname) {
  ifreq ifr{};
  const int rc = ifreq_ioctl(ifname, SIOCGIFMTU, &ifr);
  return rc < 0 ? rc : ifr.ifr_mtu;
}

int netdev_gro(const std::string& ifname) {
  uint32_t on = 0;
  const int rc = ethtool_value_ioctl(ifname, ETHTOOL_GGRO, &on);
  return rc < 0 ? rc : (on != 0);
}

int netdev_set_gro(const std::string& ifname, bool on) {
  uint32_t v = on;
  return ethtool_value_ioctl(ifname, ETHTOOL_SGRO, &v);
}

}  // namespace zcrx::tools
