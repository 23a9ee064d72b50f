// SPDX-License-Identifier: MIT
#include "pmd_needs.h"

#include <pcap/pcap.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>

#include <sys/stat.h>

#include <cstring>
#include <string>
#include <vector>

namespace zcrxd {

namespace {

struct PcapArgs {
  std::vector<std::string> rx_files;
  bool infinite = false;
};

int collect(const char* key, const char* value, void* opaque) {
  auto* a = static_cast<PcapArgs*>(opaque);
  if (!value) value = "";
  if (std::strcmp(key, "rx_pcap") == 0) a->rx_files.emplace_back(value);
  if (std::strcmp(key, "infinite_rx") == 0) a->infinite = std::strcmp(value, "0") != 0;
  return 0;
}

uint32_t count_frames(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (!p) return 0;
  uint32_t n = 0;
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(p, &h, &data) == 1) n++;
  pcap_close(p);
  return n;
}

}  // namespace

uint32_t pmd_min_pool_buffers(uint16_t port, uint16_t rxq) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0 || !info.driver_name || !info.device ||
      std::strcmp(info.driver_name, "net_pcap") != 0)
    return 0;
  const rte_devargs* da = rte_dev_devargs(info.device);
  if (!da || !da->args) return 0;
  rte_kvargs* kv = rte_kvargs_parse(da->args, nullptr);
  if (!kv) return 0;
  PcapArgs a;
  rte_kvargs_process(kv, nullptr, collect, &a);
  rte_kvargs_free(kv);
  if (!a.infinite || rxq >= a.rx_files.size()) return 0;
  return count_frames(a.rx_files[rxq]);
}

namespace {

int find_path(const char* key, const char* value, void* opaque) {
  if (value && std::strcmp(key, "path") == 0) *static_cast<std::string*>(opaque) = value;
  return 0;
}

}  // namespace

bool pmd_reaches_external_memory(uint16_t port) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0 || !info.driver_name || !info.device ||
      std::strcmp(info.driver_name, "net_virtio_user") != 0)
    return true;
  const rte_devargs* da = rte_dev_devargs(info.device);
  if (!da || !da->args) return true;
  rte_kvargs* kv = rte_kvargs_parse(da->args, nullptr);
  if (!kv) return true;
  std::string path;
  rte_kvargs_process(kv, nullptr, find_path, &path);
  rte_kvargs_free(kv);
  // A vhost-user backend is a socket; vhost-vdpa and vhost-kernel are
  // character devices that map memory through other calls.
  struct stat st{};
  return stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode);
}

}  // namespace zcrxd
