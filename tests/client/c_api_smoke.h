/* SPDX-License-Identifier: MIT */
#ifndef TESTS_CLIENT_C_API_SMOKE_H
#define TESTS_CLIENT_C_API_SMOKE_H
#include <stdint.h>

#include "zcrx/zcrx.h"
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
/* Eight SQEs: accept x2, connect, send, shutdown, close, cancel by fd, cancel all. */
int c_api_prep_sockets(void *sqe_mem, const void *buf);
/* zcrx_accept_peer from C on a CQE with this res and off: its return, the
 * address and port through ip/port. */
int c_api_accept_peer(int res, uint64_t off, uint32_t *ip, uint16_t *port);
/* zcrx_flow_udp and zcrx_flow_five_tuple from C: UDP port 9000 over
 * IPv6; 10.0.0.1:40000 -> 10.0.0.2:9001; 20 21 .. 2f port 40001 ->
 * 40 41 .. 4f port 9002 (IPv6). */
int c_api_flow_specs(struct zcrx_flow_spec *udp6, struct zcrx_flow_spec *five4,
                     struct zcrx_flow_spec *five6);
#ifdef __cplusplus
}
#endif
#endif
