// SPDX-License-Identifier: MIT
// tcp_peer's command line (see --help): which side it plays, what each
// connection carries, how many connections and how many at once.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>

namespace zcrx::tools {

enum class PeerRole { kListen, kConnect };
/// send: write --bytes of the pattern; recv: read and verify every byte;
/// sink: read and count.
enum class PeerMode { kSend, kRecv, kSink };

struct PeerOptions {
  PeerRole role = PeerRole::kListen;
  sockaddr_in addr{};
  PeerMode mode = PeerMode::kRecv;
  uint32_t conns = 1;          // at once
  uint64_t churn = 0;          // total connections (0: --conns)
  uint64_t bytes = 1 << 20;    // per connection
  bool bytes_given = false;    // sink checks the count only when given
  double timeout_s = 60;
  int mss = 0;                 // TCP_MAXSEG before connect/listen (0: kernel's)
  uint32_t io_kb = 256;        // bytes per read/write call
  uint64_t corrupt_at = UINT64_MAX;  // send: flip this byte of connection 0's stream
  double rate_gbit = 0;        // send: at most this many Gbit/s in all (0: no limit)
  bool quiet = false;

  uint64_t total() const { return churn ? churn : conns; }
};

struct PeerParse {
  std::optional<PeerOptions> options;
  bool help = false;
  std::string error;
};

PeerParse parse_peer_options(int argc, char* const* argv);

/// Parses "A.B.C.D:PORT".
bool parse_ipv4_endpoint(const std::string& s, sockaddr_in* out);

/// Parses a byte count with an optional K, M or G suffix (powers of 1024).
bool parse_size(const std::string& s, uint64_t* out);

const char* peer_usage();

}  // namespace zcrx::tools
