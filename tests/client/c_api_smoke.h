/* SPDX-License-Identifier: MIT */
#ifndef TESTS_CLIENT_C_API_SMOKE_H
#define TESTS_CLIENT_C_API_SMOKE_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* zcrx_create before connect, then a connect to a missing socket: returns
 * the connect's result (-ENOENT expected). */
int c_api_not_connected(void);
/* Fills the 64 bytes at sqe_mem with a multishot RECV_ZC (flow 3, id 1,
 * user_data 99). */
int c_api_prep(void *sqe_mem);
/* zcrx_cqe_is_datagram_end, from C, on a CQE with these flags. */
int c_api_datagram_end(unsigned flags);
/* Fills six SQEs (6 * 64 bytes at sqe_mem) from C: multishot ACCEPT on
 * 1030 (user_data 11), single ACCEPT on 1030 (12), CONNECT 1031 to
 * 10.77.0.2:5001 (13), SEND of 1000 bytes at buf on 1031 (14), SHUTDOWN
 * SHUT_WR (15), CLOSE (16). */
int c_api_prep_sockets(void *sqe_mem, const void *buf);
/* zcrx_accept_peer from C on a CQE with this res and off: its return, the
 * address and port through ip/port. */
int c_api_accept_peer(int res, uint64_t off, uint32_t *ip, uint16_t *port);
#ifdef __cplusplus
}
#endif
#endif
