// SPDX-License-Identifier: MIT
// The datapath tests' harness: zcrxd's datapath fixture with the Datapath
// loop on its own thread, as zcrxd runs it, and the consumer's side (send
// frames into net_ring, reap CQEs, hand niovs back), plus payloads that
// tell datagrams and positions apart. Needs an EAL.
#pragma once

#include <doctest/doctest.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "datapath_fixture.h"
#include "udp_frame.h"
#include "zcrx/ring_layout.h"

namespace dptest {

namespace uapi = zcrx::uapi;

constexpr uint16_t kUdpPort = 9000;
constexpr uint32_t kNiov = 4096;
constexpr uint32_t kHeaders = zcrxd::testing::kUdpHeaders;
constexpr uint64_t kUserData = 42;

/// Payload byte `i` of datagram `seq`: differs between datagrams and
/// positions, so a payload at the wrong offset or from the wrong packet
/// shows.
inline uint8_t payload_byte(uint32_t seq, uint32_t i) {
  return static_cast<uint8_t>(seq * 131u + i * 7u + (i >> 8));
}

/// `frame` in mbufs of `mp`, split into segments of at most `seg_max`
/// bytes (the first holds at least `first_min`). nullptr when the pool is
/// empty.
inline rte_mbuf* frame_mbuf(rte_mempool* mp, const std::vector<uint8_t>& frame, uint32_t seg_max,
                     uint32_t first_min = kHeaders) {
  rte_mbuf* head = nullptr;
  uint32_t at = 0;
  while (at < frame.size()) {
    rte_mbuf* m = rte_pktmbuf_alloc(mp);
    if (!m) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    uint32_t n = static_cast<uint32_t>(frame.size()) - at;
    if (n > seg_max) n = seg_max;
    if (at == 0 && n < first_min)
      n = std::min<uint32_t>(first_min, static_cast<uint32_t>(frame.size()));
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), frame.data() + at, n);
    if (!head) head = m;
    else if (rte_pktmbuf_chain(head, m) != 0) {
      rte_pktmbuf_free(head);
      rte_pktmbuf_free(m);
      return nullptr;
    }
    at += n;
  }
  return head;
}

/// A datagram of `payload` bytes (sequence `seq`) in mbufs of `mp`, split
/// into segments of at most `seg_max` bytes (the first holds at least the
/// headers). nullptr when the pool is empty.
inline rte_mbuf* make_datagram(rte_mempool* mp, uint32_t seq, uint32_t payload, uint32_t seg_max) {
  std::vector<uint8_t> frame(kHeaders + payload);
  zcrxd::testing::write_udp_headers(frame.data(), kUdpPort, payload);
  for (uint32_t i = 0; i < payload; i++) frame[kHeaders + i] = payload_byte(seq, i);
  return frame_mbuf(mp, frame, seg_max);
}

/// The payload of datagram `seq`: `n` bytes of payload_byte().
inline std::vector<uint8_t> payload_of(uint32_t seq, uint32_t n) {
  std::vector<uint8_t> v(n);
  for (uint32_t i = 0; i < n; i++) v[i] = payload_byte(seq, i);
  return v;
}

