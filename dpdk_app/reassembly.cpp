// SPDX-License-Identifier: MIT
#include "reassembly.h"

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <cstdio>

#include "checksum.h"
#include "options.h"

namespace zcrxd {

namespace {

// What one rte_ip_frag call can put on the death row: a datagram's
// fragments (one that timed out, or the one found invalid), once more for
// good measure, and the new fragment. Freed first when that might not fit.
constexpr uint32_t kMaxDropsPerCall = 2 * (RTE_LIBRTE_IP_FRAG_MAX_FRAG + 1);
static_assert(kMaxDropsPerCall < RTE_IP_FRAG_DEATH_ROW_MBUF_LEN);
static_assert(kMaxFragments == RTE_LIBRTE_IP_FRAG_MAX_FRAG, "--help states the limit");

// Entries per hash bucket (a power of two). A key may use two buckets; with
// one bucket per allowed datagram the table has 8 entries per datagram, so
// both of a key's buckets are rarely full before the table is.
constexpr uint32_t kBucketEntries = 4;

}  // namespace

struct Reassembler::Table {
  rte_ip_frag_tbl* tbl = nullptr;
  rte_ip_frag_death_row dr{};
};

Reassembler::Reassembler(const ReassemblyConfig& cfg) : t_(std::make_unique<Table>()) {
  const uint32_t n = cfg.max_datagrams ? cfg.max_datagrams : 1;
  const uint64_t cycles = rte_get_tsc_hz() / 1000 * cfg.timeout_ms;
  // rte_ip_frag_table_create says at INFO level what it allocated: once
  // per datapath is noise, its failure we report ourselves.
  const int level = rte_log_get_level(RTE_LOGTYPE_USER1);
  rte_log_set_level(RTE_LOGTYPE_USER1, RTE_LOG_WARNING);
  t_->tbl = rte_ip_frag_table_create(n, kBucketEntries, n, cycles, SOCKET_ID_ANY);
  if (level >= 0) rte_log_set_level(RTE_LOGTYPE_USER1, static_cast<uint32_t>(level));
  if (!t_->tbl)
    std::fprintf(stderr,
                 "zcrxd: no memory for an IP reassembly table of %u datagrams; "
                 "fragments are dropped\n", n);
}

Reassembler::~Reassembler() {
  flush();
  if (t_->tbl) rte_ip_frag_table_destroy(t_->tbl);
}

void Reassembler::free_dropped() {
  if (t_->dr.cnt) rte_ip_frag_free_death_row(&t_->dr, 0);
}

void Reassembler::account(uint32_t from, const rte_mbuf* m, bool completed, FragCounts& c) {
  const rte_ip_frag_death_row& dr = t_->dr;
  if (dr.cnt == from) return;
  // Each death-row entry is a fragment, or (a datagram found to have a
  // hole as it was being put together) fragments already chained: count
  // their segments, and see whether `m` is among them.
  uint64_t segs = 0;
  bool m_dropped = false;
  for (uint32_t k = from; k < dr.cnt; k++)
    for (const rte_mbuf* s = dr.row[k]; s; s = s->next) {
      segs++;
      m_dropped |= s == m;
    }
  held_ -= static_cast<uint32_t>(segs);
  // rte_ip_frag drops in three ways. Expired datagrams it meets on the
  // way (`m` goes on regardless); `m` alone when no entry is free for its
  // datagram; `m` with every fragment of a datagram it makes invalid
  // (too many, a second first or last one, lengths that overlap or leave
  // a hole) -- an entry in the table always holds a fragment, so that is
  // never `m` alone.
  if (completed || !m_dropped) c.timeout += segs;
  else if (dr.cnt - from == 1 && dr.row[from] == m) c.table_full += segs;
  else c.invalid += segs;
}

rte_mbuf* Reassembler::add(rte_mbuf* m, const ParsedPacket& p, uint64_t now, FragCounts& c) {
  rte_ip_frag_death_row& dr = t_->dr;
  if (dr.cnt + kMaxDropsPerCall > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN) free_dropped();
  const uint32_t segs = m->nb_segs;
  // Ethernet padding past the fragment: rte_ip_frag cuts it from the last
  // segment; padding it could not cut would end up inside the datagram.
  const uint32_t pad = m->pkt_len - (uint32_t{p.l3_off} + p.l3_len + p.frag_len);
  if (!t_->tbl || pad > rte_pktmbuf_lastseg(m)->data_len) {
    (t_->tbl ? c.invalid : c.table_full) += segs;
    dr.row[dr.cnt++] = m;
    return nullptr;
  }
  m->l2_len = p.l3_off;  // 7 and 9 bits: at most 22 and 60 here
  m->l3_len = p.l3_len;
  held_ += segs;
  const uint32_t from = dr.cnt;
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, p.l3_off);
  rte_mbuf* d =
      p.l3 == L3::ipv4
          ? rte_ipv4_frag_reassemble_packet(t_->tbl, &dr, m, now,
                                            reinterpret_cast<rte_ipv4_hdr*>(ip))
          : rte_ipv6_frag_reassemble_packet(
                t_->tbl, &dr, m, now, reinterpret_cast<rte_ipv6_hdr*>(ip),
                reinterpret_cast<rte_ipv6_fragment_ext*>(ip + sizeof(rte_ipv6_hdr)));
  account(from, m, d != nullptr, c);
  if (!d) return nullptr;
  held_ -= d->nb_segs;
  c.reassembled++;
  // A datagram as it would have arrived whole: rte_ip_frag rewrote the
  // IPv4 header (length, offset) and zeroed its checksum; the flags the
  // PMD set spoke of the first fragment alone.
  if (p.l3 == L3::ipv4) {
    uint8_t* h = rte_pktmbuf_mtod_offset(d, uint8_t*, d->l2_len);
    h[10] = h[11] = 0;
    const uint16_t sum = ipv4_header_checksum(h, d->l3_len);
    h[10] = static_cast<uint8_t>(sum >> 8);
    h[11] = static_cast<uint8_t>(sum);
  }
  d->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
  return d;
}

void Reassembler::expire(uint64_t now, FragCounts& c) {
  if (!t_->tbl) return;
  // The table deletes expired datagrams oldest first while the death row
  // has room; free it and go on until none is left.
  while (held_) {
    if (t_->dr.cnt + kMaxDropsPerCall > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN) free_dropped();
    const uint32_t from = t_->dr.cnt;
    rte_ip_frag_table_del_expired_entries(t_->tbl, &t_->dr, now);
    if (t_->dr.cnt == from) break;
    account(from, nullptr, true, c);
  }
}

uint64_t Reassembler::flush() {
  // Every entry looks expired at the end of time (start + timeout, both
  // far below 2^64, is less than it).
  FragCounts c;
  expire(UINT64_MAX, c);
  free_dropped();
  if (held_) {
    // An invariant broke: what the table holds was miscounted.
    std::fprintf(stderr, "zcrxd: IP reassembly: %u buffers unaccounted for after a flush\n", held_);
    held_ = 0;
  }
  return c.timeout;
}

}  // namespace zcrxd
