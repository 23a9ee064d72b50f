// SPDX-License-Identifier: MIT
// TcpStack: creation, the receive path (ARP, ICMP, TCP into the engine)
// and the per-iteration work (timers, window updates, TX flush).
#include "tcp_stack.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "area_pool.h"
#include "copy_fallback.h"
#include "ether.h"
#include "rx_csum.h"
#include "zcrx/core/engine.h"

namespace zcrxd {

namespace tcp = zcrx::tcp;

namespace {
constexpr uint32_t kSbRoom = 2048;  // send-buffer bytes per mbuf
}  // namespace

TcpStack::TcpStack(const TcpStackConfig& cfg) : cfg_(cfg) {}

std::unique_ptr<TcpStack> TcpStack::create(const TcpStackConfig& cfg, int* err) {
  std::unique_ptr<TcpStack> s(new TcpStack(cfg));
  if (int rc = s->open(err); rc) return nullptr;
  return s;
}

int TcpStack::open(int* err) {
  rte_ether_addr ea{};
  uint16_t mtu = 1500;
  rte_eth_macaddr_get(cfg_.port, &ea);
  rte_eth_dev_get_mtu(cfg_.port, &mtu);
  cfg_.net.set_port(Mac::from(ea.addr_bytes), mtu);

  FrameTxConfig tcfg;
  tcfg.port = cfg_.port;
  tcfg.tx_queue = cfg_.tx_queue;
  tcfg.frame_room = cfg_.net.mtu + kEthHeaderLen;
  tcfg.socket = cfg_.socket;
  tcfg.offloads = cfg_.tx_offloads;
  tcfg.pool_name = "zcrxd_tx" + cfg_.name;
  if (int rc = tx_.open(tcfg)) {
    *err = rc;
    return rc;
  }
  neigh_ = std::make_unique<NeighborCache>(NeighborConfig{}, *this);
  arp_ = std::make_unique<Arp>(cfg_.net, *neigh_);
  icmp_ = std::make_unique<Icmp>(cfg_.net);

  // Send buffers: every connection may fill its sndbuf, but the pool is
  // shared and bounded; a SEND that finds it empty waits like one that
  // finds its buffer full.
  sb_slots_ = cfg_.tcp.sndbuf / kSbRoom + 2;
  const uint64_t want = uint64_t{cfg_.tcp.max_conns} * (sb_slots_ - 1);
  const unsigned n = static_cast<unsigned>(want < 16383 ? want : 16383);
  const std::string sb_name = "zcrxd_sb" + cfg_.name;
  sb_pool_ = rte_pktmbuf_pool_create(sb_name.c_str(), n < 255 ? 255 : n, 64, 0,
                                     kSbRoom + RTE_PKTMBUF_HEADROOM, cfg_.socket);
  if (!sb_pool_) {
    std::fprintf(stderr, "zcrxd: TCP send-buffer pool: %s\n", rte_strerror(rte_errno));
    *err = -ENOMEM;
    return -ENOMEM;
  }
  sb_mem_ = std::make_unique<rte_mbuf*[]>(size_t{cfg_.tcp.max_conns} * sb_slots_);
  cs_mem_ = std::make_unique<TcpConnState[]>(cfg_.tcp.max_conns);
  scratch_ = std::make_unique<TcpConnState*[]>(cfg_.tcp.max_conns);
  for (uint32_t i = cfg_.tcp.max_conns; i-- > 0;) {
    TcpConnState& cs = cs_mem_[i];
    cs.sb = &sb_mem_[size_t{i} * sb_slots_];
    cs.next = cs_free_;
    cs_free_ = &cs;
  }

  tcp::Config ec;
  ec.max_conns = cfg_.tcp.max_conns;
  ec.mss = cfg_.net.tcp_mss();
  ec.rcvbuf = cfg_.tcp.rcvbuf;
  ec.sndbuf = cfg_.tcp.sndbuf;
  ec.time_wait_us = cfg_.tcp.time_wait_ms * 1000;
  ec.congestion = cfg_.tcp.cubic ? tcp::Congestion::cubic : tcp::Congestion::newreno;
  // RFC 6528: the ISN key must not be predictable.
  if (getrandom(ec.isn_key, sizeof(ec.isn_key), 0) != sizeof(ec.isn_key)) {
    std::fprintf(stderr, "zcrxd: getrandom for the TCP ISN key failed\n");
    *err = -EIO;
    return -EIO;
  }
  engine_ = std::make_unique<tcp::Engine>(ec, *this);
  // (10^6 << 32) / hz: microseconds from TSC with one multiplication.
  tsc_mult_ = static_cast<uint64_t>((static_cast<unsigned __int128>(1000000) << 32) /
                                    rte_get_tsc_hz());
  next_port_ = static_cast<uint16_t>(ec.ephemeral_port_lo +
                                     (ec.isn_key[0] % (ec.ephemeral_port_hi -
                                                       ec.ephemeral_port_lo + 1)));
  // Announce our addresses (RFC 5227 2.3), as a host does when they come up.
  for (uint32_t i = 0; i < cfg_.net.n_addrs; i++)
    tx_.send_built([&](uint8_t* p, uint32_t room) {
      return write_gratuitous_arp(p, room, cfg_.net.mac, cfg_.net.addrs[i].addr);
    });
  return 0;
}

TcpStack::~TcpStack() {
  abort_all();
  engine_.reset();  // releases what it still holds through release()
  neigh_.reset();   // held frames freed
  if (sb_pool_) rte_mempool_free(sb_pool_);
}

void TcpStack::abort_all() {
  if (!engine_) return;
  while (n_tables_) drop_ring(*tables_[0]);
  // Connections whose handle was closed (FIN-WAIT, TIME-WAIT...).
  for (uint32_t i = 0; i < cfg_.tcp.max_conns; i++) {
    TcpConnState& cs = cs_mem_[i];
    if (cs.in_use && cs.conn) engine_->abort(cs.conn, now_us_);
  }
  drain_kicks();
  tx_.flush();
  publish_engine_stats();
}

// ---- receive -------------------------------------------------------------------

bool TcpStack::claims(const rte_mbuf* m, const ParsedPacket& p) const {
  if (p.l3 == L3::ipv4) {
    if (p.kind != PacketKind::other || (p.l4_proto != kIpProtoTcp && p.l4_proto != kIpProtoIcmp))
      return false;
    return cfg_.net.is_local(load_be32(p.dst_addr));
  }
  if (p.l3 != L3::none || m->data_len < kEthHeaderLen) return false;
  return eth_type(rte_pktmbuf_mtod(m, const uint8_t*)) == kEtherTypeArp;
}

void TcpStack::input(rte_mbuf* m, const ParsedPacket& p) {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = m->data_len;
  if (p.l3 == L3::none) {
    st_.arp_in.add(1);
    tx_.send_built([&](uint8_t* out, uint32_t room) {
      return arp_->input(f, len, now_us_, out, room);
    });
    rte_pktmbuf_free(m);
    return;
  }
  if (p.l4_proto == kIpProtoIcmp) {
    st_.icmp_in.add(1);
    tx_.send_built([&](uint8_t* out, uint32_t room) { return icmp_->input(f, len, out, room); });
    rte_pktmbuf_free(m);
    return;
  }
  input_tcp(m, p);
}

bool TcpStack::copy_payload(const rte_mbuf* m, uint32_t off, uint32_t len,
                            tcp::RxSegment& seg) {
  const uint32_t shift = pool_->niov_shift();
  const uint32_t chunk_max = pool_->buf_room();
  const uint32_t n = copy_niovs_needed(len, chunk_max);
  if (n > tcp::kMaxPieces) return false;
  rte_mbuf* got[tcp::kMaxPieces];
  if (rte_mempool_get_bulk(pool_->pool(), reinterpret_cast<void**>(got), n) != 0) return false;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t idx = static_cast<uint32_t>(
        (static_cast<uint8_t*>(got[i]->buf_addr) - pool_->base()) >> shift);
    const uint32_t chunk = len - i * chunk_max < chunk_max ? len - i * chunk_max : chunk_max;
    // rte_pktmbuf_read copies across a chain's segments.
    uint8_t* dst = pool_->buf_of(idx);
    const void* src = rte_pktmbuf_read(m, off + i * chunk_max, chunk, dst);
    if (src != dst) std::memcpy(dst, src, chunk);
    seg.pieces[i] = {idx, pool_->payload_bias(), chunk};
  }
  seg.n_pieces = static_cast<uint8_t>(n);
  if (real_) real_->report_copy(len);
  st_.copied_segs.add(1);
  return true;
}

