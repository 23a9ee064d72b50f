// SPDX-License-Identifier: MIT
// TCP options on the wire (RFC 9293 3.1, RFC 7323, RFC 2018): what the
// owner uses to fill RxSegment::opts from a received header and to write
// TxSegment::opts into the header it builds. DPDK-free, no allocation.
#pragma once

#include <cstdint>

#include "zcrx/tcp/engine.h"

namespace zcrx::tcp {

/// Option kinds (IANA).
enum : uint8_t {
  kOptEnd = 0,
  kOptNop = 1,
  kOptMss = 2,
  kOptWscale = 3,
  kOptSackPermitted = 4,
  kOptSack = 5,
  kOptTimestamps = 8,
};

/// Largest options area of a TCP header (data offset 15 words).
inline constexpr uint32_t kMaxOptionBytes = 40;
/// RFC 7323 2.3: a larger shift is used as 14.
inline constexpr uint8_t kMaxWscale = 14;

/// Parses the options area of a TCP header (the bytes after the fixed 20)
/// into `out` (reset first). MSS, window scale and SACK-permitted count
/// only on a SYN (`syn`), SACK blocks only on other segments (RFC 9293
/// 3.2, RFC 7323 2.2, RFC 2018 2-3); unknown kinds are skipped; a window
/// scale above 14 is read as 14. Returns 0, or -EINVAL when the list is
/// malformed (a length below 2 or past the end, a known option of the
/// wrong length): what was parsed before stays in `out`, as Linux keeps
/// it, and the segment may still be used.
int parse_options(const uint8_t* p, uint32_t len, bool syn, Options& out);

/// Bytes `o` takes on the wire, padded to a multiple of 4 (at most 40:
/// SACK blocks beyond what fits are not counted).
uint32_t options_wire_len(const Options& o);

/// Writes `o` in Linux's layout (MSS; SACK-permitted with timestamps;
/// NOP + window scale; NOPs + SACK blocks), padded with NOPs to
/// options_wire_len(o). Returns the bytes written, 0 when `cap` is too
/// small.
uint32_t write_options(const Options& o, uint8_t* out, uint32_t cap);

}  // namespace zcrx::tcp
