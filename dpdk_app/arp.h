// SPDX-License-Identifier: MIT
// ARP (RFC 826) for zcrxd's IPv4 addresses: answering requests for them,
// learning neighbours into the NeighborCache with RFC 826's merge rule,
// and the frames zcrxd sends (requests, gratuitous announcements,
// replies). DPDK-free: frames are bytes in, bytes out.
//
// What input() does with an ARP frame, in RFC 826's order, with the
// checks Linux's arp_process makes first:
//  * Ethernet destination neither ours nor a group address (the port is
//    promiscuous): not for us, ignored.
//  * Not Ethernet/IPv4 ARP, or an opcode other than request/reply:
//    unsupported. Too short, a sender MAC that is not unicast, a sender or
//    target address that is multicast, loopback or the limited broadcast:
//    malformed. Both are dropped without learning.
//  * Sender address 0.0.0.0 (an RFC 5227 probe): a request for one of our
//    addresses is answered (we use it), nothing is learned.
//  * Sender address one of ours from another MAC: an address conflict,
//    counted, nothing learned (our own frame looped back: ignored).
//  * Target one of our addresses: the sender is merged into the cache
//    (reply: reachable; request: stale, created if new), and a request is
//    answered.
//  * Otherwise (gratuitous ARP, traffic between others seen on a shared
//    segment): an existing entry for the sender is updated (merge), no
//    entry is created (Linux's arp_accept=0). A gratuitous one (sender ==
//    target address) may replace a MAC within the cache's locktime.
#pragma once

#include <cstdint>

#include "ether.h"
#include "neighbor.h"
#include "net_config.h"
#include "stats.h"

namespace zcrxd {

inline constexpr uint32_t kArpLen = 28;
/// Every ARP frame zcrxd builds: 14 + 28 bytes, padded to kEthMinFrame.
inline constexpr uint32_t kArpFrameLen = kEthMinFrame;
inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;

/// An Ethernet/IPv4 ARP message; addresses in host byte order.
struct ArpMessage {
  uint16_t op = 0;
  Mac sha;
  uint32_t spa = 0;
  Mac tha;
  uint32_t tpa = 0;
};

/// Parses the ARP message of the Ethernet frame `frame` (`len` bytes,
/// EtherType ARP). Returns 0; -EINVAL when the frame is shorter than
/// 14 + 28 bytes; -EPROTONOSUPPORT for another hardware or protocol type
/// or address lengths other than 6 and 4; -EOPNOTSUPP for an opcode other
/// than request and reply.
int parse_arp(const uint8_t* frame, uint32_t len, ArpMessage* out);

/// Writes the Ethernet frame carrying `m`, zero-padded to kArpFrameLen.
/// Returns kArpFrameLen, or 0 when `cap` is smaller.
uint32_t write_arp_frame(uint8_t* out, uint32_t cap, const Mac& eth_dst, const Mac& eth_src,
                         const ArpMessage& m);

/// A request for `target` from `our_ip`: broadcast, or to `unicast` (a
/// probe of a known neighbour, as Linux sends in NUD_PROBE). Target MAC
/// zero. Returns kArpFrameLen or 0.
uint32_t write_arp_request(uint8_t* out, uint32_t cap, const Mac& our_mac, uint32_t our_ip,
                           uint32_t target, const Mac* unicast);

/// A gratuitous ARP announcing `our_ip` at `our_mac` (RFC 5227 2.3:
/// a broadcast request with sender and target address both `our_ip`,
/// target MAC zero), to send when an address comes up. Returns
/// kArpFrameLen or 0.
uint32_t write_gratuitous_arp(uint8_t* out, uint32_t cap, const Mac& our_mac, uint32_t our_ip);

struct ArpStats {
  Counter received;           // ARP frames given to input()
  Counter requests_answered;  // requests for our addresses, reply built
  Counter probes_answered;    // of which RFC 5227 probes (sender 0.0.0.0)
  Counter requests_learnt;    // requests for our addresses, sender merged
  Counter replies_learnt;     // replies to us, sender merged
  Counter gratuitous;         // gratuitous ARPs seen (merge only)
  Counter others;             // other ARPs not addressed to us (merge only)
  Counter not_for_us;         // Ethernet destination another station's
  Counter conflicts;          // another station claims one of our addresses
  Counter looped;             // our own frames coming back
  Counter malformed;          // short, or senders/targets no host can be
  Counter unsupported;        // not Ethernet/IPv4 ARP, or another opcode
};

/// ARP input of one datapath: answers and learns for `net`'s addresses
/// into `cache`. One thread (the datapath's).
class Arp {
 public:
  Arp(const NetConfig& net, NeighborCache& cache) : net_(net), cache_(cache) {}

  /// Processes the ARP frame `frame` (`len` bytes, EtherType ARP at byte
  /// 12, no VLAN tag) received at `now_us` (see the file comment). When it
  /// must be answered, writes the reply frame into `reply` (`cap` >=
  /// kArpFrameLen) and returns its length; otherwise returns 0. The cache
  /// may release held frames (NeighborHost::release) from within.
  uint32_t input(const uint8_t* frame, uint32_t len, uint64_t now_us, uint8_t* reply,
                 uint32_t cap);

  const ArpStats& stats() const { return st_; }

 private:
  /// Builds the reply to request `m` for our address m.tpa.
  uint32_t answer(const ArpMessage& m, uint8_t* reply, uint32_t cap);

  const NetConfig& net_;
  NeighborCache& cache_;
  ArpStats st_;
};

}  // namespace zcrxd
