/* SPDX-License-Identifier: MIT */
/* The pattern functions as compiled by the C compiler (tcp_pattern_c.c). */
#ifndef ZCRX_TESTS_TCP_PATTERN_C_H
#define ZCRX_TESTS_TCP_PATTERN_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void tcp_pattern_c_fill(uint8_t* dst, size_t len, uint64_t conn, uint64_t off);
uint64_t tcp_pattern_c_count_mismatches(const uint8_t* p, size_t len, uint64_t conn,
                                        uint64_t off);

#ifdef __cplusplus
}
#endif

#endif
