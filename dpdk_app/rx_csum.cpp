// SPDX-License-Identifier: MIT
#include "rx_csum.h"

#include <cstdio>

#include "checksum.h"

namespace zcrxd {

bool sw_udp_ok(const rte_mbuf* m, const ParsedPacket& p) {
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, p.l3_off);
  const bool v6 = p.l3 == L3::ipv6;
  const uint32_t udp_len = p.payload_len + 8;
  // The source and destination addresses lie back to back in both headers.
  if (p.l4_off + udp_len <= m->data_len)
    return udp_checksum_ok(ip + (v6 ? 8 : 12), v6 ? 32 : 8,
                           rte_pktmbuf_mtod_offset(m, const uint8_t*, p.l4_off),
                           static_cast<uint16_t>(udp_len));
  InetSum sum = udp_pseudo_header(ip + (v6 ? 8 : 12), ip + (v6 ? 24 : 16), v6 ? 16 : 4,
                                  static_cast<uint16_t>(udp_len));
  // The UDP header and payload: udp_len bytes from l4_off, over as many
  // segments as they take. The parser checked they lie inside pkt_len.
  uint32_t skip = p.l4_off, left = udp_len;
  for (const rte_mbuf* seg = m; seg && left; seg = seg->next) {
    const uint32_t dl = seg->data_len;
    if (skip >= dl) {
      skip -= dl;
      continue;
    }
    const uint32_t n = dl - skip < left ? dl - skip : left;
    sum.add(rte_pktmbuf_mtod_offset(seg, const uint8_t*, skip), n);
    left -= n;
    skip = 0;
  }
  // A chain shorter than its pkt_len claims: not a datagram we can vouch for.
  return left == 0 && sum.fold() == 0xffff;
}

void print_partial_csum_hint(uint16_t port) {
  std::fprintf(stderr,
               "zcrxd: port %u: UDP datagrams with a bad checksum were dropped. A sender on "
               "this host (e.g. over veth) leaves UDP checksums to tx offload, and this PMD "
               "does not say the checksum is incomplete: turn the offload off on the sending "
               "interface (ethtool -K IFACE tx off), or trust the link with --rx-csum off\n",
               port);
}

}  // namespace zcrxd
