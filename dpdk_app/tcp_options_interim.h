// SPDX-License-Identifier: MIT
// INTERIM, TO BE REPLACED: TCP options on the wire, with the interface and
// the rules of zcrx/tcp/options.h (branch tcp-engine: zcrx::tcp::
// parse_options, options_wire_len, write_options), so that tcp_wire builds
// on a tree without the engine's library. When tcp-engine is merged,
// delete this file and its .cpp, include "zcrx/tcp/options.h" in
// tcp_wire.cpp and drop the `tcp_interim::` qualifiers there; the unit
// tests of tcp_wire then check the engine's implementation.
//
// Rules (RFC 9293 3.1, RFC 7323, RFC 2018): MSS, window scale and
// SACK-permitted count only on a SYN, SACK blocks only on other segments;
// unknown kinds are skipped by their length; a window scale above 14 is
// read as 14. A malformed list (a length below 2 or past the end, a known
// option of the wrong length) is -EINVAL, and what was parsed before it
// stays. Written in Linux's layout: MSS; SACK-permitted + timestamps (or
// NOP NOP + timestamps, or NOP NOP + SACK-permitted); NOP + window scale;
// NOP NOP + SACK blocks (at most 4, 3 beside timestamps).
#pragma once

#include <cstdint>

#include "zcrx/tcp/engine.h"

namespace zcrxd::tcp_interim {

enum : uint8_t {
  kOptEnd = 0,
  kOptNop = 1,
  kOptMss = 2,
  kOptWscale = 3,
  kOptSackPermitted = 4,
  kOptSack = 5,
  kOptTimestamps = 8,
};
inline constexpr uint32_t kMaxOptionBytes = 40;
inline constexpr uint8_t kMaxWscale = 14;

int parse_options(const uint8_t* p, uint32_t len, bool syn, zcrx::tcp::Options& out);
uint32_t options_wire_len(const zcrx::tcp::Options& o);
uint32_t write_options(const zcrx::tcp::Options& o, uint8_t* out, uint32_t cap);

}  // namespace zcrxd::tcp_interim
