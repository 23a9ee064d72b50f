// SPDX-License-Identifier: MIT
// zcrxd's own addresses, for its TCP endpoint: the IPv4 addresses it owns
// (--ip A.B.C.D/PREFIX, up to kMaxLocalAddrs), the default gateway
// (--gateway A.B.C.D), the MTU (--mtu N, else the port's) and the port's
// MAC, set at start. Routing is what a host with one interface does:
// on-link when a prefix holds the destination (longest prefix first),
// else through the gateway. DPDK-free.
//
// Addresses are in host byte order throughout, as in zcrx::tcp::Endpoint.
#pragma once

#include <cstdint>
#include <cstdio>

#include "ether.h"

namespace zcrxd {

inline constexpr uint32_t kMaxLocalAddrs = 4;
/// The IPv4 minimum MTU (RFC 791) and the largest an IPv4 packet can use.
inline constexpr uint32_t kMinMtu = 68;
inline constexpr uint32_t kMaxMtu = 65535;

/// An address of ours and the length of its on-link prefix.
struct LocalAddr {
  uint32_t addr = 0;
  uint8_t prefix_len = 0;  // 0..32

  uint32_t mask() const { return prefix_len ? ~uint32_t{0} << (32 - prefix_len) : 0; }
  bool on_link(uint32_t a) const { return ((a ^ addr) & mask()) == 0; }
  /// The prefix's directed broadcast address (none below /31: RFC 3021).
  bool is_broadcast_of(uint32_t a) const {
    return prefix_len <= 30 && on_link(a) && (a | mask()) == ~uint32_t{0};
  }
};

/// Where a packet to some destination goes (NetConfig::next_hop).
struct NextHop {
  uint32_t addr = 0;  // the neighbour to resolve: the destination, or the gateway
  uint32_t src = 0;   // our address to send from: that of the prefix used
  bool via_gateway = false;
};

struct NetConfig {
  LocalAddr addrs[kMaxLocalAddrs];
  uint32_t n_addrs = 0;
  uint32_t gateway = 0;  // 0: none
  /// 0 until set_port(): --mtu, or the port's MTU.
  uint32_t mtu = 0;
  Mac mac;  // the port's, set at start (set_port)

  /// True when `a` is one of our addresses.
  bool is_local(uint32_t a) const;
  /// True when `a` is a broadcast address for us: the limited broadcast or
  /// a directed broadcast of one of our prefixes.
  bool is_broadcast(uint32_t a) const;
  /// Where a packet to `dst` goes: 0 and `*out`, or -ENETUNREACH when no
  /// prefix holds `dst` and there is no gateway, and for destinations a
  /// unicast transport cannot use (multicast, a broadcast, 0.0.0.0, our
  /// own addresses: zcrxd has no loopback), as Linux's TCP connect().
  int next_hop(uint32_t dst, NextHop* out) const;
  /// The TCP MSS that fits the MTU (IPv4 and TCP headers without options).
  uint16_t tcp_mss() const;
  /// Sets the port's MAC, and the MTU to `port_mtu` unless --mtu gave one.
  void set_port(const Mac& port_mac, uint32_t port_mtu);
};

/// Parses A.B.C.D (four decimal octets, no leading zeros: inet_aton reads
/// "010" as octal) into `out` (host order). False when it is not one.
bool parse_ipv4(const char* s, uint32_t* out);

/// Formats `a` (host order) as A.B.C.D into `buf` (at least 16 bytes).
const char* format_ipv4(uint32_t a, char* buf);

/// Adds an --ip A.B.C.D/PREFIX value to `cfg`. Returns 0, or -EINVAL
/// after writing a one-line reason to `err` (not an address, no or a bad
/// prefix length, an address no host can own: 0.0.0.0/8, loopback,
/// multicast, 240/4 and broadcast, the prefix's network or broadcast
/// address, an address given twice, more than kMaxLocalAddrs).
int parse_ip_option(const char* s, NetConfig* cfg, FILE* err);

/// Sets --gateway A.B.C.D. Returns 0, or -EINVAL after a one-line reason
/// (not a unicast address, given twice). Whether one of our prefixes
/// holds it is checked by check_net_config(), once every --ip is known.
int parse_gateway_option(const char* s, NetConfig* cfg, FILE* err);

/// Sets --mtu N (kMinMtu..kMaxMtu). Returns 0, or -EINVAL after a
/// one-line reason.
int parse_mtu_option(const char* s, NetConfig* cfg, FILE* err);

/// What only the whole command line can tell: a gateway needs an address
/// (it must be on-link for one of our prefixes) and must not be one of
/// ours. Returns 0, or -EINVAL after a one-line reason.
int check_net_config(const NetConfig& cfg, FILE* err);

}  // namespace zcrxd
