// SPDX-License-Identifier: MIT
#include "eal_runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <rte_eal.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace zcrxd {

namespace {

// The names the EAL (22.11) gives what it creates in its runtime directory.
bool made_by_eal(const char* name) {
  static const char* const kPrefixes[] = {"config", "fbarray_", "hugepage_info", "mp_socket",
                                          "dpdk_telemetry"};
  for (const char* p : kPrefixes)
    if (std::strncmp(name, p, std::strlen(p)) == 0) return true;
  return false;
}

}  // namespace

void eal_cleanup_all() {
  const std::string dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  if (dir.empty()) return;
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  DIR* d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return;
  }
  while (dirent* e = readdir(d))
    if (made_by_eal(e->d_name)) unlinkat(dfd, e->d_name, 0);
  closedir(d);
  rmdir(dir.c_str());  // fails, and leaves it, when anything else is inside
}

}  // namespace zcrxd