inline bool wait_for(const std::function<bool()>& done, int ms = 20000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

/// A pktmbuf pool of `n` mbufs with room for a 10000-byte frame, not the
/// area's: what net_ring hands over is a foreign buffer to zcrxd.
struct ForeignPool {
  rte_mempool* mp;
  unsigned size = 0;  // mbufs it holds when all are back
  ForeignPool(const char* name, unsigned n)
      : mp(rte_pktmbuf_pool_create(name, n, 0, 0, 10000 + RTE_PKTMBUF_HEADROOM, 0)) {
    if (mp) size = rte_mempool_avail_count(mp);
  }
  ~ForeignPool() { rte_mempool_free(mp); }
  bool all_back() const { return rte_mempool_avail_count(mp) == size; }
};

/// The fixture with the Datapath loop on its own thread, as zcrxd runs
/// it, and the consumer's side: send datagrams, hand niovs back.
struct Harness : zcrxd::testing::DatapathFixture {
  std::thread loop;

  using Tweak = std::function<void(zcrxd::testing::FixtureConfig&)>;

  static zcrxd::testing::FixtureConfig config(const char* name, uint32_t niovs, bool gate,
                                              int existing, uint32_t recv_len,
                                              const std::function<void(uint8_t*)>& prepare,
                                              const Tweak& tweak) {
    static uint32_t pool_id = 700;
    zcrxd::testing::FixtureConfig c;
    c.port = existing;
    c.name = name;
    c.niovs = niovs;
    c.niov_size = kNiov;
    c.pool_id = pool_id++;
    c.gate_on_free_buffers = gate;
    c.udp_port = kUdpPort;
    c.user_data = kUserData;
    c.recv_len = recv_len;
    c.prepare = prepare;
    if (tweak) tweak(c);
    return c;
  }

  /// Over a new net_ring port, or over port `existing` when it is >= 0
  /// (the net_null vdev); `recv_len` is the RECV_ZC len (0: no limit).
  /// `prepare` runs on the area before the port receives into it;
  /// `tweak` changes the rest of the fixture's configuration.
  Harness(const char* name, uint32_t niovs, bool gate_on_free_buffers, int existing = -1,
          uint32_t recv_len = 0, const std::function<void(uint8_t*)>& prepare = {},
          const Tweak& tweak = {})
      : DatapathFixture(
            config(name, niovs, gate_on_free_buffers, existing, recv_len, prepare, tweak)) {
    REQUIRE_MESSAGE(ok(), "fixture setup failed at: " << failed);
    loop = std::thread([this] {
      // An lcore id, so the datapath uses the pools' per-lcore caches as
      // zcrxd's does.
      bool registered = rte_thread_register() == 0;
      dp->run();
      if (registered) rte_thread_unregister();
    });
    // The SQE consumed; an unlimited request then stays armed (a limited
    // one over net_null may already have reached its limit).
    REQUIRE(wait_for([this] { return st.sqes.get() == 1; }));
    if (!recv_len) REQUIRE(dp->armed() == 1);
  }

  void send(std::vector<rte_mbuf*>& pkts) {
    size_t at = 0;
    while (at < pkts.size()) {
      at += rte_ring_enqueue_burst(wire, reinterpret_cast<void**>(pkts.data() + at),
                                   static_cast<unsigned>(pkts.size() - at), nullptr);
      if (at < pkts.size()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  /// Hands the niovs of `cqes` back through the refill queue.
  void refill(const std::vector<uapi::io_uring_cqe32>& cqes) {
    for (const auto& c : cqes) {
      uapi::io_uring_zcrx_rqe rqe{c.zcqe.off, static_cast<uint32_t>(c.cqe.res), 0};
      REQUIRE(wait_for([&] { return rq.push(rqe); }));
    }
  }

  /// Stops the loop; the engine then gives back what the ring still holds.
  void stop() {
    if (loop.joinable()) {
      dp->stop();
      loop.join();
    }
  }

  ~Harness() { stop(); }
};

/// Reaps `n` CQEs (waiting for them) into `out`.
inline bool reap(Harness& h, size_t n, std::vector<uapi::io_uring_cqe32>* out) {
  return wait_for([&] {
    uapi::io_uring_cqe32 c[64];
    uint32_t got = h.cq.pop_burst(c, 64);
    out->insert(out->end(), c, c + got);
    return out->size() >= n;
  });
}

/// Appends every CQE the ring holds now to `out` (the loop stopped).
inline void reap_rest(Harness& h, std::vector<uapi::io_uring_cqe32>* out) {
  uapi::io_uring_cqe32 c[64];
  while (uint32_t n = h.cq.pop_burst(c, 64)) out->insert(out->end(), c, c + n);
}

}  // namespace dptest
