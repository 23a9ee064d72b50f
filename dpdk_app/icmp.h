// SPDX-License-Identifier: MIT
// ICMP echo (RFC 792) for zcrxd's IPv4 addresses: an echo request to one
// of them gets its reply, checked and built as Linux's icmp_echo does.
// Nothing else of ICMP is answered (a TCP segment for no connection gets a
// RST from the TCP engine, not an ICMP port unreachable). DPDK-free.
//
// A request is answered when: the Ethernet destination is our MAC (a
// unicast IP packet in a broadcast frame is dropped, RFC 1122 3.3.6); the
// IPv4 header is whole and valid (version 4, IHL >= 5, total length within
// the frame, header checksum, not a fragment: Linux reassembles first, we
// do not); the destination is one of our addresses (not a broadcast:
// Linux's icmp_echo_ignore_broadcasts) and the source a unicast address;
// the ICMP message is at least 8 bytes, type 8, and its checksum is valid.
//
// The reply: Ethernet addresses swapped (ours as the source), IPv4 with
// the request's TOS, a fresh ID, no DF (as Linux's ICMP socket), TTL 64,
// source and destination swapped, no IP options (RFC 1122 3.2.2.6 asks
// for record-route and timestamp options to be updated and returned: not
// done; a source route is not honoured, as Linux's default
// accept_source_route=0), then the ICMP message with type 0, the same
// code, identifier, sequence and data, and its checksum computed. Frames
// shorter than kEthMinFrame are zero-padded.
#pragma once

#include <cstdint>

#include "net_config.h"
#include "stats.h"

namespace zcrxd {

struct IcmpStats {
  Counter received;        // IPv4/ICMP frames given to input()
  Counter echo_replies;    // replies built
  Counter not_for_us;      // another station's MAC, a broadcast, not our address
  Counter bad_ip;          // IPv4 header short, inconsistent or with a bad checksum
  Counter bad_checksum;    // ICMP checksum wrong
  Counter short_message;   // ICMP message shorter than 8 bytes
  Counter fragments;       // fragments of an ICMP message (not reassembled)
  Counter bad_source;      // source address no host can have
  Counter other_types;     // ICMP types other than echo request (ignored)
  Counter no_room;         // the reply would not fit the buffer given
};

/// ICMP input of one datapath. One thread (the datapath's).
class Icmp {
 public:
  explicit Icmp(const NetConfig& net) : net_(net) {}

  /// Processes the IPv4 frame `in` (`len` bytes; EtherType IPv4 at byte
  /// 12, no VLAN tag, IP protocol ICMP). When it is an echo request we
  /// answer (see the file comment), writes the reply frame into `out`
  /// (`cap` bytes; `out` may be `in`: the reply is built in place) and
  /// returns its length; otherwise returns 0 and counts why.
  uint32_t input(const uint8_t* in, uint32_t len, uint8_t* out, uint32_t cap);

  const IcmpStats& stats() const { return st_; }

 private:
  const NetConfig& net_;
  uint16_t next_id_ = 0;  // IP IDs of the replies (not atomic: DF clear)
  IcmpStats st_;
};

}  // namespace zcrxd
