// SPDX-License-Identifier: MIT
// zcrxd's addresses: --ip/--gateway/--mtu parsing with one-line reasons,
// is_local, broadcasts, next_hop (on-link, longest prefix, gateway,
// unreachable), the MSS the MTU allows.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "net_config.h"
#include "net_test_util.h"

using namespace zcrxd;
using zcrxd::test::ErrText;
using zcrxd::test::ip4;

namespace {

// Parses every --ip of `ips`; returns the first failure's reason or "".
std::string add_ips(NetConfig* cfg, std::initializer_list<const char*> ips) {
  for (const char* s : ips) {
    ErrText err;
    if (parse_ip_option(s, cfg, err.file()) != 0) return err.text();
  }
  return "";
}

// The reason parse_ip_option gives for `s` on a config holding `before`.
std::string ip_reason(const char* s, std::initializer_list<const char*> before = {}) {
  NetConfig cfg;
  REQUIRE(add_ips(&cfg, before).empty());
  ErrText err;
  const uint32_t n = cfg.n_addrs;
  CHECK(parse_ip_option(s, &cfg, err.file()) == -EINVAL);
  CHECK(cfg.n_addrs == n);  // a refusal adds nothing
  return err.text();
}

bool one_line(const std::string& s) {
  return !s.empty() && s.back() == '\n' && s.find('\n') == s.size() - 1;
}

}  // namespace

TEST_CASE("parse_ipv4 takes four decimal octets and nothing else") {
  uint32_t a = 0;
  CHECK(parse_ipv4("10.0.0.2", &a));
  CHECK(a == ip4(10, 0, 0, 2));
  CHECK(parse_ipv4("255.255.255.255", &a));
  CHECK(a == 0xffffffffu);
  CHECK(parse_ipv4("0.0.0.0", &a));
  CHECK(a == 0);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3",
                          "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "-1.2.3.4", "1.2.3.4/24",
                          "1.2.3.", ".1.2.3", "1234.1.1.1", "0x1.2.3.4"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_ipv4(bad, &a));
  }
  CHECK_FALSE(parse_ipv4(nullptr, &a));
  char buf[16];
  CHECK(std::string(format_ipv4(ip4(192, 168, 100, 254), buf)) == "192.168.100.254");
}

TEST_CASE("--ip adds an address and its prefix, up to four") {
  NetConfig cfg;
  REQUIRE(add_ips(&cfg, {"10.0.0.2/24", "192.168.1.7/16", "172.16.0.1/31", "100.64.0.9/32"})
              .empty());
  REQUIRE(cfg.n_addrs == 4);
  CHECK(cfg.addrs[0].addr == ip4(10, 0, 0, 2));
  CHECK(cfg.addrs[0].prefix_len == 24);
  CHECK(cfg.addrs[0].mask() == 0xffffff00u);
  CHECK(cfg.addrs[1].prefix_len == 16);
  CHECK(cfg.addrs[3].mask() == 0xffffffffu);
  const std::string r = ip_reason("10.9.9.9/24", {"10.0.0.2/24", "10.0.1.2/24", "10.0.2.2/24",
                                                  "10.0.3.2/24"});
  CHECK(r == "zcrxd: invalid --ip '10.9.9.9/24': more than 4 addresses\n");
}