void TcpStack::input_tcp(rte_mbuf* m, const ParsedPacket& p) {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint8_t* ip = f + p.l3_off;
  // A unicast IP packet in a frame for another station (the port is
  // promiscuous) is not ours.
  if (eth_dst(f) != cfg_.net.mac) {
    st_.drop_bad_header.add(1);
    rte_pktmbuf_free(m);
    return;
  }
  if (!ipv4_header_ok(m, p, cfg_.rx_csum)) {
    st_.drop_bad_ip_csum.add(1);
    rte_pktmbuf_free(m);
    return;
  }
  const uint32_t total = load_be16(ip + 2);
  const uint32_t l4_off = p.l3_off + p.l3_len;
  if (total < p.l3_len || p.l3_off + total > m->pkt_len) {
    st_.drop_bad_header.add(1);
    rte_pktmbuf_free(m);
    return;
  }
  const uint32_t l4_len = total - p.l3_len;
  const uint32_t src = load_be32(ip + 12), dst = load_be32(ip + 16);
  if (cfg_.rx_csum != RxCsum::kOff) {
    const uint64_t l4 = csum_flags(m, cfg_.rx_csum) & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    bool ok = l4 != RTE_MBUF_F_RX_L4_CKSUM_BAD;
    if (ok && l4 == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN) {
      if (l4_off + l4_len <= m->data_len) {
        ok = tcp_checksum_ok(f + l4_off, l4_len, src, dst);
      } else {
        ok = rte_ipv4_udptcp_cksum_mbuf_verify(
                 m, reinterpret_cast<const rte_ipv4_hdr*>(ip), static_cast<uint16_t>(l4_off)) == 0;
      }
    }
    if (!ok) {
      st_.drop_bad_tcp_csum.add(1);
      rte_pktmbuf_free(m);
      return;
    }
  }
  tcp::RxSegment seg;
  TcpParsed info;
  if (parse_tcp(f, m->data_len, l4_off, l4_len, src, dst, &seg, &info, wire_st_) != 0) {
    st_.drop_bad_header.add(1);
    rte_pktmbuf_free(m);
    return;
  }
  seg.payload_len = info.payload_len;
  bool keep = false;  // the mbuf's niov became a piece
  if (info.payload_len) {
    const uint32_t idx = copy_ || m->next ? UINT32_MAX : pool_->niov_of(m);
    if (idx != UINT32_MAX && uint32_t{m->data_off} + m->data_len <= pool_->buf_room() &&
        info.payload_off + info.payload_len <= m->data_len) {
      // In place: the niov is the engine's (then the consumer's) until it
      // is refilled or released; alone, as the refill path expects.
      m->pkt_len = m->data_len;
      seg.pieces[0] = {idx, pool_->payload_bias() + m->data_off + info.payload_off,
                       info.payload_len};
      seg.n_pieces = 1;
      keep = true;
    } else if (!copy_payload(m, info.payload_off, info.payload_len, seg)) {
      st_.drop_no_buffers.add(1);
      rte_pktmbuf_free(m);
      return;
    }
  }
  if (!keep) rte_pktmbuf_free(m);
  st_.segs_in.add(1);
  engine_->input(seg, now_us_);
}

