// SPDX-License-Identifier: MIT
// Shared plumbing of the baseline programs: clocks, process CPU time, a
// stop flag for SIGINT/SIGTERM, a latency histogram and the machine-readable
// final line `RESULT {json}` that bench/run parses.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace zcrx::bench {

/// Seconds on CLOCK_MONOTONIC.
inline double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Nanoseconds on the given clock.
inline int64_t now_ns(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// User and system CPU seconds consumed so far (who = RUSAGE_SELF for the
/// whole process, RUSAGE_THREAD for the calling thread only).
struct CpuTimes {
  double user_s = 0;
  double sys_s = 0;
};

inline CpuTimes cpu_times(int who = RUSAGE_SELF) {
  rusage ru{};
  getrusage(who, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return {secs(ru.ru_utime), secs(ru.ru_stime)};
}

/// Set by SIGINT/SIGTERM; loops poll it between bursts. Relaxed is enough:
/// it is a one-way flag and nothing else is published through it.
inline std::atomic<bool> g_stop{false};

inline void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_stop.store(true, std::memory_order_relaxed); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

inline bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }

/// Builds one flat JSON object, key by key, for the RESULT line.
class JsonLine {
 public:
  JsonLine& num(const char* key, double v) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", v);
    return raw(key, buf);
  }
  JsonLine& integer(const char* key, uint64_t v) {
    return raw(key, std::to_string(v));
  }
  JsonLine& sint(const char* key, int64_t v) { return raw(key, std::to_string(v)); }
  JsonLine& boolean(const char* key, bool v) { return raw(key, v ? "true" : "false"); }
  JsonLine& str(const char* key, const std::string& v) {
    std::string q = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') q += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) q += c;
    }
    q += '"';
    return raw(key, q);
  }
  /// Adds an already-encoded JSON value.
  JsonLine& raw(const char* key, const std::string& json) {
    if (!body_.empty()) body_ += ',';
    body_ += '"';
    body_ += key;
    body_ += "\":";
    body_ += json;
    return *this;
  }
  JsonLine& cpu(const CpuTimes& c) {
    return num("cpu_user_s", c.user_s).num("cpu_sys_s", c.sys_s);
  }
  /// Prints `RESULT {...}` on stdout and flushes it.
  void print() const {
    printf("RESULT {%s}\n", body_.c_str());
    fflush(stdout);
  }

 private:
  std::string body_;
};

/// Latency histogram: 16 linear sub-buckets per power of two of
/// nanoseconds, so any percentile is within 1/16 (6%) of the true value.
/// Fixed size, no allocation on record().
class LatencyHistogram {
 public:
  static constexpr int kSub = 16;
  static constexpr int kBuckets = 64 * kSub;

  void record(int64_t ns) {
    if (ns < 0) {
      negative_++;
      ns = 0;
    }
    counts_[index_of(static_cast<uint64_t>(ns))]++;
    total_++;
  }
  uint64_t total() const { return total_; }
  uint64_t negative() const { return negative_; }

  /// Upper bound (ns) of the bucket holding quantile q in [0,1]; 0 if empty.
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (want >= total_) want = total_ - 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; i++) {
      seen += counts_[i];
      if (seen > want) return upper_of(i);
    }
    return upper_of(kBuckets - 1);
  }

  /// Adds p50/p90/p99/p999/max/mean fields and a compact CDF
  /// ([[ns, fraction], ...] at the non-empty buckets, at most ~120 points).
  void add_to(JsonLine& j) const {
    j.integer("lat_samples", total_);
    j.integer("lat_p50_ns", quantile(0.50));
    j.integer("lat_p90_ns", quantile(0.90));
    j.integer("lat_p99_ns", quantile(0.99));
    j.integer("lat_p999_ns", quantile(0.999));
    j.integer("lat_negative", negative_);
    std::string cdf = "[";
    uint64_t seen = 0;
    int points = 0;
    for (int i = 0; i < kBuckets && total_ > 0; i++) {
      if (counts_[i] == 0) continue;
      seen += counts_[i];
      if (points++ > 0) cdf += ',';
      char buf[64];
      snprintf(buf, sizeof buf, "[%" PRIu64 ",%.6f]", upper_of(i),
               static_cast<double>(seen) / static_cast<double>(total_));
      cdf += buf;
    }
    cdf += ']';
    j.raw("lat_cdf", cdf);
  }

 private:
  static int index_of(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    int msb = 63 - __builtin_clzll(v);          // >= 4
    int shift = msb - 4;                         // keep 4 bits below the msb
    int sub = static_cast<int>((v >> shift) & (kSub - 1));
    int idx = (msb - 3) * kSub + sub;
    return idx < kBuckets ? idx : kBuckets - 1;
  }
  static uint64_t upper_of(int idx) {
    if (idx < kSub) return static_cast<uint64_t>(idx);
    int msb = idx / kSub + 3;
    int sub = idx % kSub;
    return ((uint64_t{kSub} + static_cast<uint64_t>(sub) + 1) << (msb - 4)) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t negative_ = 0;
};

/// Parses a non-negative decimal (with optional k/M/G suffix) or returns
/// false. Used for --rate 200k style arguments.
inline bool parse_scaled(const char* s, double* out) {
  char* end = nullptr;
  double v = strtod(s, &end);
  if (end == s || v < 0) return false;
  if (*end == 'k' || *end == 'K') { v *= 1e3; end++; }
  else if (*end == 'M' || *end == 'm') { v *= 1e6; end++; }
  else if (*end == 'G' || *end == 'g') { v *= 1e9; end++; }
  if (*end != '\0') return false;
  *out = v;
  return true;
}

/// A UDP socket bound to `addr`:`port` with SO_RCVBUFFORCE `rcvbuf` (root
/// only; ignored otherwise), as every kernel receiver here opens it.
/// Returns the fd, or -1 after printing "`tag`: <call>: <error>".
inline int open_udp_receiver(const char* addr, int port, int rcvbuf, const char* tag) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    fprintf(stderr, "%s: socket: %m\n", tag);
    return -1;
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    fprintf(stderr, "%s: bind %s:%d: %m\n", tag, addr, port);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace zcrx::bench
