// SPDX-License-Identifier: MIT
#include "net_config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace zcrxd {

namespace {

// Addresses no host may own or send to as unicast (RFC 1122 3.2.1.3,
// RFC 5735): "this network" 0/8, loopback 127/8, multicast 224/4 and the
// reserved 240/4 with the limited broadcast.
bool is_special(uint32_t a) {
  const uint32_t top = a >> 24;
  return top == 0 || top == 127 || top >= 224;
}

// Digits only, 1..max_digits of them, no leading zero unless it is "0".
bool parse_decimal(const char* b, const char* e, uint32_t max_digits, uint32_t* v) {
  const auto n = static_cast<uint32_t>(e - b);
  if (n == 0 || n > max_digits || (n > 1 && *b == '0')) return false;
  uint32_t x = 0;
  for (const char* p = b; p < e; p++) {
    if (*p < '0' || *p > '9') return false;
    x = x * 10 + static_cast<uint32_t>(*p - '0');
  }
  *v = x;
  return true;
}

}  // namespace

bool parse_ipv4(const char* s, uint32_t* out) {
  if (!s) return false;
  uint32_t a = 0;
  const char* p = s;
  for (int i = 0; i < 4; i++) {
    const char* e = p;
    while (*e && *e != '.') e++;
    uint32_t octet = 0;
    if (!parse_decimal(p, e, 3, &octet) || octet > 255) return false;
    a = a << 8 | octet;
    if (i < 3) {
      if (*e != '.') return false;
      p = e + 1;
    } else if (*e) {
      return false;
    }
  }
  *out = a;
  return true;
}

const char* format_ipv4(uint32_t a, char* buf) {
  std::snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
  return buf;
}

bool NetConfig::is_local(uint32_t a) const {
  for (uint32_t i = 0; i < n_addrs; i++)
    if (addrs[i].addr == a) return true;
  return false;
}

bool NetConfig::is_broadcast(uint32_t a) const {
  if (a == ~uint32_t{0}) return true;
  for (uint32_t i = 0; i < n_addrs; i++)
    if (addrs[i].is_broadcast_of(a)) return true;
  return false;
}

int NetConfig::next_hop(uint32_t dst, NextHop* out) const {
  if (is_special(dst) || is_local(dst) || is_broadcast(dst)) return -ENETUNREACH;
  // Longest prefix first: with 10.0.0.0/8 and 10.1.0.0/16, 10.1.2.3 goes
  // out from the /16's address.
  const LocalAddr* best = nullptr;
  for (uint32_t i = 0; i < n_addrs; i++)
    if (addrs[i].on_link(dst) && (!best || addrs[i].prefix_len > best->prefix_len))
      best = &addrs[i];
  if (best) {
    *out = NextHop{dst, best->addr, false};
    return 0;
  }
  if (!gateway) return -ENETUNREACH;
  for (uint32_t i = 0; i < n_addrs; i++)
    if (addrs[i].on_link(gateway) && (!best || addrs[i].prefix_len > best->prefix_len))
      best = &addrs[i];
  if (!best) return -ENETUNREACH;  // check_net_config() refuses such a gateway
  *out = NextHop{gateway, best->addr, true};
  return 0;
}

uint16_t NetConfig::tcp_mss() const {
  // IPv4 (20) and TCP (20) headers without options, as Linux's
  // tcp_mtu_to_mss; an MTU below 88 still yields Linux's floor of 48.
  if (mtu < 40 + 48) return 48;
  return static_cast<uint16_t>(mtu - 40);
}

void NetConfig::set_port(const Mac& port_mac, uint32_t port_mtu) {
  mac = port_mac;
  if (!mtu) mtu = port_mtu;
}

int parse_ip_option(const char* s, NetConfig* cfg, FILE* err) {
  auto fail = [&](const char* why) {
    std::fprintf(err, "zcrxd: invalid --ip '%s': %s\n", s ? s : "", why);
    return -EINVAL;
  };
  if (!s || !*s) return fail("expected A.B.C.D/PREFIX");
  const char* slash = std::strchr(s, '/');
  if (!slash) return fail("expected A.B.C.D/PREFIX (the prefix length is required)");
  char addr_text[16];
  const auto addr_len = static_cast<size_t>(slash - s);
  if (addr_len >= sizeof(addr_text)) return fail("not an IPv4 address A.B.C.D");
  std::memcpy(addr_text, s, addr_len);
  addr_text[addr_len] = '\0';
  LocalAddr la;
  uint32_t prefix = 0;
  if (!parse_ipv4(addr_text, &la.addr)) return fail("not an IPv4 address A.B.C.D");
  if (!parse_decimal(slash + 1, slash + std::strlen(slash), 2, &prefix) || prefix > 32)
    return fail("the prefix length must be 0..32");
  la.prefix_len = static_cast<uint8_t>(prefix);
  if (is_special(la.addr))
    return fail("not a unicast address (0/8, 127/8, multicast, 240/4 and broadcast are not)");
  if (prefix <= 30 && ((la.addr & ~la.mask()) == 0 || la.is_broadcast_of(la.addr)))
    return fail("the network or broadcast address of its prefix");
  if (cfg->is_local(la.addr)) return fail("address given twice");
  if (cfg->n_addrs == kMaxLocalAddrs) return fail("more than 4 addresses");
  cfg->addrs[cfg->n_addrs++] = la;
  return 0;
}

int parse_gateway_option(const char* s, NetConfig* cfg, FILE* err) {
  auto fail = [&](const char* why) {
    std::fprintf(err, "zcrxd: invalid --gateway '%s': %s\n", s ? s : "", why);
    return -EINVAL;
  };
  uint32_t a = 0;
  if (!parse_ipv4(s, &a)) return fail("not an IPv4 address A.B.C.D");
  if (is_special(a)) return fail("not a unicast address");
  if (cfg->gateway) return fail("only one gateway");
  cfg->gateway = a;
  return 0;
}

int parse_mtu_option(const char* s, NetConfig* cfg, FILE* err) {
  uint32_t v = 0;
  if (!s || !parse_decimal(s, s + std::strlen(s), 5, &v) || v < kMinMtu || v > kMaxMtu) {
    std::fprintf(err, "zcrxd: invalid --mtu '%s': expected %u..%u\n", s ? s : "", kMinMtu,
                 kMaxMtu);
    return -EINVAL;
  }
  cfg->mtu = v;
  return 0;
}

int check_net_config(const NetConfig& cfg, FILE* err) {
  if (!cfg.gateway) return 0;
  char g[16];
  format_ipv4(cfg.gateway, g);
  if (cfg.n_addrs == 0) {
    std::fprintf(err, "zcrxd: invalid --gateway '%s': no --ip to reach it from\n", g);
    return -EINVAL;
  }
  if (cfg.is_local(cfg.gateway)) {
    std::fprintf(err, "zcrxd: invalid --gateway '%s': it is one of our --ip addresses\n", g);
    return -EINVAL;
  }
  // A host of some prefix: on-link, neither its network nor its broadcast
  // address.
  bool host = false;
  for (uint32_t i = 0; i < cfg.n_addrs; i++) {
    const LocalAddr& la = cfg.addrs[i];
    host |= la.on_link(cfg.gateway) &&
            (la.prefix_len > 30 || (cfg.gateway & ~la.mask()) != 0);
  }
  if (!host || cfg.is_broadcast(cfg.gateway)) {
    std::fprintf(err, "zcrxd: invalid --gateway '%s': not a host of any --ip prefix\n", g);
    return -EINVAL;
  }
  return 0;
}

}  // namespace zcrxd