// ---- the iteration -------------------------------------------------------------------

void TcpStack::begin_iteration(AreaPool* pool, zcrx::core::Ifq* real, bool copy, uint64_t tsc) {
  now_us_ = static_cast<uint64_t>((static_cast<unsigned __int128>(tsc) * tsc_mult_) >> 32);
  if (pool != pool_) [[unlikely]] {
    // Niovs the engine holds are indices of the old area: every
    // connection goes before another area is used.
    if (pool_) abort_all();
    pool_ = pool;
  }
  real_ = real;
  copy_ = copy;
}

bool TcpStack::end_iteration(uint32_t refilled) {
  bool worked = false;
  if (!starved_.empty() && (refilled || (++ticks_ & 63) == 0)) refresh_starved();
  if (now_us_ >= engine_->next_deadline()) {
    engine_->poll(now_us_);
    worked = true;
  }
  // The engine's counters for the stats line, a few times a second at most.
  if (now_us_ >= next_stats_us_) {
    publish_engine_stats();
    next_stats_us_ = now_us_ + 100000;
  }
  if (now_us_ >= neigh_->next_deadline()) neigh_->poll(now_us_);
  if (!room_waiters_.empty()) retry_room_waiters();
  if (!kicks_.empty()) drain_kicks();
  if (tx_.queued()) worked |= tx_.flush() != 0;
  return worked;
}

