// SPDX-License-Identifier: MIT
// Flows: what a "socket" is for zcrxd. A consumer opens a flow on one of its
// zcrx ifqs (UDP destination port, UDP 5-tuple, or raw = every frame no
// other flow takes) and receives its packets through RECV_ZC. The datapath
// classifies each parsed packet with an immutable FlowTable built by the
// control thread. DPDK-free.
#pragma once

#include <cstdint>
#include <vector>

#include "packet.h"

namespace zcrxd {

enum class FlowKind : uint8_t { udp_port = 1, five_tuple = 2, raw = 3 };

/// A flow's match. Fields a kind does not use are zero (normalize()).
struct FlowKey {
  FlowKind kind = FlowKind::raw;
  uint8_t ip_version = 0;  // 4 or 6; udp_port also accepts 0 = either
  uint16_t src_port = 0;   // host byte order
  uint16_t dst_port = 0;
  uint8_t src_addr[16]{};  // IPv4 in the first 4 bytes
  uint8_t dst_addr[16]{};

  bool operator==(const FlowKey&) const = default;
};

/// Checks a key a consumer sent and clears the fields its kind ignores.
/// Returns 0 or -EINVAL (unknown kind, bad IP version, port 0 where a port
/// is needed, IPv4 address bytes beyond the 4th set).
int normalize(FlowKey* key);

inline constexpr uint32_t kNoFlow = UINT32_MAX;

/// Immutable key → group-id map. Lookups never allocate.
///
/// Each flow kind has its own table so classification probes only kinds
/// that have flows: UDP-port flows sit in a small table keyed by one 32-bit
/// word (IP version and port, hashed with one multiply), 5-tuples in a
/// table of full keys, raw is a single group id. A packet costs one probe
/// per populated kind, none for an empty one.
class FlowTable {
 public:
  FlowTable() = default;
  /// Builds the table; keys must be normalized and distinct.
  explicit FlowTable(const std::vector<std::pair<FlowKey, uint32_t>>& flows);

  /// The group of the most specific flow matching `p`: a 5-tuple, then a
  /// UDP port for the packet's IP version, then a UDP port for either
  /// version, then raw. kNoFlow when none does.
  uint32_t classify(const ParsedPacket& p) const;

  /// Exact lookup of a normalized key (control side).
  uint32_t find(const FlowKey& key) const;

  /// The raw flow's group (kNoFlow when there is none).
  uint32_t raw_group() const { return raw_; }

  bool empty() const { return tuples_.empty() && ports_.empty() && raw_ == kNoFlow; }
  /// Some flow takes UDP datagrams (a port or 5-tuple flow).
  bool has_udp() const { return !tuples_.empty() || !ports_.empty(); }
  /// Some 5-tuple flow exists: without one, classify() of a UDP datagram
  /// depends only on its IP version and destination port.
  bool has_tuples() const { return !tuples_.empty(); }

 private:
  struct TupleSlot {
    FlowKey key;
    uint32_t group = kNoFlow;
  };
  struct PortSlot {
    uint32_t key = 0;  // port_word(); never 0 for a real flow
    uint32_t group = kNoFlow;
  };
  uint32_t find_port(uint32_t word) const;
  uint32_t find_tuple(const FlowKey& key) const;

  std::vector<TupleSlot> tuples_;  // open addressing, power-of-two size
  uint32_t tuple_mask_ = 0;
  std::vector<PortSlot> ports_;    // open addressing, power-of-two size
  uint32_t port_mask_ = 0;
  uint32_t port_shift_ = 32;       // multiplicative hash: top bits
  // Which IP versions have port flows (bit 0: either, 4: v4, 6: v6), so a
  // packet probes only the port lookups that can hit.
  uint8_t port_versions_ = 0;
  uint32_t raw_ = kNoFlow;
};

/// Hash of a packet's addresses and ports: the same flow always gets the
/// same value, so a flow group spreads flows, not packets, over its rings.
uint32_t flow_hash(const ParsedPacket& p);

}  // namespace zcrxd
