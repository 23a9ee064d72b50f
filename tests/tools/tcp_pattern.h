/* SPDX-License-Identifier: MIT */
/*
 * tcp_pattern.h: the byte stream every TCP test connection carries, so a
 * receiver can check every byte whatever the segmentation, loss, reordering
 * or retransmission in between.
 *
 * The stream of connection `conn` is a sequence of 64-bit words stored
 * little endian; byte `off` of the stream is byte (off % 8) of word
 * (off / 8). Word 0 is `conn ^ TCP_PATTERN_MAGIC`, so a receiver that does
 * not know which connection it holds reads the index from the first 8 bytes
 * (tcp_pattern_conn_of). Every later word is a bijective mix of (conn, word
 * index): a segment delivered at the wrong offset, twice, or from another
 * connection fails the check, and no two words of one stream are equal.
 *
 * Plain C99 with static inline functions: usable from C and C++ (the engine,
 * zcrxd's examples, tcp_peer). Nothing allocates; no global state.
 */
#ifndef ZCRX_TESTS_TCP_PATTERN_H
#define ZCRX_TESTS_TCP_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* "ZCRXTCP1": word 0 is the connection index xor this. */
#define TCP_PATTERN_MAGIC 0x315043545852435aull

/* Bytes at the start of a stream that carry the connection index. */
#define TCP_PATTERN_HEADER_BYTES 8u

/* Word `word_index` of connection `conn`'s stream (host value). */
static inline uint64_t tcp_pattern_word(uint64_t conn, uint64_t word_index) {
  if (word_index == 0) return conn ^ TCP_PATTERN_MAGIC;
  /* Odd multiplier: injective in word_index for a fixed conn; the
   * splitmix64 finaliser that follows is a bijection. */
  uint64_t z = word_index * 0x9e3779b97f4a7c15ull + (conn + 1) * 0xd1b54a32d192ed03ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Byte `off` of connection `conn`'s stream. */
static inline uint8_t tcp_pattern_byte(uint64_t conn, uint64_t off) {
  return (uint8_t)(tcp_pattern_word(conn, off >> 3) >> (8u * (unsigned)(off & 7u)));
}

/* The word as it lies in memory (little endian on every host). */
static inline uint64_t tcp_pattern_wire_word(uint64_t conn, uint64_t word_index) {
  uint64_t w = tcp_pattern_word(conn, word_index);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

/* Writes stream bytes [off, off + len) of connection `conn` to dst. */
static inline void tcp_pattern_fill(uint8_t* dst, size_t len, uint64_t conn, uint64_t off) {
  size_t i = 0;
  while (i < len && ((off + i) & 7u) != 0) {
    dst[i] = tcp_pattern_byte(conn, off + i);
    i++;
  }
  for (; i + 8 <= len; i += 8) {
    uint64_t w = tcp_pattern_wire_word(conn, (off + i) >> 3);
    memcpy(dst + i, &w, 8);
  }
  for (; i < len; i++) dst[i] = tcp_pattern_byte(conn, off + i);
}

/* Number of non-zero bytes in x. */
static inline unsigned tcp_pattern_nonzero_bytes(uint64_t x) {
  x |= x >> 4;
  x |= x >> 2;
  x |= x >> 1;
  return (unsigned)__builtin_popcountll(x & 0x0101010101010101ull);
}

/* How many of the `len` bytes at p differ from stream bytes [off, off + len)
 * of connection `conn` (0: all intact). */
static inline uint64_t tcp_pattern_count_mismatches(const uint8_t* p, size_t len, uint64_t conn,
                                                    uint64_t off) {
  uint64_t bad = 0;
  size_t i = 0;
  while (i < len && ((off + i) & 7u) != 0) {
    bad += p[i] != tcp_pattern_byte(conn, off + i);
    i++;
  }
  for (; i + 8 <= len; i += 8) {
    uint64_t got;
    memcpy(&got, p + i, 8);
    uint64_t diff = got ^ tcp_pattern_wire_word(conn, (off + i) >> 3);
    if (diff != 0) bad += tcp_pattern_nonzero_bytes(diff);
  }
  for (; i < len; i++) bad += p[i] != tcp_pattern_byte(conn, off + i);
  return bad;
}

/* Index (from p) of the first of `len` bytes that breaks the pattern of
 * connection `conn` at stream offset `off`, or `len` when all are intact. */
static inline size_t tcp_pattern_first_mismatch(const uint8_t* p, size_t len, uint64_t conn,
                                                uint64_t off) {
  for (size_t i = 0; i < len; i++) {
    if (((off + i) & 7u) == 0 && i + 8 <= len) {
      uint64_t got;
      memcpy(&got, p + i, 8);
      if (got == tcp_pattern_wire_word(conn, (off + i) >> 3)) {
        i += 7;
        continue;
      }
    }
    if (p[i] != tcp_pattern_byte(conn, off + i)) return i;
  }
  return len;
}

/* The connection index a stream's first TCP_PATTERN_HEADER_BYTES claim. */
static inline uint64_t tcp_pattern_conn_of(const uint8_t* header) {
  uint64_t w = 0;
  for (int b = 7; b >= 0; b--) w = (w << 8) | header[b];
  return w ^ TCP_PATTERN_MAGIC;
}

#endif /* ZCRX_TESTS_TCP_PATTERN_H */
