// SPDX-License-Identifier: MIT
// zcrx_rx command line.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "zcrx/client.h"

namespace zcrx_rx {

enum class Mode { register_ifq, clone, import };

struct Options {
  std::string socket;        // empty: libzcrx's default path
  zcrx::FlowSpec flow = zcrx::FlowSpec::raw();
  std::string flow_text = "raw";
  Mode mode = Mode::register_ifq;
  std::string share;         // register: offer; clone/import: take from
  uint64_t count = 0;        // datagrams; 0 = no limit
  /// Bytes every datagram must add up to over its CQEs (0: any); others
  /// count in bad_lengths and fail the run. UDP flows, unlimited requests.
  uint32_t datagram_size = 0;
  double duration = 0;       // seconds; 0 = no limit
  uint32_t len = 0;          // RECV_ZC byte limit; 0 = unlimited
  bool eventfd = false;      // else busy-poll
  bool adaptive = false;     // spin spin_us, then sleep on the eventfd
  uint32_t spin_us = 50;
  /// Completions a sleeping wait asks zcrxd for before it is woken
  /// (wait_cqe's min, io_uring_wait_cqes' wait_nr); at most cq_entries.
  uint32_t wait_nr = 1;
  /// A wait's timeout in µs, which bounds how long fewer than wait_nr
  /// completions may sit in the CQ. 0: 1000 with wait_nr > 1, else 100 ms
  /// (only for re-checking the stop conditions).
  uint32_t wait_usec = 0;
  bool latency = false;
  bool quiet = false;
  /// Read only the first and last payload byte (the scenario-1 consumer
  /// of docs/BENCHMARKS.md) instead of checking every byte: no payload is
  /// then counted bad, and RESULT says "check":"touch".
  bool touch = false;
  /// Register with a zcrx event descriptor (ZCRX_EVENT_ALLOC_FAIL and
  /// ZCRX_EVENT_COPY, with the shared copy counters): count each event
  /// CQE and re-arm it (register mode only: events go to the master).
  bool events = false;
  uint32_t port = 0;
  uint32_t queue = 0;
  uint32_t sq_entries = 64;
  uint32_t cq_entries = 16384;  // a completion for every buffer of the default area
  uint32_t rq_entries = 4096;
  uint64_t area_mb = 64;
  uint32_t rx_buf_len = 0;   // 0: zcrxd's default (4096)
  bool hugetlb = false;
  bool zcrxd_area = false;  // zcrxd makes the area (zcrx::kAreaMadeByZcrxd)
};

void usage(FILE* out);
/// Parses argv. Returns 0 to run, 1 after --help, -1 on a usage error
/// (message printed).
int parse_options(int argc, char** argv, Options& o);
const char* mode_name(Mode m);

}  // namespace zcrx_rx
