// SPDX-License-Identifier: MIT
// The sender's side of SACK: the scoreboard of what the peer reported
// holding (RFC 2018 3, RFC 6675 2) and RFC 6675 4's IsLost, pipe and
// NextSeg over it. The scoreboard is a small sorted array of disjoint vseq
// ranges; it is cleared by a retransmission timeout (RFC 2018 8: the
// receiver may have reneged).
#include "internal.h"

namespace zcrx::tcp {
namespace {

constexpr uint32_t kDupThresh = 3;

void insert_range(Scoreboard& sb, uint64_t l, uint64_t r) {
  // Merge with every range it touches, then place it in order.
  uint32_t i = 0;
  while (i < sb.n && sb.r[i].r < l) i++;
  uint32_t j = i;
  while (j < sb.n && sb.r[j].l <= r) {
    if (sb.r[j].l < l) l = sb.r[j].l;
    if (sb.r[j].r > r) r = sb.r[j].r;
    j++;
  }
  const uint32_t merged = j - i;
  if (merged == 0 && sb.n == Scoreboard::kRanges) {
    // Full: keep the lowest ranges (NextSeg works from the bottom); a new
    // range above them all is forgotten, else the highest one goes.
    if (i == sb.n) return;
    sb.n--;
  }
  // Shift the tail to leave exactly one slot at i.
  if (merged != 1) {
    const uint32_t tail = sb.n - j;
    if (merged == 0) {
      for (uint32_t k = sb.n; k > i; k--) sb.r[k] = sb.r[k - 1];
    } else {
      for (uint32_t k = 0; k < tail; k++) sb.r[i + 1 + k] = sb.r[j + k];
    }
    sb.n = sb.n - merged + 1;
  }
  sb.r[i] = Scoreboard::Range{l, r};
  if (r > sb.high) sb.high = r;
}

// The highest vseq below which every unSACKed byte is lost: DupThresh
// SACKed ranges above it, or more than (DupThresh - 1) * SMSS SACKed
// bytes (RFC 6675 4 IsLost). snd_una when nothing is lost.
uint64_t lost_below(const Conn::Impl& c) {
  uint64_t bytes = 0;
  for (uint32_t k = c.sb.n; k-- > 0;) {
    bytes += c.sb.r[k].r - c.sb.r[k].l;
    if (c.sb.n - k >= kDupThresh || bytes > (kDupThresh - 1) * uint64_t{c.mss})
      return c.sb.r[k].l;
  }
  return c.snd_una;
}

// UnSACKed bytes in [a, b).
uint64_t unsacked_in(const Conn::Impl& c, uint64_t a, uint64_t b) {
  if (b <= a) return 0;
  uint64_t n = b - a;
  for (uint32_t k = 0; k < c.sb.n; k++) {
    const uint64_t l = c.sb.r[k].l > a ? c.sb.r[k].l : a;
    const uint64_t r = c.sb.r[k].r < b ? c.sb.r[k].r : b;
    if (r > l) n -= r - l;
  }
  return n;
}

// The first unSACKed vseq at or after `v` below `limit`, and where the
// hole it starts ends (the next SACKed byte or `limit`).
bool next_hole(const Conn::Impl& c, uint64_t v, uint64_t limit, uint64_t* start, uint64_t* end) {
  for (uint32_t k = 0; k < c.sb.n && v < limit; k++) {
    if (c.sb.r[k].r <= v) continue;
    if (c.sb.r[k].l > v) {
      *start = v;
      *end = c.sb.r[k].l < limit ? c.sb.r[k].l : limit;
      return true;
    }
    v = c.sb.r[k].r;  // inside a SACKed range: skip it
  }
  if (v >= limit) return false;
  *start = v;
  *end = limit;
  return true;
}

}  // namespace

void sb_update(Conn::Impl& c, const Options& o) {
  const uint32_t una = seq_of(c, c.snd_una);
  const uint64_t span = c.snd_max - c.snd_una;
  for (uint8_t b = 0; b < o.n_sack && b < 4; b++) {
    // Blocks are checked against what is outstanding: a D-SACK (below
    // SND.UNA) or anything beyond what we sent is ignored.
    const uint32_t dl = o.sack[b].left - una;
    const uint32_t dr = o.sack[b].right - una;
    if (dl == 0 || dl >= dr || dr > span) continue;
    insert_range(c.sb, c.snd_una + dl, c.snd_una + dr);
  }
}

void sb_clear(Conn::Impl& c) {
  c.sb.n = 0;
  c.sb.high = 0;
}

void sb_advance(Conn::Impl& c) {
  uint32_t drop = 0;
  while (drop < c.sb.n && c.sb.r[drop].r <= c.snd_una) drop++;
  if (drop) {
    for (uint32_t k = drop; k < c.sb.n; k++) c.sb.r[k - drop] = c.sb.r[k];
    c.sb.n -= drop;
  }
  if (c.sb.n && c.sb.r[0].l < c.snd_una) c.sb.r[0].l = c.snd_una;
  if (c.sb.n == 0) c.sb.high = 0;
}

bool sb_sacked(const Conn::Impl& c, uint64_t v, uint64_t* end) {
  for (uint32_t k = 0; k < c.sb.n; k++) {
    if (c.sb.r[k].l <= v && v < c.sb.r[k].r) {
      *end = c.sb.r[k].r;
      return true;
    }
  }
  return false;
}

bool sb_is_lost(const Conn::Impl& c, uint64_t v) {
  uint64_t e;
  return !sb_sacked(c, v, &e) && v < lost_below(c);
}

uint32_t sb_pipe(const Conn::Impl& c) {
  // RFC 6675 4 SetPipe: each unSACKed byte counts once if not lost, and
  // once more if it was retransmitted (below HighRxt).
  const uint64_t lost = lost_below(c);
  const uint64_t from = lost > c.snd_una ? lost : c.snd_una;
  const uint64_t rx = c.high_rxt < c.snd_max ? c.high_rxt : c.snd_max;
  const uint64_t p = unsacked_in(c, from, c.snd_max) + unsacked_in(c, c.snd_una, rx);
  return p > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(p);
}

bool sb_next_seg(const Conn::Impl& c, uint64_t* v, uint32_t* len, bool* rtx) {
  const uint64_t from = c.high_rxt > c.snd_una ? c.high_rxt : c.snd_una;
  uint64_t s, end;
  // Rule 1: the first lost unSACKed range above HighRxt.
  const uint64_t lost = lost_below(c);
  if (next_hole(c, from, lost, &s, &end)) {
    *v = s;
    *len = static_cast<uint32_t>(end - s < c.mss ? end - s : c.mss);
    *rtx = true;
    return true;
  }
  // Rule 2: new data the receiver's window allows.
  const uint64_t limit = snd_limit(c);
  const uint64_t wnd_end = c.snd_una + c.snd_wnd;
  if (c.snd_max < limit && c.snd_max < wnd_end) {
    uint64_t n = limit - c.snd_max;
    if (n > wnd_end - c.snd_max) n = wnd_end - c.snd_max;
    if (n > c.mss) n = c.mss;
    *v = c.snd_max;
    *len = static_cast<uint32_t>(n);
    *rtx = false;
    return true;
  }
  // Rule 3: an unSACKed range above HighRxt that is not (yet) lost, below
  // the highest SACKed byte.
  if (next_hole(c, from, c.sb.high, &s, &end)) {
    *v = s;
    *len = static_cast<uint32_t>(end - s < c.mss ? end - s : c.mss);
    *rtx = true;
    return true;
  }
  return false;
}

}  // namespace zcrx::tcp
