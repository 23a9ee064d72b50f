// SPDX-License-Identifier: MIT
// Receive text (RFC 9293 3.10.7.4 seventh and eighth checks): trimming to
// RCV.NXT and the window, zero-copy delivery in order through
// Host::deliver, the pending queue of what the host did not take, the
// out-of-order queue (bounded per connection and in total) and the SACK
// blocks that describe it (RFC 2018 4), and when to acknowledge (RFC 9293
// 3.8.6.3, RFC 5681 4.2: delayed ACKs, every second full-sized segment,
// at once for out-of-order or hole-filling segments, quick ACKs while the
// connection starts).
#include <algorithm>

#include "internal.h"

namespace zcrx::tcp {
namespace {

uint32_t alloc_node(Engine::Impl& e) {
  const uint32_t i = e.node_free;
  if (i == kNone) return kNone;
  e.node_free = e.nodes[i].next;
  SegNode& n = e.nodes[i];
  n = SegNode{};
  return i;
}

void free_node(Engine::Impl& e, uint32_t i) {
  e.nodes[i].next = e.node_free;
  e.node_free = i;
}

void link_before(Engine::Impl& e, SegQueue& q, uint32_t i, uint32_t before) {
  SegNode& n = e.nodes[i];
  n.next = before;
  n.prev = before == kNone ? q.tail : e.nodes[before].prev;
  if (n.prev != kNone)
    e.nodes[n.prev].next = i;
  else
    q.head = i;
  if (before != kNone)
    e.nodes[before].prev = i;
  else
    q.tail = i;
  q.count++;
  q.pieces += n.n_pieces;
  q.bytes += n.len;
}

void unlink(Engine::Impl& e, SegQueue& q, uint32_t i) {
  SegNode& n = e.nodes[i];
  if (n.prev != kNone)
    e.nodes[n.prev].next = n.next;
  else
    q.head = n.next;
  if (n.next != kNone)
    e.nodes[n.next].prev = n.prev;
  else
    q.tail = n.prev;
  q.count--;
  q.pieces -= n.n_pieces;
  q.bytes -= n.len;
  n.next = n.prev = kNone;
}

uint32_t bytes_of(const Piece* p, uint32_t n) {
  uint32_t b = 0;
  for (uint32_t i = 0; i < n; i++) b += p[i].len;
  return b;
}

// Offers `p[0..n)` to the host; returns how many it took (bounded by n).
uint32_t offer(Engine::Impl& e, Conn::Impl& c, const Piece* p, uint32_t n) {
  if (n == 0) return 0;
  uint32_t k = e.host.deliver(c.handle, p, n);
  if (k > n) k = n;  // a host bug must not make us read past the array
  c.stats.bytes_in += bytes_of(p, k);
  return k;
}

// A node whose pieces [0, k) the host took: drop them from it.
void take_front(SegQueue& q, SegNode& n, uint32_t k) {
  const uint32_t b = bytes_of(n.pieces, k);
  for (uint32_t i = k; i < n.n_pieces; i++) n.pieces[i - k] = n.pieces[i];
  n.n_pieces = static_cast<uint8_t>(n.n_pieces - k);
  n.seq += b;
  n.len -= b;
  q.pieces -= k;
  q.bytes -= b;
}

// In-order payload at RCV.NXT (and the FIN after it, if `fin`): offered to
// the host at once when nothing is pending before it, else queued behind
// what is. Returns false when it could hold only part (no pending slot):
// RCV.NXT then stops where the host's taking stopped and the FIN is not
// taken.
bool take_in_order(Engine::Impl& e, Conn::Impl& c, Piece* p, uint8_t n, uint32_t len) {
  uint32_t taken = 0;
  if (c.pending.count == 0 && !c.user_closed) taken = offer(e, c, p, n);
  if (taken == n) {
    c.rcv_nxt += len;
    return true;
  }
  const uint32_t ni = alloc_node(e);
  if (ni == kNone) {
    // Only what the host took is acknowledged; the peer sends the rest
    // again once the window lets it.
    const uint32_t took = bytes_of(p, taken);
    e.host.release(p + taken, n - taken);
    e.stats.rx_no_slot++;
    c.rcv_nxt += took;
    return false;
  }
  SegNode& node = e.nodes[ni];
  node.seq = c.rcv_nxt + bytes_of(p, taken);
  node.n_pieces = static_cast<uint8_t>(n - taken);
  for (uint32_t i = taken; i < n; i++) node.pieces[i - taken] = p[i];
  node.len = len - bytes_of(p, taken);
  link_before(e, c.pending, ni, kNone);
  e.nodes_pending++;
  c.rcv_nxt += len;
  return true;
}

// RFC 2018 4: remember where the latest out-of-order segment went, so
// the first SACK block reports it.
void note_sack_recent(Conn::Impl& c, uint32_t left) {
  uint8_t n = c.n_sack_recent < 4 ? c.n_sack_recent + 1 : 4;
  for (uint8_t i = n - 1; i > 0; i--) c.sack_recent[i] = c.sack_recent[i - 1];
  c.sack_recent[0] = left;
  c.n_sack_recent = n;
}

// An out-of-order segment (after trimming to the window, starting after
// RCV.NXT) into the sorted disjoint queue: what is already held stays,
// what the new one covers entirely goes, the new one is trimmed to the
// gaps it fills.
void hold_out_of_order(Engine::Impl& e, Conn::Impl& c, Seg& s, bool fin) {
  SegQueue& q = c.ooo;
  uint32_t seq = s.seq;
  uint32_t end = s.seq + s.len;
  // The first held node ending after our start (walk from the tail: the
  // common case is a segment beyond everything held).
  uint32_t at = kNone;
  for (uint32_t i = q.tail; i != kNone && seq_gt(e.nodes[i].end(), seq); i = e.nodes[i].prev) at = i;
  while (at != kNone && seq_lt(e.nodes[at].seq, end)) {
    SegNode& n = e.nodes[at];
    if (seq_le(n.seq, seq) && seq_ge(n.end(), end)) {
      // Held already, entirely: a duplicate.
      if (fin && n.end() == end) n.fin = true;
      release_pieces(e, s);
      c.stats.dup_segments++;
      return;
    }
    if (seq_ge(n.seq, seq) && seq_le(n.end(), end)) {
      // The new segment covers this node: the node goes.
      const uint32_t next = n.next;
      if (n.fin && n.end() == end) fin = true;
      unlink(e, q, at);
      if (n.n_pieces) e.host.release(n.pieces, n.n_pieces);
      free_node(e, at);
      e.nodes_ooo--;
      at = next;
      continue;
    }
    if (seq_lt(n.seq, seq)) {
      // The node overlaps our front.
      s.len -= trim_front(e, s.pieces, s.n_pieces, n.end() - seq);
      seq = n.end();
      at = n.next;
      continue;
    }
    // The node overlaps our back.
    s.len -= trim_back(e, s.pieces, s.n_pieces, end - n.seq);
    end = n.seq;
    fin = false;
    break;
  }
  if (e.nodes_ooo >= e.cfg.max_ooo_segments || q.count >= e.cfg.ooo_per_conn) {
    e.stats.ooo_dropped++;
    release_pieces(e, s);
    return;
  }
  const uint32_t ni = alloc_node(e);
  if (ni == kNone) {
    e.stats.ooo_dropped++;
    release_pieces(e, s);
    return;
  }
  SegNode& node = e.nodes[ni];
  node.seq = seq;
  node.len = s.len;
  node.fin = fin;
  node.n_pieces = s.n_pieces;
  std::copy(s.pieces, s.pieces + s.n_pieces, node.pieces);
  s.n_pieces = 0;
  s.len = 0;
  link_before(e, q, ni, at);
  e.nodes_ooo++;
  c.stats.ooo_segments++;
  note_sack_recent(c, seq);
}

// The hole before the out-of-order queue's head filled: move every node
// that is now in order to the host (or behind the pending ones).
// Returns false when the connection ended.
bool pull_in_order(Engine::Impl& e, Conn::Impl& c) {
  while (c.ooo.head != kNone && seq_le(e.nodes[c.ooo.head].seq, c.rcv_nxt)) {
    const uint32_t ni = c.ooo.head;
    unlink(e, c.ooo, ni);
    e.nodes_ooo--;
    SegNode& n = e.nodes[ni];
    if (seq_lt(n.seq, c.rcv_nxt)) {
      // In-order data overlapped it (a longer segment filled the hole).
      const uint32_t over = c.rcv_nxt - n.seq;
      if (over >= n.len) {
        const bool fin_next = n.fin && n.end() == c.rcv_nxt;
        if (n.n_pieces) e.host.release(n.pieces, n.n_pieces);
        free_node(e, ni);
        if (fin_next) on_fin(e, c);
        continue;
      }
      n.len -= trim_front(e, n.pieces, n.n_pieces, over);
      n.seq = c.rcv_nxt;
    }
    const bool fin = n.fin;
    uint32_t taken = 0;
    if (c.pending.count == 0 && !c.user_closed) taken = offer(e, c, n.pieces, n.n_pieces);
    c.rcv_nxt += n.len;
    if (taken == n.n_pieces) {
      free_node(e, ni);
    } else {
      link_before(e, c.pending, ni, kNone);
      take_front(c.pending, n, taken);
      e.nodes_pending++;
    }
    if (fin) on_fin(e, c);
  }
  return c.live;
}

// RFC 9293 3.8.6.3 / RFC 5681 4.2 / Linux: when the ACK of in-order data
// goes out.
void schedule_ack(Engine::Impl& e, Conn::Impl& c, uint32_t bytes) {
  c.rcv_unacked += bytes;
  if (c.quickack_left) {
    c.quickack_left--;
    c.ack_now = true;
  } else if (c.rcv_unacked > c.rcv_mss) {
    c.ack_now = true;  // a second full-sized segment
  } else if (c.t_delack == kNever) {
    arm_timer(e, c, c.t_delack, e.now + e.cfg.delayed_ack_us);
  }
}

}  // namespace

uint32_t trim_front(Engine::Impl& e, Piece* p, uint8_t& n, uint32_t bytes) {
  uint32_t done = 0;
  uint8_t drop = 0;
  while (drop < n && bytes - done >= p[drop].len) done += p[drop++].len;
  if (drop) e.host.release(p, drop);
  for (uint8_t i = drop; i < n; i++) p[i - drop] = p[i];
  n = static_cast<uint8_t>(n - drop);
  if (done < bytes && n) {
    const uint32_t cut = bytes - done;
    p[0].off += cut;
    p[0].len -= cut;
    done = bytes;
  }
  return done;
}

uint32_t trim_back(Engine::Impl& e, Piece* p, uint8_t& n, uint32_t bytes) {
  uint32_t done = 0;
  while (n && bytes - done >= p[n - 1].len) {
    done += p[n - 1].len;
    e.host.release(&p[n - 1], 1);
    n--;
  }
  if (done < bytes && n) {
    p[n - 1].len -= bytes - done;
    done = bytes;
  }
  return done;
}

void release_queue(Engine::Impl& e, SegQueue& q, bool ooo) {
  while (q.head != kNone) {
    const uint32_t i = q.head;
    unlink(e, q, i);
    SegNode& n = e.nodes[i];
    if (n.n_pieces) e.host.release(n.pieces, n.n_pieces);
    free_node(e, i);
    if (ooo)
      e.nodes_ooo--;
    else
      e.nodes_pending--;
  }
}

bool receive_text(Engine::Impl& e, Conn::Impl& c, Seg& s) {
  bool fin = s.flags & kFin;
  // Trim what lies before RCV.NXT (3.10.7.4: "only the new parts").
  if (seq_lt(s.seq, c.rcv_nxt)) {
    const uint32_t old = c.rcv_nxt - s.seq;
    if (old >= s.len && !(fin && old == s.len)) {
      release_pieces(e, s);
      c.stats.dup_segments++;
      c.ack_now = true;
      return true;
    }
    s.len -= trim_front(e, s.pieces, s.n_pieces, old < s.len ? old : s.len);
    s.seq = c.rcv_nxt;
  }
  // Trim what lies beyond the right edge we advertised.
  const uint32_t edge = seq_gt(c.rcv_adv, c.rcv_nxt) ? c.rcv_adv : c.rcv_nxt;
  if (seq_gt(s.seq + s.len, edge)) {
    s.len -= trim_back(e, s.pieces, s.n_pieces, s.seq + s.len - edge);
    fin = false;
  }
  if (s.len == 0 && !fin) {
    c.ack_now = true;
    return true;
  }
  if (s.len > c.rcv_mss) {
    // Linux's rcv_mss: the largest segment seen, up to what we announced
    // (an owner's coalesced segment is not a larger MSS).
    const uint32_t announced = e.cfg.mss - (c.ts_ok ? 12u : 0u);
    c.rcv_mss = static_cast<uint16_t>(std::min<uint32_t>(s.len, announced));
  }

  if (s.seq != c.rcv_nxt) {
    // Out of order: hold it, and tell the peer at once (RFC 5681 4.2: a
    // duplicate ACK with SACK blocks).
    hold_out_of_order(e, c, s, fin);
    c.ack_now = true;
    return true;
  }
  const bool hole_filled = c.ooo.count != 0;
  const uint32_t len = s.len;
  const bool whole = take_in_order(e, c, s.pieces, s.n_pieces, s.len);
  s.n_pieces = 0;
  if (len) schedule_ack(e, c, len);
  if (!whole) {
    c.ack_now = true;
    return true;
  }
  if (fin) on_fin(e, c);
  if (hole_filled) {
    c.ack_now = true;  // RFC 5681 4.2: a segment filling a hole, at once
    if (!pull_in_order(e, c)) return false;
  }
  return c.live;
}

bool offer_pending(Engine::Impl& e, Conn::Impl& c) {
  // Offer node by node until the host stops taking.
  while (c.pending.head != kNone) {
    const uint32_t ni = c.pending.head;
    SegNode& n = e.nodes[ni];
    const uint32_t k = offer(e, c, n.pieces, n.n_pieces);
    if (k < n.n_pieces) {
      take_front(c.pending, n, k);
      break;
    }
    unlink(e, c.pending, ni);
    free_node(e, ni);
    e.nodes_pending--;
  }
  if (c.pending.count == 0 && c.fin_rcvd && !c.peer_closed_told && c.visible) {
    c.peer_closed_told = true;
    e.host.peer_closed(c.handle);
  }
  if (c.draining && c.pending.count == 0) {
    free_conn(e, c, 0);
    return false;
  }
  return c.live;
}

uint8_t build_sack_blocks(Engine::Impl& e, Conn::Impl& c, Options& o, uint8_t max) {
  // One pass over the queue joins adjacent nodes into blocks; the blocks
  // holding the most recent arrivals come first (RFC 2018 4), the others
  // after them in sequence order.
  struct Block {
    uint32_t l, r;
    int rank;  // index into sack_recent, or 4 when not recent
  } best[4];
  uint8_t nb = 0;
  uint32_t i = c.ooo.head;
  while (i != kNone) {
    Block b{e.nodes[i].seq, e.nodes[i].end(), 4};
    i = e.nodes[i].next;
    while (i != kNone && e.nodes[i].seq == b.r) {
      b.r = e.nodes[i].end();
      i = e.nodes[i].next;
    }
    for (uint8_t k = 0; k < c.n_sack_recent; k++) {
      const uint32_t x = c.sack_recent[k];
      if (seq_ge(x, b.l) && seq_lt(x, b.r) && k < b.rank) b.rank = k;
    }
    // Keep the `max` best-ranked blocks (ties: the lower first).
    uint8_t pos = nb;
    while (pos > 0 && best[pos - 1].rank > b.rank) pos--;
    if (pos >= max) continue;
    const uint8_t last = nb < max ? nb : static_cast<uint8_t>(max - 1);
    for (uint8_t k = last; k > pos; k--) best[k] = best[k - 1];
    best[pos] = b;
    if (nb < max) nb++;
  }
  for (uint8_t k = 0; k < nb; k++) {
    o.sack[k].left = best[k].l;
    o.sack[k].right = best[k].r;
  }
  o.n_sack = nb;
  return nb;
}

}  // namespace zcrx::tcp
