// SPDX-License-Identifier: MIT
#include "checksum.h"

#include <bit>
#include <cstring>

namespace zcrxd {

namespace {

// Folds a wide sum of native-order words to 16 bits, still native order.
uint16_t fold_native(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return static_cast<uint16_t>(s);
}

uint16_t swap16(uint16_t v) { return static_cast<uint16_t>(v << 8 | v >> 8); }

// Native-order sum of `n` bytes that start at an even stream position.
uint64_t sum_span(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  // 32-bit words into a 64-bit sum: 2^32 words before it could overflow,
  // far beyond any datagram. Four at a time keeps the adds independent.
  uint64_t s1 = 0, s2 = 0, s3 = 0;
  while (n >= 16) {
    uint32_t w[4];
    std::memcpy(w, p, 16);
    s += w[0];
    s1 += w[1];
    s2 += w[2];
    s3 += w[3];
    p += 16;
    n -= 16;
  }
  s += s1 + s2 + s3;
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    s += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    s += w;
    p += 2;
    n -= 2;
  }
  if (n) {
    // The odd last byte is the high byte of a big-endian word: in native
    // order that is where a two-byte load of {b, 0} puts it.
    const uint8_t last[2] = {*p, 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    s += w;
  }
  return s;
}

}  // namespace

void InetSum::add(const uint8_t* p, size_t n) {
  if (n == 0) return;
  uint64_t s = sum_span(p, n);
  // A span starting at an odd position has its bytes one place off in
  // every word: its folded sum, byte-swapped, is their contribution.
  if (len_ & 1) s = swap16(fold_native(s));
  sum_ += s;
  // Keep the top bits clear so many spans cannot overflow either.
  if (sum_ >> 62) sum_ = fold_native(sum_);
  len_ += n;
}

uint16_t InetSum::fold() const {
  const uint16_t native = fold_native(sum_);
  // The words were loaded in host order; the sum of byte-swapped words is
  // the byte-swapped sum.
  return std::endian::native == std::endian::little ? swap16(native) : native;
}

bool ipv4_header_checksum_ok(const uint8_t* ip, uint32_t ihl) {
  InetSum s;
  s.add(ip, ihl);
  return s.fold() == 0xffff;
}

InetSum udp_pseudo_header(const uint8_t* src, const uint8_t* dst, size_t addr_len,
                          uint16_t udp_len) {
  InetSum s;
  s.add(src, addr_len);
  s.add(dst, addr_len);
  s.add16(17);  // zero byte, IPPROTO_UDP (IPv6: the 32-bit next header)
  s.add16(udp_len);
  return s;
}

uint16_t udp_checksum_field(const InetSum& with_zero_field) {
  const uint16_t c = static_cast<uint16_t>(~with_zero_field.fold());
  return c == 0 ? 0xffff : c;
}

uint16_t ipv4_header_checksum(const uint8_t* ip, uint32_t ihl) {
  InetSum s;
  s.add(ip, ihl);
  return static_cast<uint16_t>(~s.fold());
}

}  // namespace zcrxd
