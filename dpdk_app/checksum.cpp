// SPDX-License-Identifier: MIT
#include "checksum.h"

#include <bit>

namespace zcrxd {

using csum_detail::fold_native;
using csum_detail::sum_span;

namespace {

uint16_t swap16(uint16_t v) { return static_cast<uint16_t>(v << 8 | v >> 8); }

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
