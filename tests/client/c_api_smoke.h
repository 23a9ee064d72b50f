/* SPDX-License-Identifier: MIT */
#ifndef TESTS_CLIENT_C_API_SMOKE_H
#define TESTS_CLIENT_C_API_SMOKE_H
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
#ifdef __cplusplus
}
#endif
#endif
