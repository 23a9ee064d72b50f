// SPDX-License-Identifier: MIT
// Pattern payloads without a per-packet fill: byte i >= 8 of the pattern
// (zcrx/pattern.h) is (seq * 131) ^ (i * 7) ^ (i >> 8) truncated to 8
// bits, which depends on seq only through seq mod 256. So 256 prebuilt
// bodies cover every sequence number; a datagram is the 8-byte sequence
// header (its own buffer) followed by body[seq & 0xff] from byte 8 on.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zcrx/pattern.h"

namespace zcrx::bench {

class PayloadTemplates {
 public:
  /// Builds the 256 bodies of `size` payload bytes (256 * size bytes).
  explicit PayloadTemplates(size_t size) : size_(size), bodies_(256 * (size ? size : 1)) {
    for (uint64_t k = 0; k < 256; k++) zcrx::pattern::fill(&bodies_[k * size_], size_, k);
  }

  size_t size() const { return size_; }

  /// Points `iov` at the payload of `seq`: iov[0] = `header` (where the
  /// caller keeps seq, 8 bytes, little endian) and iov[1] = the shared
  /// body; payloads shorter than 8 bytes (all zero) use iov[0] only.
  /// Returns the number of iovecs used (1 or 2). No copy, no allocation.
  int iovecs(uint64_t seq, uint64_t* header, iovec* iov) const {
    const uint8_t* body = &bodies_[(seq & 0xff) * size_];
    if (size_ < 8) {
      iov[0] = {const_cast<uint8_t*>(body), size_};
      return 1;
    }
    *header = seq;  // little-endian host: the pattern's first 8 bytes
    iov[0] = {header, 8};
    iov[1] = {const_cast<uint8_t*>(body) + 8, size_ - 8};
    return 2;
  }

 private:
  size_t size_;
  std::vector<uint8_t> bodies_;
};

}  // namespace zcrx::bench
