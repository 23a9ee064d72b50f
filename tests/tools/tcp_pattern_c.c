/* SPDX-License-Identifier: MIT */
/* tcp_pattern.h compiled as C: the unit test compares these results with
 * the same calls compiled as C++, so C users get the same stream. */
#include "tcp_pattern_c.h"

#include "tcp_pattern.h"

void tcp_pattern_c_fill(uint8_t* dst, size_t len, uint64_t conn, uint64_t off) {
  tcp_pattern_fill(dst, len, conn, off);
}

uint64_t tcp_pattern_c_count_mismatches(const uint8_t* p, size_t len, uint64_t conn,
                                        uint64_t off) {
  return tcp_pattern_count_mismatches(p, len, conn, off);
}
