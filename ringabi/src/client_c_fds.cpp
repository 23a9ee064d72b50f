// SPDX-License-Identifier: MIT
// zcrx_send_fds / zcrx_recv_fds (zcrx/zcrx.h): descriptor passing between
// consumers, on the same SCM_RIGHTS code as the control protocol.
#include <cerrno>
#include <cstring>

#include "zcrx/proto.h"
#include "zcrx/zcrx.h"

static_assert(ZCRX_MAX_PASS_FDS == zcrx::proto::kMaxFds);

extern "C" {

int zcrx_send_fds(int sock, const void* buf, size_t len, const int* fds, unsigned nfds) {
  if (len == 0) return -EINVAL;  // a SEQPACKET peer would read it as the close
  return zcrx::proto::send_msg(sock, buf, len, fds, nfds);
}

int zcrx_recv_fds(int sock, void* buf, size_t cap, int* fds, unsigned max_fds, unsigned* nfds) {
  *nfds = 0;
  zcrx::proto::RecvdMsg m;
  if (int r = zcrx::proto::recv_msg(sock, buf, cap, m, max_fds)) return r;
  if (m.truncated || m.ctrunc) {
    zcrx::proto::close_fds(m);
    return -EMSGSIZE;
  }
  for (unsigned i = 0; i < m.nfds; i++) fds[i] = m.fds[i];
  *nfds = m.nfds;
  return static_cast<int>(m.len);
}

}  // extern "C"
