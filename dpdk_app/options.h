// SPDX-License-Identifier: MIT
// zcrxd's own command line: everything after the `--` that ends the EAL
// arguments. DPDK-free so it can be unit-tested.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "consumer_limits.h"
#include "net_config.h"

namespace zcrxd {

/// What a served queue does when the PMD refuses the area pool (--copy-mode).
enum class CopyMode : uint8_t {
  kAuto,    // zero-copy; copy mode when binding the area pool fails with
            // -EINVAL, -ENOTSUP or -EOPNOTSUPP
  kOff,     // zero-copy only: such a failure fails the registration
  kAlways,  // copy mode from the start
};

/// How received UDP datagrams' checksums are checked (--rx-csum).
enum class RxCsum : uint8_t {
  kAuto,      // the PMD's verdict where it gives one, else software
  kSoftware,  // always in software, whatever the PMD says
  kOff,       // not at all: the link is trusted (a deviation from Linux)
};

/// The TCP endpoint's settings (--tcp-*): what each queue's engine and
/// socket table are sized and configured with. TCP is on when --ip gave
/// at least one address.
struct TcpOptions {
  uint32_t max_conns = 1024;       // --tcp-max-conns: connections per queue, any state
  uint32_t rcvbuf = 4u << 20;      // --tcp-rcvbuf: receive window ceiling, bytes
  uint32_t sndbuf = 1u << 20;      // --tcp-sndbuf: send buffer per connection, bytes
  uint32_t time_wait_ms = 1000;    // --tcp-time-wait-ms (Linux: 60 s)
  bool cubic = false;              // --tcp-congestion cubic (default newreno)
  uint32_t backlog_max = 1024;     // --tcp-backlog-max: LISTEN's backlog ceiling
};

struct Options {
  uint16_t port = 0;
  std::vector<uint16_t> queues{0};  // RX queues served, ascending, distinct
  std::string socket_path;        // empty: zcrx::proto::default_socket_path()
  uint32_t socket_mode = 0600;
  std::string socket_group;       // empty: leave the group alone
  uint32_t burst = 32;            // rx_burst size, 1..kMaxBurst
  uint32_t stats_seconds = 0;     // 0: only at exit
  bool rx_timestamp = false;      // TSC after rx_burst in zcqe.__pad
  uint32_t rx_desc = 1024;        // RX descriptors of the served queue
  uint32_t rx_gate = 0;           // poll RX only once this many RECV_ZC are armed
  std::string inject_path;        // --inject: pcap transmitted on TX queue 0
  uint32_t inject_loops = 1;      // times through the file; 0: forever
  CopyMode copy_mode = CopyMode::kAuto;
  LimitConfig limits;             // --max-*: what one consumer may take
  /// A ring whose SQ stayed empty this long is no longer polled (its SQ
  /// flags get IORING_SQ_NEED_WAKEUP, as an SQPOLL thread's ring does)
  /// until the consumer wakes it; 0 polls every ring always.
  uint32_t sq_idle_ms = 10;
  RxCsum rx_csum = RxCsum::kAuto;
  uint32_t frag_max = 64;           // datagrams under reassembly per queue
  uint32_t frag_timeout_ms = 1000;  // a datagram's fragments are held this long
  NetConfig net;                    // --ip, --gateway, --mtu (TCP endpoint)
  TcpOptions tcp;
  bool help = false;
};

inline constexpr uint32_t kMaxBurst = 512;
/// Fragments of one datagram reassembly takes (RTE_LIBRTE_IP_FRAG_MAX_FRAG
/// of DPDK 22.11's build; reassembly.cpp checks they agree).
inline constexpr uint32_t kMaxFragments = 8;
/// Queues one zcrxd serves (one datapath lcore each).
inline constexpr uint32_t kMaxQueues = 16;
/// Highest RX queue index --queue accepts.
inline constexpr uint32_t kMaxQueueIndex = 1023;

/// Parses a --queue list: `N`, `N,M,...`, ranges `A-B`, or a mix
/// ("0,2-3"). Fills `out` with the queues in ascending order. Returns 0,
/// or -EINVAL after writing a one-line reason to `err` (empty item,
/// not a number, index above kMaxQueueIndex, A > B, a queue named twice,
/// more than kMaxQueues).
int parse_queue_list(const char* s, std::vector<uint16_t>* out, FILE* err);

/// Parses an --inject value: `PCAP` or `PCAP,loops=N` (N = 0: forever).
/// Returns 0, or -EINVAL after writing a one-line reason to `err` (empty
/// path, unknown key, N not a number or above 1e9).
int parse_inject(const char* s, std::string* path, uint32_t* loops, FILE* err);

/// Parses a --copy-mode value: `auto`, `off` or `always`. Returns 0, or
/// -EINVAL after writing a one-line reason to `err`.
int parse_copy_mode(const char* s, CopyMode* out, FILE* err);

/// The --copy-mode spelling of `m`.
const char* copy_mode_name(CopyMode m);

/// Parses an --rx-csum value: `auto`, `sw` or `off`. Returns 0, or
/// -EINVAL after writing a one-line reason to `err`.
int parse_rx_csum(const char* s, RxCsum* out, FILE* err);

/// The --rx-csum spelling of `m`.
const char* rx_csum_name(RxCsum m);

/// Parses zcrxd's options (argv[0] is a program name, as getopt expects).
/// Returns 0, or -EINVAL after writing a one-line reason to `err`.
int parse_options(int argc, char** argv, Options* out, FILE* err);

/// Writes the --help text.
void print_usage(FILE* out);

/// True when argv holds -h/--help after a `--` (or with no `--` at all):
/// zcrxd then prints its usage without initialising the EAL.
bool wants_help(int argc, char** argv);

}  // namespace zcrxd
