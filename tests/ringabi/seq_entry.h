// SPDX-License-Identifier: MIT
// The CQE the transfer tests send as their k-th entry: every field a
// different function of k, so a lost, duplicated, reordered or torn entry
// shows up as a mismatch in at least one field.
#pragma once

#include <cstdint>
#include <cstring>

#include "zcrx/uapi.h"

namespace zcrx::test {

inline uapi::io_uring_cqe32 seq_cqe(uint64_t k) {
  uapi::io_uring_cqe32 e{};
  e.cqe.user_data = k;
  e.cqe.res = static_cast<int32_t>(static_cast<uint32_t>(k * 2654435761u));
  e.cqe.flags = static_cast<uint32_t>(k >> 5) ^ 0x5a5a5a5au;
  e.zcqe.off = uapi::area_token(static_cast<uint32_t>(k & 0xffff)) | ((k * 4096) & 0xffffffffffffull);
  e.zcqe.__pad = ~k;
  return e;
}

inline bool is_seq_cqe(const uapi::io_uring_cqe32& e, uint64_t k) {
  uapi::io_uring_cqe32 want = seq_cqe(k);
  return std::memcmp(&e, &want, sizeof e) == 0;
}

}  // namespace zcrx::test
