// SPDX-License-Identifier: MIT
// kernel_zcrx_probe: asks the running kernel for the real io_uring zero-copy
// receive on an interface's RX queue (IORING_REGISTER_ZCRX_IFQ) and reports
// what it says. Virtual NICs (veth) have no queue management ops, so the
// kernel refuses with EOPNOTSUPP; the benchmark prints that and carries on.
// Raw syscalls: the installed liburing predates zcrx, the ABI structs come
// from the project's kernel-identical uapi.h.
#include <getopt.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench_common.h"
#include "zcrx/uapi.h"

namespace {

using namespace zcrx::bench;
namespace uapi = zcrx::uapi;

constexpr unsigned kRegisterZcrxIfq = 32;  // IORING_REGISTER_ZCRX_IFQ
constexpr unsigned kSetupSingleIssuer = 1u << 12;
constexpr unsigned kSetupDeferTaskrun = 1u << 13;

void usage(FILE* f) {
  fprintf(f,
          "usage: kernel_zcrx_probe --ifname NAME [--queue N]\n"
          "Tries IORING_REGISTER_ZCRX_IFQ on RX queue N (default 0) of NAME.\n"
          "Prints one line: 'kernel zcrx: supported (zcrx_id=..)' or\n"
          "'kernel zcrx: unsupported on this NIC (EOPNOTSUPP)' or the error the\n"
          "kernel gave, then RESULT {json} with supported, errno, step.\n"
          "Exit status 0 whenever the kernel answered, 1 if the probe itself failed.\n");
}

}  // namespace

int main(int argc, char** argv) {
  const char* ifname = nullptr;
  unsigned queue = 0;
  static const option longopts[] = {{"ifname", required_argument, nullptr, 'i'},
                                    {"queue", required_argument, nullptr, 'q'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 'i': ifname = optarg; break;
      case 'q': queue = static_cast<unsigned>(atoi(optarg)); break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (!ifname) {
    usage(stderr);
    return 2;
  }
  JsonLine j;
  j.str("prog", "kernel_zcrx_probe").str("ifname", ifname).integer("queue", queue);
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) {
    printf("kernel zcrx: no interface %s (%s)\n", ifname, strerror(errno));
    j.boolean("supported", false).sint("errno", errno).str("step", "ifindex").print();
    return 1;
  }

  // zcrx needs a DEFER_TASKRUN ring with 32-byte CQEs.
  io_uring_params p{};
  p.flags = kSetupSingleIssuer | kSetupDeferTaskrun | uapi::kSetupCqe32;
  int ring_fd = static_cast<int>(syscall(__NR_io_uring_setup, 8, &p));
  if (ring_fd < 0) {
    int e = errno;
    printf("kernel zcrx: io_uring_setup failed (%s)\n", strerror(e));
    j.boolean("supported", false).sint("errno", e).str("step", "setup").print();
    return 1;
  }

  // Area: 64 pages of anonymous memory. RQ: a user-memory region.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t area_len = 64 * page;
  const unsigned rq_entries = 64;
  const size_t rq_len = 4 * page;
  void* area = mmap(nullptr, area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* rq = mmap(nullptr, rq_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED || rq == MAP_FAILED) {
    perror("kernel_zcrx_probe: mmap");
    return 1;
  }
  uapi::io_uring_zcrx_area_reg area_reg{};
  area_reg.addr = reinterpret_cast<uint64_t>(area);
  area_reg.len = area_len;
  uapi::io_uring_region_desc region{};
  region.user_addr = reinterpret_cast<uint64_t>(rq);
  region.size = rq_len;
  region.flags = uapi::kMemRegionTypeUser;
  uapi::io_uring_zcrx_ifq_reg reg{};
  reg.if_idx = ifindex;
  reg.if_rxq = queue;
  reg.rq_entries = rq_entries;
  reg.area_ptr = reinterpret_cast<uint64_t>(&area_reg);
  reg.region_ptr = reinterpret_cast<uint64_t>(&region);

  long ret = syscall(__NR_io_uring_register, ring_fd, kRegisterZcrxIfq, &reg, 1);
  int e = ret < 0 ? errno : 0;
  close(ring_fd);
  if (ret == 0) {
    printf("kernel zcrx: supported (zcrx_id=%u on %s queue %u)\n", reg.zcrx_id, ifname, queue);
    j.boolean("supported", true).sint("errno", 0).str("step", "register");
  } else if (e == EOPNOTSUPP) {
    printf("kernel zcrx: unsupported on this NIC (EOPNOTSUPP)\n");
    j.boolean("supported", false).sint("errno", e).str("step", "register");
  } else {
    printf("kernel zcrx: registration failed: %s (errno %d)\n", strerror(e), e);
    j.boolean("supported", false).sint("errno", e).str("step", "register");
  }
  j.cpu(cpu_times()).print();
  return 0;
}
