// SPDX-License-Identifier: MIT
#include "event_sink.h"

namespace zcrxd {

bool RingEvents::on_event(zcrx::core::Ifq& /*ifq: the ring knows its CQ*/, uint64_t user_data,
                          uint32_t type) {
  return ring_.post_event(user_data, static_cast<int32_t>(type));
}

}  // namespace zcrxd