void TcpStack::publish_engine_stats() {
  const tcp::EngineStats e = engine_->stats();
  auto set = [](Counter& c, uint64_t v) {
    const uint64_t was = c.get();
    if (v > was) c.add(v - was);
  };
  // Live figures go up and down: kept as their own counters' difference.
  auto gauge = [](Counter& c, uint64_t v) {
    const uint64_t was = c.get();
    c.add(v - was);  // wraps back down: a single writer, read as a value
  };
  gauge(st_.conns_live, e.conns_live);
  gauge(st_.listeners_live, e.listeners_live);
  set(st_.rst_in, e.rst_in);
  set(st_.rst_out_no_conn, e.rst_out_no_conn);
  set(st_.challenge_acks, e.challenge_acks);
  set(st_.bad_segments, e.bad_segments);
  set(st_.syn_dropped_backlog, e.syn_dropped_backlog);
  set(st_.accept_overflows, e.accept_overflows);
  set(st_.ooo_dropped, e.ooo_dropped);
  set(st_.rx_no_slot, e.rx_no_slot);
  set(st_.conns_ended, e.conns_ended);
}

// ---- neighbour cache host ----------------------------------------------------------

void TcpStack::send_request(uint32_t ip, const Mac* unicast) {
  NextHop h;
  uint32_t src = cfg_.net.addrs[0].addr;
  if (cfg_.net.next_hop(ip, &h) == 0) src = h.src;
  tx_.send_built([&](uint8_t* p, uint32_t room) {
    return write_arp_request(p, room, cfg_.net.mac, src, ip, unicast);
  });
}

void TcpStack::release(void* frame, uint32_t, const Mac* mac, int result) {
  auto* m = static_cast<rte_mbuf*>(frame);
  if (result != 0) {
    st_.tx_no_route.add(1);
    FrameTx::drop(m);
    return;
  }
  FrameTx::set_eth_dst(m, *mac);
  tx_.send(m);
}

// ---- engine host: buffers and frames ---------------------------------------------

void TcpStack::release(const tcp::Piece* pieces, uint32_t n) {
  if (!pool_) return;
  uint32_t idx[tcp::kMaxPieces * 4];
  while (n) {
    const uint32_t k = n < tcp::kMaxPieces * 4 ? n : tcp::kMaxPieces * 4;
    for (uint32_t i = 0; i < k; i++) idx[i] = pieces[i].buf;
    pool_->put_niovs(idx, k);
    pieces += k;
    n -= k;
  }
}

uint32_t TcpStack::rx_capacity(const tcp::Conn& c) {
  auto* cs = static_cast<TcpConnState*>(c.user());
  const uint32_t mss = cfg_.net.tcp_mss();
  if (!pool_) return 0;
  // The area's free niovs, shared fairly by the live connections; each
  // niov holds one segment.
  const uint32_t conns = cs_live_ ? cs_live_ : 1;
  uint64_t cap = uint64_t{pool_->available_here()} / conns * mss;
  if (cs && cs->sock && cs->sock->recv.armed) {
    const uint64_t cq = uint64_t{cs->sock->ring->cq_room()} * mss;
    if (cq < cap) cap = cq;
  }
  if (cap < cfg_.tcp.rcvbuf && cs) starve(*cs);
  return cap > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(cap);
}

