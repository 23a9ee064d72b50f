// SPDX-License-Identifier: MIT
// The main() of zcrxd's tests that need an EAL: doctest run under an EAL
// of one lcore without hugepages or PCI, with the net_null vdevs a test
// file names.
#pragma once

#include <doctest/doctest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace zcrxd::testing {

/// Starts the EAL (--no-huge with `mem_mb` MiB, --no-pci, lcore 0, a file
/// prefix of `prefix` and the pid, one --vdev per entry of `vdevs`), runs
/// the doctest cases, cleans the EAL up. Returns doctest's result, or 77
/// (meson SKIP) after printing "SKIP: ..." when the EAL does not start.
inline int run_doctest_under_eal(int argc, char** argv, const char* prefix, const char* mem_mb,
                                 const std::vector<std::string>& vdevs) {
  const std::string file_prefix = prefix + std::to_string(getpid());
  std::vector<const char*> eal = {"test", "--no-huge", "-m", mem_mb, "--no-pci",
                                  "--no-telemetry", "--file-prefix", file_prefix.c_str(),
                                  "-l", "0", "--log-level", "lib.eal:error"};
  for (const std::string& v : vdevs) {
    eal.push_back("--vdev");
    eal.push_back(v.c_str());
  }
  if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) {
    std::printf("SKIP: EAL init failed (no --no-huge support here?)\n");
    return 77;
  }
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  rte_eal_cleanup();
  return rc;
}

}  // namespace zcrxd::testing
