// SPDX-License-Identifier: MIT
#include "consumer.h"

#include <chrono>

#include "zcrx/pattern.h"

namespace itest {

RxResult receive(zcrx::Ring& ring, zcrx::Ifq* ifq, uint64_t user_data, uint64_t want,
                 int timeout_ms, bool refill) {
  RxResult r;
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
      if (zcrx::pattern::first_mismatch(p, len) != len) r.bad_payloads++;
      r.seqs.push_back(zcrx::pattern::seq_of(p, len));
      r.sizes.push_back(c.cqe.res);
      r.packets++;
      r.bytes += len;
      if (refill) ifq->refill(c);
    });
    if (refill) ifq->flush_refills();
  }
  return r;
}

int setup_master(zcrx::Ring& ring, const char* socket, zcrx::Ifq** ifq, uint32_t cq,
                 size_t area_mb) {
  if (int rc = ring.connect(socket)) return rc;
  if (int rc = ring.create(64, cq)) return rc;
  zcrx::IfqParams p;
  p.area_len = area_mb << 20;
  p.rq_entries = 4096;
  return ring.register_ifq(p, ifq);
}

int arm_udp(zcrx::Ring& ring, uint32_t zcrx_id, uint16_t port, uint64_t user_data,
            uint32_t len) {
  int flow = ring.open_flow(zcrx_id, zcrx::FlowSpec::udp(port));
  if (flow < 0) return flow;
  zcrx::uapi::io_uring_sqe* sqe = ring.get_sqe();
  if (!sqe) return -EBUSY;
  zcrx::prep_recv_zc(sqe, flow, zcrx_id, len, true, user_data);
  ring.submit();
  return flow;
}

}  // namespace itest