uint32_t TcpStack::deliver(tcp::Conn& c, const tcp::Piece* pieces, uint32_t n) {
  auto* cs = static_cast<TcpConnState*>(c.user());
  TcpSocket* s = cs ? cs->sock : nullptr;
  if (!s) return 0;  // not accepted yet: kept until the socket is armed
  if (s->shut_rd) {
    // SHUT_RD: taken and dropped, as Linux discards what arrives after it.
    release(pieces, n);
    return n;
  }
  RecvRequest& r = s->recv;
  uint32_t i = 0;
  uint64_t bytes = 0;
  for (; i < n && r.armed; i++) {
    if (!s->ring->reserve(r.limited ? 2u : 1u)) break;
    const uint64_t off = r.entry->deliver(pieces[i].buf, pieces[i].off);
    bytes += s->ring->post_data(r, pieces[i].len, off, 0, /*last=*/false);
  }
  if (i) {
    st_.cqes.add(i);
    st_.bytes_delivered.add(bytes);
    // The datapath's buffer accounting: refills of these niovs count as
    // returned, so they count as delivered.
    cfg_.dp_stats->delivered.add(i);
    cfg_.dp_stats->delivered_bytes.add(bytes);
  }
  if (i < n) starve(*cs);
  return i;
}

bool TcpStack::transmit(tcp::Conn* c, const tcp::TxSegment& s) {
  NextHop h;
  if (cfg_.net.next_hop(s.tuple.remote.addr, &h) != 0) {
    st_.tx_no_route.add(1);
    return false;
  }
  TcpFrame f;
  if (tx_.tcp_begin(f, s, cfg_.net.mac, Mac{}) != 0) {
    st_.tx_failed.add(1);
    return false;
  }
  if (s.len) {
    auto* cs = c ? static_cast<TcpConnState*>(c->user()) : nullptr;
    if (!cs || s.stream_off < cs->acked || s.stream_off + s.len > cs->written) {
      tx_.tcp_abort(f);
      st_.tx_failed.add(1);
      return false;
    }
    PayloadSpan spans[8];
    uint32_t n = 0;
    uint64_t off = s.stream_off;
    uint32_t left = s.len;
    while (left) {
      rte_mbuf* m = cs->sb[(off / kSbRoom) % sb_slots_];
      const uint32_t in = static_cast<uint32_t>(off % kSbRoom);
      const uint32_t k = kSbRoom - in < left ? kSbRoom - in : left;
      spans[n++] = {rte_pktmbuf_mtod_offset(m, const uint8_t*, in), k};
      off += k;
      left -= k;
      if (n == 8 && left) {
        tx_.tcp_append(f, spans, n);
        n = 0;
      }
    }
    tx_.tcp_append(f, spans, n);
  }
  rte_mbuf* m = tx_.tcp_finish(f);
  if (!m) {
    st_.tx_failed.add(1);
    return false;
  }
  Mac mac;
  const int rc = neigh_->resolve(h.addr, now_us_, m, &mac);
  if (rc == NeighborCache::kHeld) {
    st_.segs_out.add(1);
    return true;
  }
  if (rc != 0) {
    FrameTx::drop(m);
    st_.tx_no_route.add(1);
    return false;
  }
  FrameTx::set_eth_dst(m, mac);
  if (!tx_.send(m)) return false;
  st_.segs_out.add(1);
  if (s.retransmit) st_.retransmits.add(1);
  return true;
}

void TcpStack::send_acked(tcp::Conn& c, uint64_t stream_off) {
  auto* cs = static_cast<TcpConnState*>(c.user());
  if (!cs) return;
  // Whole mbufs below the acknowledged offset go back.
  for (uint64_t k = cs->acked / kSbRoom; (k + 1) * kSbRoom <= stream_off; k++) {
    rte_mbuf*& m = cs->sb[k % sb_slots_];
    if (m) rte_pktmbuf_free(m);
    m = nullptr;
  }
  if (stream_off > cs->acked) cs->acked = stream_off;
  if (cs->sock && cs->sock->send_n) kick(*cs->sock);
  if (sb_waiters_) {
    sb_waiters_ = false;
    for (uint32_t i = 0; i < n_tables_; i++)
      for (TcpSocket& s : tables_[i]->socks)
        if (s.send_n && s.cs) kick(s);
  }
}

}  // namespace zcrxd
