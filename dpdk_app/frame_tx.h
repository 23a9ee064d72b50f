// SPDX-License-Identifier: MIT
// What one datapath transmits itself: ARP and ICMP answers, ARP requests,
// TCP segments. Each datapath has its own FrameTx on its own TX queue
// (rte_eth_tx_burst is not thread-safe per queue) with its own mbuf pool;
// frames are queued in a burst array and handed to the PMD once per
// datapath iteration (flush), or as soon as the array is full.
//
// Checksums: when the port was configured with RTE_ETH_TX_OFFLOAD_IPV4_CKSUM
// and/or RTE_ETH_TX_OFFLOAD_TCP_CKSUM (FrameTxConfig::offloads), TCP
// frames carry the matching RTE_MBUF_F_TX_* flags and the pseudo-header
// sum (tcp_wire.h) and the NIC completes them; otherwise they are computed
// here, the payload's sum fused into its copy (csum_copy.h).
//
// No allocation, lock or syscall per frame: mbufs come from the pool made
// by open(); an empty pool or a full TX ring is counted, never waited on.
#pragma once

#include <cstdint>
#include <string>

#include "ether.h"
#include "stats.h"
#include "zcrx/tcp/engine.h"

struct rte_mbuf;
struct rte_mempool;

namespace zcrxd {

/// Frames per rte_eth_tx_burst, at most.
inline constexpr uint32_t kMaxTxBurst = 64;

struct FrameTxConfig {
  uint16_t port = 0;
  uint16_t tx_queue = 0;
  /// Mbufs of the pool: enough for the TX ring's descriptors, a burst, and
  /// every frame the neighbour cache may hold (capacity x hold_max), or
  /// frames are refused (pool_empty) while those are out.
  uint32_t pool_size = 4095;
  /// Largest frame, Ethernet header included (MTU + 14): every frame is one
  /// mbuf of that room.
  uint32_t frame_room = 1514;
  uint32_t burst = 32;  // 1..kMaxTxBurst
  int socket = 0;
  /// The TX offloads the port was configured with (rte_eth_conf.txmode.
  /// offloads); FrameTx uses IPV4_CKSUM and TCP_CKSUM when they are there.
  uint64_t offloads = 0;
  /// Pool name, unique in the process (e.g. "zcrxd_tx0_1": port 0, queue 1).
  std::string pool_name = "zcrxd_tx";
};

struct FrameTxStats {
  Counter sent;          // frames the PMD took
  Counter sent_bytes;
  Counter dropped_full;  // frames the TX ring did not take (freed)
  Counter pool_empty;    // frames not built: no free mbuf
  Counter too_big;       // frames not built: larger than frame_room
  Counter bursts;        // rte_eth_tx_burst calls
};

/// A TCP frame being built: tcp_begin, tcp_append..., tcp_finish.
struct TcpFrame {
  rte_mbuf* m = nullptr;
  uint8_t* tcp = nullptr;      // its TCP header
  uint8_t* payload = nullptr;  // where the next payload byte goes
  uint32_t want = 0;           // payload bytes the header announces
  uint32_t have = 0;           // payload bytes appended
  uint16_t sum = 0;            // of the payload appended (software checksum only)
};

/// A span of payload bytes somewhere in memory (a send buffer's pieces).
struct PayloadSpan {
  const void* data;
  uint32_t len;
};

class FrameTx {
 public:
  FrameTx() = default;
  /// Frees queued frames and the pool. The port must have stopped using
  /// the pool's mbufs (stopped or closed) before.
  ~FrameTx();
  FrameTx(const FrameTx&) = delete;
  FrameTx& operator=(const FrameTx&) = delete;

  /// Creates the pool. 0, or -errno after printing the reason: -EINVAL
  /// (burst, frame_room out of range), -ENOMEM (no pool).
  int open(const FrameTxConfig& cfg);

  bool ip_csum_offload() const { return ip_offload_; }
  bool tcp_csum_offload() const { return tcp_offload_; }
  uint32_t frame_room() const { return cfg_.frame_room; }

  /// An empty frame with frame_room() bytes of room at frame_data(), or
  /// nullptr (pool empty, counted). Send it with send() or free it with
  /// drop().
  rte_mbuf* alloc();
  static uint8_t* frame_data(rte_mbuf* m);
  /// Sets the frame's length (<= frame_room()).
  static void set_len(rte_mbuf* m, uint32_t len);
  /// Frees a frame that will not be sent (a held frame whose neighbour
  /// failed).
  static void drop(rte_mbuf* m);
  /// Sets the Ethernet destination of a built frame (a frame held while
  /// its neighbour resolved).
  static void set_eth_dst(rte_mbuf* m, const Mac& dst);

  /// Builds a frame with `build(uint8_t* data, uint32_t room) -> length`
  /// (0: nothing to send) and queues it. False when nothing was queued.
  template <class Build>
  bool send_built(Build&& build) {
    rte_mbuf* m = alloc();
    if (!m) return false;
    const uint32_t len = build(frame_data(m), cfg_.frame_room);
    if (!len) {
      drop(m);
      return false;
    }
    set_len(m, len);
    return send(m);
  }

  /// Queues `m` for the next flush(), flushing first when the burst array
  /// is full. False when it was dropped (the array stayed full: the TX
  /// ring takes nothing; counted in dropped_full).
  bool send(rte_mbuf* m);
  /// Hands the queued frames to the PMD. Frames it does not take stay
  /// queued for the next call (up to the burst array). Call once per
  /// datapath iteration. Returns the frames sent.
  uint32_t flush();
  /// Frames queued, not yet sent.
  uint32_t queued() const { return n_; }

  /// Starts a TCP frame for `s` from `src` to `dst` (zero when the
  /// neighbour is not resolved yet: set_eth_dst later). 0; -ENOBUFS (pool
  /// empty); -EMSGSIZE (headers and s.len payload beyond frame_room).
  int tcp_begin(TcpFrame& f, const zcrx::tcp::TxSegment& s, const Mac& src, const Mac& dst);
  /// Copies `len` payload bytes after those appended so far (summing them
  /// in the same pass when the checksum is computed here). 0, or -EMSGSIZE
  /// past s.len (nothing copied).
  int tcp_append(TcpFrame& f, const void* src, uint32_t len);
  /// tcp_append for each span in turn.
  int tcp_append(TcpFrame& f, const PayloadSpan* spans, uint32_t n);
  /// Completes the frame: the TCP checksum (software) or the offload flags.
  /// Returns the frame, to send() or to hold while its neighbour resolves;
  /// nullptr when fewer than s.len bytes were appended (the frame is freed).
  rte_mbuf* tcp_finish(TcpFrame& f);
  /// Frees a frame given up before tcp_finish.
  void tcp_abort(TcpFrame& f);

  const FrameTxStats& stats() const { return st_; }

 private:
  FrameTxConfig cfg_;
  rte_mempool* pool_ = nullptr;
  bool ip_offload_ = false;
  bool tcp_offload_ = false;
  uint32_t n_ = 0;
  rte_mbuf* burst_[kMaxTxBurst] = {};
  FrameTxStats st_;
};

}  // namespace zcrxd
