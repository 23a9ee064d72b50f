// SPDX-License-Identifier: MIT
// What the hostile-consumer tests need beyond RawSession: a raw ring's
// mapped region (to write SQEs and flags the way no libzcrx consumer
// would), and zcrxd's own resource figures from /proc (descriptors,
// resident memory, the control thread's CPU time).
#pragma once

#include <dirent.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "raw_session.h"
#include "zcrx/proto.h"
#include "zcrx/ring_layout.h"

namespace itest {

/// The region of a ring created over a RawSession, mapped here.
struct RawRing {
  zcrx::RingRegionLayout l{};
  void* base = nullptr;
  int fd = -1;

  RawRing() = default;
  RawRing(const RawRing&) = delete;
  RawRing& operator=(const RawRing&) = delete;
  ~RawRing() {
    if (base) munmap(base, l.size);
    if (fd >= 0) close(fd);
  }
  /// CREATE_RING on `s` and maps the region. 0 or the errno.
  int create(RawSession& s, uint32_t sq, uint32_t cq) {
    int rc = s.call(zcrx::proto::kOpCreateRing, zcrx::proto::CreateRingReq{sq, cq, 0, 0});
    if (rc) return rc;
    zcrx::proto::CreateRingReply rep;
    std::memcpy(&rep, s.body, sizeof(rep));
    fd = s.take_fd(0);
    l.sq_off = rep.sq_off;
    l.cq_off = rep.cq_off;
    l.sqes_off = rep.sqes_off;
    l.sq_entries = rep.sq_entries;
    l.cq_entries = rep.cq_entries;
    l.size = rep.size;
    base = mmap(nullptr, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      base = nullptr;
      return -errno;
    }
    return 0;
  }
  uint32_t& word(uint32_t off) { return *reinterpret_cast<uint32_t*>(static_cast<char*>(base) + off); }
  zcrx::SqProducer sq() { return zcrx::sq_producer(base, l); }
  zcrx::CqConsumer cq() { return zcrx::cq_consumer(base, l); }
};

/// Sends a request that gets no reply (SQ_WAKEUP). True when sent.
inline bool send_no_reply(RawSession& s, uint16_t op, const zcrx::proto::SqWakeupReq& b) {
  zcrx::proto::Request<zcrx::proto::SqWakeupReq> r{zcrx::proto::make_header(op, ++s.seq), b};
  return zcrx::proto::send_msg(s.sock, &r, sizeof(r), nullptr, 0) == 0;
}

/// Open descriptors of process `pid`.
inline int fd_count(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/// A "Key:   N kB" line of /proc/<pid>/status, in kB (-1 when missing).
inline long status_kb(pid_t pid, const char* key) {
  std::string path = "/proc/" + std::to_string(pid) + "/status";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  const size_t kl = std::strlen(key);
  while (std::fgets(line, sizeof(line), f))
    if (std::strncmp(line, key, kl) == 0 && line[kl] == ':') v = std::strtol(line + kl + 1, nullptr, 10);
  std::fclose(f);
  return v;
}

/// CPU time (user + system, clock ticks) of thread `tid` of `pid`.
inline long thread_cpu_ticks(pid_t pid, pid_t tid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return -1;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // Fields after the command name (which may hold spaces): state is the
  // 3rd field, utime the 14th, stime the 15th.
  const char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
                  &stime) != 2)
    return -1;
  return utime + stime;
}

}  // namespace itest
