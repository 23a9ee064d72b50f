// SPDX-License-Identifier: MIT
// zcrx_tcp's client: connections through zcrxd's TCP endpoint, each
// sending its stream of tcp_pattern.h from the ring's TX region.
#pragma once

#include "common.h"
#include "options.h"
#include "zcrx/client.h"

namespace zcrx_tcp {

/// Runs --connections connections at once to --connect, --bytes each, on
/// `ring` (created, TX region registered, `ifq` registered: RECV_ZC tells
/// when the peer closed). Returns -errno when a SOCKET fails (nothing
/// counted), else 0 with the outcome in `t`.
int run_client(zcrx::Ring& ring, zcrx::Ifq& ifq, const Options& o, Totals& t);

}  // namespace zcrx_tcp
