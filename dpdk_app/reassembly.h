// SPDX-License-Identifier: MIT
// IP reassembly for one datapath: the fragments of IPv4 and IPv6 UDP
// datagrams are held, in the buffers they arrived in (niovs of the
// consumer's area: zero-copy), until their datagram is complete, and then
// handed back as one mbuf chain -- the first fragment's frame, then each
// later fragment's data (DPDK's rte_ip_frag moves their data_off past
// their headers) -- which the datapath delivers one CQE per segment.
//
// Bounded, as Linux bounds it (ipfrag_high_thresh, ipfrag_time), so that
// fragments cannot be used to pin a consumer's buffers: at most
// `max_datagrams` datagrams under way (a table created once, at start),
// RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments each, for at most `timeout_ms`;
// every fragment dropped is counted by its reason. Held fragments go back
// to their pool when the queue is unbound (flush) and when the datapath
// is destroyed. Nothing is allocated per packet.
#pragma once

#include <cstdint>
#include <memory>

#include "packet.h"

struct rte_mbuf;

namespace zcrxd {

struct ReassemblyConfig {
  uint32_t max_datagrams = 64;  // --frag-max
  uint32_t timeout_ms = 1000;   // --frag-timeout-ms
};

/// What reassembly did, in buffers (mbuf segments: one per fragment unless
/// a fragment spans several), except `reassembled` (datagrams).
struct FragCounts {
  uint64_t reassembled = 0;  // datagrams completed
  uint64_t timeout = 0;      // held past the timeout
  uint64_t table_full = 0;   // no room for another datagram
  uint64_t invalid = 0;      // overlapping, duplicated, too many, refused
};

class Reassembler {
 public:
  /// Creates the table (the EAL must be up). A failure is logged; every
  /// fragment is then dropped as table_full.
  explicit Reassembler(const ReassemblyConfig& cfg);
  ~Reassembler();  // frees the table and whatever it still holds
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  /// [datapath] Takes fragment `m`, parsed as `p` (kind fragment, accepted
  /// by fragment_refusal, headers in the first segment, IPv4 header
  /// checked), at TSC time `now`. Returns the datagram `m` completed, else
  /// nullptr: `m` is held, or was dropped and counted in `c` (as are
  /// fragments of datagrams that timed out meanwhile).
  rte_mbuf* add(rte_mbuf* m, const ParsedPacket& p, uint64_t now, FragCounts& c);

  /// [datapath] Drops what has waited past the timeout at TSC time `now`,
  /// counted in `c`.
  void expire(uint64_t now, FragCounts& c);

  /// [datapath] Frees the buffers dropped since the last call: once per
  /// burst (dropping only queues them).
  void free_dropped();

  /// Buffers held now (0: nothing to expire or flush).
  uint32_t held() const { return held_; }

  /// [control: no datapath receives meanwhile] Frees everything held, as
  /// when the queue is unbound. Returns the buffers freed.
  uint64_t flush();

 private:
  struct Table;
  /// Counts the entries the death row gained since `from` into `c`,
  /// telling apart the ways rte_ip_frag drops (see reassembly.cpp).
  void account(uint32_t from, const rte_mbuf* m, bool completed, FragCounts& c);

  std::unique_ptr<Table> t_;
  uint32_t held_ = 0;
};

}  // namespace zcrxd
