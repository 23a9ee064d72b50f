// SPDX-License-Identifier: MIT
// An acceptable ACK (RFC 9293 3.10.7.4 fifth check): what it acknowledges
// (send_acked, RTT, congestion control, the scoreboard), the send window
// it carries, and the close states it moves on.
#include "internal.h"

namespace zcrx::tcp {
namespace {

// Stream bytes (not SYN, not FIN) in the vseq range [a, b).
uint64_t data_in(const Conn::Impl& c, uint64_t a, uint64_t b) {
  const uint64_t lo = a < 1 ? 1 : a;
  const uint64_t hi = b > c.snd_end ? c.snd_end : b;
  return hi > lo ? hi - lo : 0;
}

// RFC 7323 4.1 (RTTM): an ACK advancing SND.UNA echoes the TSval of the
// segment that caused it. Used when no timed segment gave a sample (the
// timed one covers resent data too, where Karn's rule leaves nothing).
void ts_rtt_sample(Engine::Impl& e, Conn::Impl& c, const Options& o) {
  if (!c.ts_ok || !o.has_timestamps || o.tsecr == 0) return;
  const uint32_t ms = ts_now(e, c) - o.tsecr;
  if (uint64_t{ms} * 1000 > e.cfg.rto_max_us) return;  // an echo we never sent
  rtt_sample(e, c, ms * 1000);
}

// RFC 5681 2: a duplicate ACK carries no data, no SYN or FIN, acknowledges
// SND.UNA with data outstanding, and leaves the window as it was (SACK
// blocks with news stand for the last, as RFC 6675 counts them).
bool is_dupack(const Conn::Impl& c, const Seg& s, uint32_t wnd, bool sack_news) {
  if (s.len || (s.flags & (kSyn | kFin))) return false;
  if (c.snd_una >= c.snd_max) return false;
  return wnd == c.snd_wnd || sack_news;
}

}  // namespace

uint64_t ack_to_vseq(const Conn::Impl& c, uint32_t ack) {
  const int32_t d = static_cast<int32_t>(ack - seq_of(c, c.snd_una));
  if (d >= 0) return c.snd_una + static_cast<uint64_t>(d);
  const uint64_t back = static_cast<uint64_t>(-static_cast<int64_t>(d));
  return back > c.snd_una ? 0 : c.snd_una - back;
}

bool process_ack(Engine::Impl& e, Conn::Impl& c, const Seg& s) {
  const Options& o = *s.opts;
  const uint64_t ack = ack_to_vseq(c, s.ack);
  if (ack < c.snd_una) return true;  // an old ACK: "it can be ignored"
  const uint32_t wnd = static_cast<uint32_t>(s.window) << c.snd_wscale;

  bool sack_news = false;
  if (c.sack_ok && o.n_sack) {
    const uint64_t before = c.sb.high;
    const uint32_t n_before = c.sb.n;
    sb_update(c, o);
    sack_news = c.sb.high != before || c.sb.n != n_before;
  }

  bool restart_rto = false;
  if (ack > c.snd_una) {
    const uint64_t prev = c.snd_una;
    const uint32_t acked = static_cast<uint32_t>(ack - prev);
    const uint64_t data = data_in(c, prev, ack);
    c.snd_una = ack;
    if (c.snd_nxt < ack) c.snd_nxt = ack;  // after go-back-N, the originals arrived
    c.stats.bytes_out += data;
    if (c.rtt_timing && ack >= c.rtt_seq) {
      c.rtt_timing = false;
      rtt_sample(e, c, static_cast<uint32_t>(e.now - c.rtt_start));
    } else {
      ts_rtt_sample(e, c, o);
    }
    c.retries = 0;
    c.backoff = 0;
    sb_advance(c);
    if (c.high_rxt < c.snd_una) c.high_rxt = c.snd_una;
    restart_rto = cc_on_ack(e, c, acked, false);
    if (data) e.host.send_acked(c.handle, (ack > c.snd_end ? c.snd_end : ack) - 1);
  } else if (is_dupack(c, s, wnd, sack_news)) {
    cc_on_ack(e, c, 0, true);
  }

  // Window update (RFC 9293 3.10.7.4): from a segment newer than the one
  // that set it (SND.WL1 < SEG.SEQ, or equal with SND.WL2 =< SEG.ACK).
  if (seq_lt(c.snd_wl1, s.seq) || (c.snd_wl1 == s.seq && c.snd_wl2 <= ack)) {
    c.snd_wnd = wnd;
    if (wnd > c.max_snd_wnd) c.max_snd_wnd = wnd;
    c.snd_wl1 = s.seq;
    c.snd_wl2 = ack;
  }
  update_rtx_timer(e, c, restart_rto);

  // Our FIN acknowledged moves the close states on.
  const bool fin_acked = c.wr_shut && c.snd_una == snd_limit(c);
  if (!fin_acked) return true;
  switch (c.state) {
    case State::fin_wait_1:
      c.state = State::fin_wait_2;
      // Linux's tcp_fin_timeout bounds FIN-WAIT-2 of a closed socket only:
      // after shutdown_write the peer may keep sending for as long as it likes.
      if (c.user_closed) arm_timer(e, c, c.t_wait, e.now + e.cfg.fin_wait_2_us);
      return true;
    case State::closing:
      enter_time_wait(e, c);
      return true;
    case State::last_ack:
      end_conn(e, c, EndReason::closed, 0);
      return false;
    default:
      return true;
  }
}

}  // namespace zcrx::tcp
