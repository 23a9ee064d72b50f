// SPDX-License-Identifier: MIT
// zcrx_tcp command line (see --help).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace zcrx_tcp {

enum class Role { server, client };
enum class Wait { busy_poll, eventfd, adaptive };

struct Options {
  Role role = Role::server;
  std::string socket;        // empty: libzcrx's default path
  uint32_t ip = 0;           // host byte order (--listen / --connect)
  uint16_t tcp_port = 0;
  /// server: exit once this many connections ended (0: run until stopped);
  /// client: connections at once.
  uint32_t connections = 0;
  uint64_t bytes = 0;        // per connection: server expects, client sends
  bool bytes_given = false;
  uint32_t chunk_kb = 256;   // client: bytes per SEND
  uint64_t pause_after = 0;  // server: stop refilling once a connection got this many
  uint32_t pause_ms = 0;     //         ... for this long (0: never pause)
  double timeout_s = 0;      // give up (and fail) after this long; 0: never
  uint32_t max_conns = 1024; // server: connection table (more are closed at once)
  Wait wait = Wait::adaptive;
  uint32_t spin_us = 50;
  bool quiet = false;
  bool conn_lines = false;   // a CONN line per connection (else only the bad ones)
  uint32_t port = 0;         // DPDK port and queue of the registration
  uint32_t queue = 0;
  uint32_t sq_entries = 1024;
  uint32_t cq_entries = 32768;
  uint32_t rq_entries = 4096;
  uint64_t area_mb = 64;
  uint32_t rx_buf_len = 0;   // 0: zcrxd's default
};

void usage(FILE* out);
/// Parses argv. Returns 0 to run, 1 after --help, -1 on a usage error
/// (message printed).
int parse_options(int argc, char** argv, Options& o);
const char* role_name(Role r);

}  // namespace zcrx_tcp
