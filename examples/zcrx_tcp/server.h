// SPDX-License-Identifier: MIT
// zcrx_tcp's server: accept connections on zcrxd's TCP endpoint and
// receive each zero-copy (RECV_ZC on the socket), checking every byte
// against tcp_pattern.h.
#pragma once

#include "common.h"
#include "options.h"
#include "zcrx/client.h"

namespace zcrx_tcp {

/// Runs the server on `ring` (created, `ifq` registered) until --connections
/// ended, --timeout, SIGINT/SIGTERM or a fatal error; everything is
/// cancelled, closed and refilled before it returns. Setup errors (SOCKET,
/// BIND, LISTEN) are returned as -errno with nothing counted.
int run_server(zcrx::Ring& ring, zcrx::Ifq& ifq, const Options& o, Totals& t);

}  // namespace zcrx_tcp
