/* SPDX-License-Identifier: MIT */
/* Compiled as C: zcrx/zcrx.h must be a valid C header. Drives the C API
 * over an already connected session socket handed in by the C++ test. */
#include "c_api_smoke.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "zcrx/zcrx.h"

int c_api_not_connected(void) {
  struct zcrx_ring *ring;
  int r = zcrx_ring_new(&ring);
  if (r) return r;
  r = zcrx_create(ring, 8, 0);
  if (r != -ENOTCONN) {
    zcrx_ring_free(ring);
    return r == 0 ? -1 : r;
  }
  r = zcrx_connect(ring, "/nonexistent/zcrx.sock");
  zcrx_ring_free(ring);
  return r;
}

int c_api_prep(void *sqe_mem) {
  struct zcrx_sqe *sqe = (struct zcrx_sqe *)sqe_mem;
  zcrx_prep_recv_zc(sqe, 3, 1, 0, 1, 99);
  return 0;
}

int c_api_datagram_end(unsigned flags) {
  struct zcrx_cqe32 c;
  memset(&c, 0, sizeof(c));
  c.res = 100;
  c.flags = flags;
  return zcrx_cqe_is_datagram_end(&c);
}

int c_api_prep_sockets(void *sqe_mem, const void *buf) {
  unsigned char *m = (unsigned char *)sqe_mem;
  zcrx_prep_accept((struct zcrx_sqe *)(m + 0 * 64), 1030, 1, 11);
  zcrx_prep_accept((struct zcrx_sqe *)(m + 1 * 64), 1030, 0, 12);
  zcrx_prep_connect((struct zcrx_sqe *)(m + 2 * 64), 1031, (10u << 24) | (77u << 16) | 2u, 5001,
                    13);
  zcrx_prep_send((struct zcrx_sqe *)(m + 3 * 64), 1031, buf, 1000, 14);
  zcrx_prep_shutdown((struct zcrx_sqe *)(m + 4 * 64), 1031, SHUT_WR, 15);
  zcrx_prep_close((struct zcrx_sqe *)(m + 5 * 64), 1031, 16);
  zcrx_prep_cancel_fd((struct zcrx_sqe *)(m + 6 * 64), 1031, ZCRX_ASYNC_CANCEL_ALL, 17);
  zcrx_prep_cancel_flags((struct zcrx_sqe *)(m + 7 * 64), 13, ZCRX_ASYNC_CANCEL_ALL, 18);
  return 0;
}

int c_api_accept_peer(int res, uint64_t off, uint32_t *ip, uint16_t *port) {
  struct zcrx_cqe32 c;
  memset(&c, 0, sizeof(c));
  c.res = res;
  c.off = off;
  return zcrx_accept_peer(&c, ip, port);
}

int c_api_flow_specs(struct zcrx_flow_spec *udp6, struct zcrx_flow_spec *five4,
                     struct zcrx_flow_spec *five6) {
  const uint8_t src4[4] = {10, 0, 0, 1}, dst4[4] = {10, 0, 0, 2};
  uint8_t src6[16], dst6[16];
  unsigned i;
  for (i = 0; i < 16; i++) {
    src6[i] = (uint8_t)(0x20 + i);
    dst6[i] = (uint8_t)(0x40 + i);
  }
  *udp6 = zcrx_flow_udp(9000, 6);
  *five4 = zcrx_flow_five_tuple(4, src4, 40000, dst4, 9001);
  *five6 = zcrx_flow_five_tuple(6, src6, 40001, dst6, 9002);
  return 0;
}
