// SPDX-License-Identifier: MIT
#include "frame_tx.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "csum_copy.h"
#include "tcp_wire.h"

namespace zcrxd {

FrameTx::~FrameTx() {
  if (n_) rte_pktmbuf_free_bulk(burst_, n_);
  n_ = 0;
  if (pool_) rte_mempool_free(pool_);
}

int FrameTx::open(const FrameTxConfig& cfg) {
  cfg_ = cfg;
  if (cfg.burst == 0 || cfg.burst > kMaxTxBurst || cfg.frame_room < kEthMinFrame ||
      cfg.frame_room + RTE_PKTMBUF_HEADROOM > UINT16_MAX) {
    std::fprintf(stderr, "zcrxd: tx %s: burst 1..%u and a frame room of %u..%u bytes\n",
                 cfg.pool_name.c_str(), kMaxTxBurst, kEthMinFrame,
                 UINT16_MAX - RTE_PKTMBUF_HEADROOM);
    return -EINVAL;
  }
  ip_offload_ = (cfg.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  tcp_offload_ = (cfg.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
  // A per-lcore cache: the datapath allocates and (in rte_eth_tx_burst,
  // as the PMD completes them) frees these mbufs on its own lcore.
  pool_ = rte_pktmbuf_pool_create(cfg.pool_name.c_str(), cfg.pool_size,
                                  cfg.pool_size >= 1024 ? 128 : 0, 0,
                                  static_cast<uint16_t>(cfg.frame_room + RTE_PKTMBUF_HEADROOM),
                                  cfg.socket);
  if (!pool_) {
    std::fprintf(stderr, "zcrxd: tx pool %s: %s\n", cfg.pool_name.c_str(),
                 rte_strerror(rte_errno));
    return -ENOMEM;
  }
  return 0;
}

rte_mbuf* FrameTx::alloc() {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) st_.pool_empty.add(1);
  return m;
}

uint8_t* FrameTx::frame_data(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

void FrameTx::set_len(rte_mbuf* m, uint32_t len) {
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = len;
}

void FrameTx::drop(rte_mbuf* m) { rte_pktmbuf_free(m); }

void FrameTx::set_eth_dst(rte_mbuf* m, const Mac& dst) {
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), dst.b, 6);
}

bool FrameTx::send(rte_mbuf* m) {
  if (n_ == cfg_.burst) flush();
  if (n_ == cfg_.burst) {
    st_.dropped_full.add(1);
    rte_pktmbuf_free(m);
    return false;
  }
  burst_[n_++] = m;
  return true;
}

uint32_t FrameTx::flush() {
  if (!n_) return 0;
  const uint16_t sent =
      rte_eth_tx_burst(cfg_.port, cfg_.tx_queue, burst_, static_cast<uint16_t>(n_));
  st_.bursts.add(1);
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < sent; i++) bytes += burst_[i]->pkt_len;
  st_.sent.add(sent);
  st_.sent_bytes.add(bytes);
  // What the ring did not take waits for the next iteration, in order.
  if (sent && sent < n_) std::memmove(burst_, burst_ + sent, (n_ - sent) * sizeof(burst_[0]));
  n_ -= sent;
  return sent;
}

int FrameTx::tcp_begin(TcpFrame& f, const zcrx::tcp::TxSegment& s, const Mac& src,
                       const Mac& dst) {
  f = TcpFrame{};
  if (uint64_t{tcp_headers_len(s)} + s.len > cfg_.frame_room) {
    st_.too_big.add(1);
    return -EMSGSIZE;
  }
  rte_mbuf* m = alloc();
  if (!m) return -ENOBUFS;
  uint8_t* p = frame_data(m);
  // The software checksum is completed in tcp_finish, once the payload's
  // sum is known (add_tcp_payload_sum).
  const uint32_t hdr = tcp_offload_
                           ? write_tcp_headers_offload(s, src, dst, ip_offload_, p,
                                                       cfg_.frame_room)
                           : write_tcp_headers(s, src, dst, 0, p, cfg_.frame_room);
  if (!hdr) {  // options that cannot be written: the engine's bug, not the wire's
    rte_pktmbuf_free(m);
    st_.too_big.add(1);
    return -EMSGSIZE;
  }
  // The mbuf API asks for a zero IPv4 checksum under RTE_MBUF_F_TX_IP_CKSUM.
  if (ip_offload_ && !tcp_offload_) store_be16(p + kEthHeaderLen + 10, 0);
  set_len(m, hdr + s.len);
  if (tcp_offload_ || ip_offload_) {
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | (ip_offload_ ? RTE_MBUF_F_TX_IP_CKSUM : 0) |
                  (tcp_offload_ ? RTE_MBUF_F_TX_TCP_CKSUM : 0);
    m->l2_len = kEthHeaderLen;
    m->l3_len = kIpv4HeaderLen;
    m->l4_len = hdr - kEthHeaderLen - kIpv4HeaderLen;  // net_tap reads it
  }
  f.m = m;
  f.tcp = p + kEthHeaderLen + kIpv4HeaderLen;
  f.payload = p + hdr;
  f.want = s.len;
  return 0;
}

int FrameTx::tcp_append(TcpFrame& f, const void* src, uint32_t len) {
  if (len > f.want - f.have) return -EMSGSIZE;
  const auto* from = static_cast<const uint8_t*>(src);
  if (tcp_offload_) std::memcpy(f.payload, from, len);
  else f.sum = csum_add(f.sum, csum_at(copy_and_sum(f.payload, from, len), f.have));
  f.payload += len;
  f.have += len;
  return 0;
}

int FrameTx::tcp_append(TcpFrame& f, const PayloadSpan* spans, uint32_t n) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) total += spans[i].len;
  if (total > f.want - f.have) return -EMSGSIZE;
  for (uint32_t i = 0; i < n; i++) tcp_append(f, spans[i].data, spans[i].len);
  return 0;
}

rte_mbuf* FrameTx::tcp_finish(TcpFrame& f) {
  rte_mbuf* m = f.m;
  if (!m) return nullptr;
  if (f.have != f.want) {
    tcp_abort(f);
    return nullptr;
  }
  if (!tcp_offload_) add_tcp_payload_sum(f.tcp, f.sum);
  f = TcpFrame{};
  return m;
}

void FrameTx::tcp_abort(TcpFrame& f) {
  if (f.m) rte_pktmbuf_free(f.m);
  f = TcpFrame{};
}

}  // namespace zcrxd
