// SPDX-License-Identifier: MIT
#include "consumer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "zcrx/pattern.h"

namespace itest {

RxResult receive(zcrx::Ring& ring, zcrx::Ifq* ifq, uint64_t user_data, uint64_t want,
                 int timeout_ms, bool refill) {
  RxResult r;
  std::vector<uint8_t> dgram;  // the datagram under way, when in pieces
  uint32_t pieces = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (r.packets < want && !r.ended && std::chrono::steady_clock::now() < end) {
    if (ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 10'000'000) <= 0) continue;
    ring.for_each_cqe([&](const zcrx::uapi::io_uring_cqe32& c) {
      if (c.cqe.user_data != user_data) return;
      if (c.cqe.res < 0) {
        r.errors++;
        r.last_error = c.cqe.res;
      }
      if (!(c.cqe.flags & zcrx::uapi::kCqeFMore)) {
        r.ended = true;
        r.end_res = c.cqe.res;
        return;
      }
      if (c.cqe.res <= 0) return;
      const uint8_t* p = ifq->data(c);
      if (!p) {
        r.bad_offsets++;
        return;
      }
      size_t len = static_cast<size_t>(c.cqe.res);
      r.cqes++;
      r.bytes += len;
      pieces++;
      const bool last = zcrx::is_datagram_end(c);
      if (!last || !dgram.empty()) dgram.insert(dgram.end(), p, p + len);
      if (last) {
        // A one-CQE datagram is checked in place, others put together.
        const uint8_t* d = dgram.empty() ? p : dgram.data();
        const size_t n = dgram.empty() ? len : dgram.size();
        if (zcrx::pattern::first_mismatch(d, n) != n) r.bad_payloads++;
        r.seqs.push_back(zcrx::pattern::seq_of(d, n));
        r.sizes.push_back(static_cast<int32_t>(n));
        r.pieces.push_back(pieces);
        r.packets++;
        dgram.clear();
        pieces = 0;
      }
      if (refill) ifq->refill(c);
    });
    if (refill) ifq->flush_refills();
  }
  r.partial = pieces;
  return r;
}

int open_ring(zcrx::Ring& ring, const std::string& socket, uint32_t cq) {
  if (int rc = ring.connect(socket.c_str())) return rc;
  return ring.create(64, cq);
}

int setup_master(zcrx::Ring& ring, const char* socket, zcrx::Ifq** ifq, uint32_t cq,
                 size_t area_mb, uint32_t queue) {
  if (int rc = open_ring(ring, socket, cq)) return rc;
  zcrx::IfqParams p;
  p.queue = queue;
  p.area_len = area_mb << 20;
  p.rq_entries = 4096;
  return ring.register_ifq(p, ifq);
}

namespace {

int arm_flow(zcrx::Ring& ring, uint32_t zcrx_id, const zcrx::FlowSpec& spec,
             uint64_t user_data, uint32_t len) {
  int flow = ring.open_flow(zcrx_id, spec);
  if (flow < 0) return flow;
  zcrx::uapi::io_uring_sqe* sqe = ring.get_sqe();
  if (!sqe) return -EBUSY;
  zcrx::prep_recv_zc(sqe, flow, zcrx_id, len, true, user_data);
  ring.submit();
  return flow;
}

}  // namespace

int arm_udp(zcrx::Ring& ring, uint32_t zcrx_id, uint16_t port, uint64_t user_data,
            uint32_t len) {
  return arm_flow(ring, zcrx_id, zcrx::FlowSpec::udp(port), user_data, len);
}

int arm_raw(zcrx::Ring& ring, uint32_t zcrx_id, uint64_t user_data, uint32_t len) {
  return arm_flow(ring, zcrx_id, zcrx::FlowSpec::raw(), user_data, len);
}

pid_t fork_child(const std::function<int(int write_fd)>& body, int* read_fd) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    _exit(body(p[1]));
  }
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return -1;
  }
  *read_fd = p[0];
  return pid;
}

pid_t spawn_holding_consumer(const std::function<int(zcrx::Ring&, zcrx::Ifq**)>& setup,
                             uint16_t port, uint64_t want, int* count_fd) {
  return fork_child(
      [&](int out) {
        zcrx::Ring ring;
        zcrx::Ifq* ifq = nullptr;
        int id = setup(ring, &ifq);
        if (id < 0 || arm_udp(ring, static_cast<uint32_t>(id), port, 1) < 0) return 10;
        RxResult r = receive(ring, ifq, 1, want, 30000, false);
        uint64_t got = r.packets;
        if (write(out, &got, sizeof(got)) != sizeof(got)) return 12;
        for (;;) pause();
      },
      count_fd);
}

int wait_sq_taken(zcrx::Ring& ring, uint64_t nop_user_data, int timeout_ms,
                  const std::function<void(const zcrx::uapi::io_uring_cqe32&)>& other) {
  zcrx::uapi::io_uring_sqe* nop = ring.get_sqe();
  if (!nop) return -EBUSY;
  zcrx::prep_nop(nop, nop_user_data);
  ring.submit();
  bool done = false;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done && std::chrono::steady_clock::now() < end) {
    ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 10'000'000);
    ring.for_each_cqe([&](const zcrx::uapi::io_uring_cqe32& c) {
      if (c.cqe.user_data == nop_user_data) done = true;
      else other(c);
    });
  }
  return done ? 0 : -ETIME;
}

}  // namespace itest
