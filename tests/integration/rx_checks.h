// SPDX-License-Identifier: MIT
// The assertions every byte-exact receive test makes on a receive()
// result, in one place.
#pragma once

#include <cstdint>

#include <doctest/doctest.h>

#include "consumer.h"

namespace itest {

/// All `n` datagrams arrived, none off the pattern, no CQE outside the
/// area, no error CQE.
inline void check_clean_receive(const RxResult& r, uint64_t n) {
  CHECK(r.packets == n);
  CHECK(r.bad_payloads == 0);
  CHECK(r.bad_offsets == 0);
  CHECK(r.errors == 0);
}

}  // namespace itest
