// SPDX-License-Identifier: MIT
// Internals of the liburing compatibility layer (zcrx/compat/liburing.h):
// the state behind a struct io_uring, and the socket table the shim fills.
#pragma once

#include <cstdint>
#include <vector>

#include "zcrx/client.h"
#include "zcrx/compat/liburing.h"

struct zcrx_uring {
  zcrx::Ring ring;
  unsigned setup_flags = 0;
  // SQEs taken since the last submit: io_uring_submit rewrites their fds
  // and CONNECT addresses before zcrxd may see them. Reserved to the SQ's
  // size at setup, so the datapath never allocates.
  std::vector<zcrx::uapi::io_uring_sqe*> taken;
};

namespace zcrx::compat {

/// The ring sockets are created on: the first ring set up and not yet
/// exited. Creates in zcrxd the sockets adopted before it (socket, bind,
/// listen as recorded); errors go to stderr and leave the fd unusable.
void sockets_attach_ring(zcrx_uring* u);
/// The ring goes away: its sockets' handles are void.
void sockets_detach_ring(zcrx_uring* u);
/// zcrxd's handle for the placeholder `fd`, or `fd` itself when it is not
/// one (a handle from ACCEPT, a flow). Lock-free: one relaxed check and an
/// acquire load per SQE.
int32_t socket_handle_for_sqe(int32_t fd);

}  // namespace zcrx::compat