TEST_CASE("--ip refusals say why, on one line") {
  struct Case {
    const char* arg;
    const char* why;
  };
  static constexpr char kNotUnicast[] =
      "not a unicast address (0/8, 127/8, multicast, 240/4 and broadcast are not)";
  const Case cases[] = {
      {"10.0.0.2", "expected A.B.C.D/PREFIX (the prefix length is required)"},
      {"", "expected A.B.C.D/PREFIX"},
      {"10.0.0/24", "not an IPv4 address A.B.C.D"},
      {"10.0.0.2.5.6.7.8.9/24", "not an IPv4 address A.B.C.D"},
      {"10.0.0.2/33", "the prefix length must be 0..32"},
      {"10.0.0.2/", "the prefix length must be 0..32"},
      {"10.0.0.2/08", "the prefix length must be 0..32"},
      {"10.0.0.2/-1", "the prefix length must be 0..32"},
      {"127.0.0.1/8", kNotUnicast},
      {"224.0.0.1/4", kNotUnicast},
      {"0.1.2.3/8", kNotUnicast},
      {"255.255.255.255/32", kNotUnicast},
      {"10.0.0.0/24", "the network or broadcast address of its prefix"},
      {"10.0.0.255/24", "the network or broadcast address of its prefix"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.arg);
    const std::string r = ip_reason(c.arg);
    CHECK(one_line(r));
    CHECK(r == std::string("zcrxd: invalid --ip '") + c.arg + "': " + c.why + "\n");
  }
  CHECK(ip_reason("10.0.0.2/16", {"10.0.0.2/24"}) ==
        "zcrxd: invalid --ip '10.0.0.2/16': address given twice\n");
  // /31 (RFC 3021) and /32 have no network or broadcast address.
  NetConfig cfg;
  CHECK(add_ips(&cfg, {"10.0.0.255/31", "10.0.1.0/31", "10.0.2.0/32"}).empty());
}

TEST_CASE("--gateway and --mtu, and what only the whole line can tell") {
  NetConfig cfg;
  {
    ErrText err;
    CHECK(parse_gateway_option("10.0.0.1", &cfg, err.file()) == 0);
    CHECK(cfg.gateway == ip4(10, 0, 0, 1));
  }
  {
    ErrText err;
    CHECK(parse_gateway_option("10.0.0.9", &cfg, err.file()) == -EINVAL);
    CHECK(err.text() == "zcrxd: invalid --gateway '10.0.0.9': only one gateway\n");
  }
  {
    NetConfig c2;
    ErrText err;
    CHECK(parse_gateway_option("224.1.1.1", &c2, err.file()) == -EINVAL);
    CHECK(err.text() == "zcrxd: invalid --gateway '224.1.1.1': not a unicast address\n");
    CHECK(c2.gateway == 0);
  }
  {
    ErrText err;
    CHECK(check_net_config(cfg, err.file()) == -EINVAL);
    CHECK(err.text() == "zcrxd: invalid --gateway '10.0.0.1': no --ip to reach it from\n");
  }
  REQUIRE(add_ips(&cfg, {"10.0.0.2/24"}).empty());
  {
    ErrText err;
    CHECK(check_net_config(cfg, err.file()) == 0);
    CHECK(err.text().empty());
  }
  for (uint32_t gw : {ip4(10, 0, 1, 1), ip4(10, 0, 0, 0), ip4(10, 0, 0, 255)}) {
    NetConfig c = cfg;
    c.gateway = gw;
    ErrText err;
    CHECK(check_net_config(c, err.file()) == -EINVAL);
    CHECK(err.text().find("not a host of any --ip prefix") != std::string::npos);
  }
  {
    NetConfig c = cfg;
    c.gateway = ip4(10, 0, 0, 2);
    ErrText err;
    CHECK(check_net_config(c, err.file()) == -EINVAL);
    CHECK(err.text() ==
          "zcrxd: invalid --gateway '10.0.0.2': it is one of our --ip addresses\n");
  }
  {
    ErrText err;
    CHECK(parse_mtu_option("1500", &cfg, err.file()) == 0);
    CHECK(cfg.mtu == 1500);
    CHECK(parse_mtu_option("68", &cfg, err.file()) == 0);
    CHECK(parse_mtu_option("65535", &cfg, err.file()) == 0);
    CHECK(err.text().empty());
  }
  for (const char* bad : {"67", "65536", "1500x", "", "-1500", "015"}) {
    CAPTURE(bad);
    NetConfig c;
    ErrText err;
    CHECK(parse_mtu_option(bad, &c, err.file()) == -EINVAL);
    CHECK(err.text() == std::string("zcrxd: invalid --mtu '") + bad + "': expected 68..65535\n");
    CHECK(c.mtu == 0);
  }
}

