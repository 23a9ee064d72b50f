// SPDX-License-Identifier: MIT
// impair_relay's command line: two interfaces, a seed, and per-direction
// impairments (`--loss P` sets both directions, `--loss-ab P` only frames
// from interface A to B, `--loss-ba P` only B to A; later options win).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "impair.h"

namespace zcrx::tools {

enum Direction : unsigned { kAtoB = 0, kBtoA = 1 };

struct RelayOptions {
  std::string if_a;
  std::string if_b;
  uint64_t seed = 1;
  double stats_s = 0;        // 0: counters only at exit
  uint32_t slots = 4096;     // frames queued per direction (delay line)
  uint32_t hold = 256;       // frames held for reordering per direction
  uint32_t ring_kb = 8192;   // AF_PACKET receive ring per interface
  bool impair_arp = false;   // ARP normally passes unimpaired (delay only)
  bool keep_gro = false;     // normally GRO is turned off on both interfaces
  bool see_outgoing = false; // receive outgoing frames and skip them ourselves
  ImpairConfig dir[2];
};

struct RelayParse {
  std::optional<RelayOptions> options;  // set when the command line is valid
  bool help = false;                    // --help was asked for
  std::string error;                    // why not, otherwise
};

RelayParse parse_relay_options(int argc, const char* const* argv);

/// The --help text.
const char* relay_usage();

}  // namespace zcrx::tools
