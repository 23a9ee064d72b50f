// SPDX-License-Identifier: MIT
// A verifying consumer for the integration tests, on libzcrx: receives on
// one RECV_ZC, checks every payload byte against zcrx/pattern.h, records
// each sequence number and refills every buffer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "zcrx/client.h"

namespace itest {

struct RxResult {
  uint64_t packets = 0;       // datagrams: CQEs with kCqeFDatagramEnd
  uint64_t cqes = 0;          // data CQEs (a datagram may take several)
  uint64_t bytes = 0;
  uint64_t bad_payloads = 0;  // a datagram with a byte off the pattern
  uint64_t bad_offsets = 0;   // a CQE whose off/res lies outside the area
  uint64_t partial = 0;       // CQEs of a datagram that never ended
  uint64_t errors = 0;        // CQEs with res < 0 (last one in last_error)
  int32_t last_error = 0;
  bool ended = false;         // a CQE without F_MORE arrived
  int32_t end_res = 0;
  std::vector<uint64_t> seqs;   // per datagram
  std::vector<int32_t> sizes;   // per datagram: its CQEs' bytes added up
  std::vector<uint32_t> pieces; // per datagram: its CQEs
};

/// Receives completions of request `user_data` until `want` datagrams,
/// the request ends, or `timeout_ms` passes. A datagram's CQEs are put
/// together up to the one with kCqeFDatagramEnd and checked whole. With
/// `refill` every buffer goes back at once; without, buffers stay held (as
/// a stuck consumer's).
RxResult receive(zcrx::Ring& ring, zcrx::Ifq* ifq, uint64_t user_data, uint64_t want,
                 int timeout_ms, bool refill = true);

/// Connects to zcrxd at `socket` and creates a ring with 64 SQ and `cq`
/// CQ entries. Returns 0 or -errno.
int open_ring(zcrx::Ring& ring, const std::string& socket, uint32_t cq);

/// Connects, creates a ring (sq 64, cq `cq`), registers an ifq on port 0
/// RX queue `queue` with an area of `area_mb` MiB and 4096 RQ entries.
/// Returns the zcrx id or -errno.
int setup_master(zcrx::Ring& ring, const char* socket, zcrx::Ifq** ifq,
                 uint32_t cq = 4096, size_t area_mb = 16, uint32_t queue = 0);

/// Opens a UDP port flow and arms a multishot RECV_ZC (len 0 = unlimited)
/// with `user_data`. Returns the flow handle or -errno (-EBUSY: SQ full).
int arm_udp(zcrx::Ring& ring, uint32_t zcrx_id, uint16_t port, uint64_t user_data,
            uint32_t len = 0);

/// As arm_udp, for a raw flow: whole frames no other flow claims.
int arm_raw(zcrx::Ring& ring, uint32_t zcrx_id, uint64_t user_data, uint32_t len = 0);

/// Forks a process that runs `body` with the write end of a pipe and exits
/// with its return value; *read_fd gets the read end. Returns the child's
/// pid, or -1 (no child) when the pipe or the fork fails.
pid_t fork_child(const std::function<int(int write_fd)>& body, int* read_fd);

/// Forks a consumer that never refills, as one that hangs would: in the
/// child, `setup` connects `ring` and returns a zcrx id (or -errno); the
/// child arms UDP `port` with user_data 1, receives up to `want` packets
/// within 30 s holding every buffer, writes how many it got (a uint64_t)
/// to the pipe whose read end *count_fd gets, then sleeps until killed.
/// Returns the pid or -1. A child that fails exits without writing.
pid_t spawn_holding_consumer(const std::function<int(zcrx::Ring&, zcrx::Ifq**)>& setup,
                             uint16_t port, uint64_t want, int* count_fd);

/// Submits a NOP with `nop_user_data` and waits (up to `timeout_ms`) for
/// its CQE; zcrxd takes SQEs in order, so every SQE submitted before it was
/// taken (a RECV_ZC is armed: datagrams from now on find it). Other CQEs
/// reaped meanwhile go to `other`. 0, -EBUSY (SQ full) or -ETIME.
int wait_sq_taken(zcrx::Ring& ring, uint64_t nop_user_data, int timeout_ms,
                  const std::function<void(const zcrx::uapi::io_uring_cqe32&)>& other);

}  // namespace itest