TEST_CASE("is_local and is_broadcast") {
  NetConfig cfg;
  REQUIRE(add_ips(&cfg, {"10.0.0.2/24", "192.168.5.5/30", "172.16.0.0/31"}).empty());
  CHECK(cfg.is_local(ip4(10, 0, 0, 2)));
  CHECK(cfg.is_local(ip4(192, 168, 5, 5)));
  CHECK_FALSE(cfg.is_local(ip4(10, 0, 0, 3)));
  CHECK(cfg.is_broadcast(0xffffffffu));
  CHECK(cfg.is_broadcast(ip4(10, 0, 0, 255)));
  CHECK(cfg.is_broadcast(ip4(192, 168, 5, 7)));
  CHECK_FALSE(cfg.is_broadcast(ip4(192, 168, 5, 6)));
  CHECK_FALSE(cfg.is_broadcast(ip4(172, 16, 0, 1)));  // /31: both are hosts
  CHECK_FALSE(cfg.is_broadcast(ip4(10, 0, 1, 255)));
}

TEST_CASE("next_hop: on-link by the longest prefix, else the gateway, else -ENETUNREACH") {
  NetConfig cfg;
  REQUIRE(add_ips(&cfg, {"10.0.0.2/8", "10.1.0.2/16", "192.168.1.10/24"}).empty());
  NextHop h;
  REQUIRE(cfg.next_hop(ip4(10, 1, 2, 3), &h) == 0);
  CHECK(h.addr == ip4(10, 1, 2, 3));
  CHECK(h.src == ip4(10, 1, 0, 2));  // the /16, not the /8
  CHECK_FALSE(h.via_gateway);
  REQUIRE(cfg.next_hop(ip4(10, 2, 0, 1), &h) == 0);
  CHECK(h.src == ip4(10, 0, 0, 2));
  CHECK(cfg.next_hop(ip4(8, 8, 8, 8), &h) == -ENETUNREACH);  // no gateway
  cfg.gateway = ip4(192, 168, 1, 1);
  REQUIRE(cfg.next_hop(ip4(8, 8, 8, 8), &h) == 0);
  CHECK(h.addr == ip4(192, 168, 1, 1));
  CHECK(h.src == ip4(192, 168, 1, 10));
  CHECK(h.via_gateway);
  // Nothing a unicast transport can send to, gateway or not.
  for (uint32_t d : {ip4(0, 0, 0, 0), ip4(127, 0, 0, 1), ip4(224, 0, 0, 1), 0xffffffffu,
                     ip4(192, 168, 1, 255), ip4(10, 1, 255, 255), ip4(10, 0, 0, 2),
                     ip4(240, 1, 1, 1)}) {
    CAPTURE(d);
    CHECK(cfg.next_hop(d, &h) == -ENETUNREACH);
  }
  NetConfig none;
  CHECK(none.next_hop(ip4(10, 0, 0, 1), &h) == -ENETUNREACH);
}

TEST_CASE("the MTU: --mtu wins over the port's; the MSS follows") {
  NetConfig cfg;
  cfg.set_port(Mac{{2, 0, 0, 0, 0, 1}}, 1500);
  CHECK(cfg.mtu == 1500);
  CHECK(cfg.mac == Mac{{2, 0, 0, 0, 0, 1}});
  CHECK(cfg.tcp_mss() == 1460);
  NetConfig jumbo;
  ErrText err;
  REQUIRE(parse_mtu_option("9000", &jumbo, err.file()) == 0);
  jumbo.set_port(Mac{}, 1500);
  CHECK(jumbo.mtu == 9000);
  CHECK(jumbo.tcp_mss() == 8960);
  NetConfig tiny;
  tiny.mtu = 68;
  CHECK(tiny.tcp_mss() == 48);
}
