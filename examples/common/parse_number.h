// SPDX-License-Identifier: MIT
// Command-line numbers for the example programs: decimal, 0x hex or 0
// octal, the whole string, no sign, within a bound.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace zcrx_examples {

/// `s` as a number no larger than `max` into `*out`; false (and `*out`
/// untouched) for anything else.
inline bool parse_u64(const char* s, uint64_t max, uint64_t* out) {
  if (!s || !*s || *s == '-') return false;
  char* end;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (errno || *end || v > max) return false;
  *out = v;
  return true;
}

/// parse_u64 bounded by UINT32_MAX.
inline bool parse_u32(const char* s, uint32_t* out) {
  uint64_t v;
  if (!parse_u64(s, UINT32_MAX, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace zcrx_examples
