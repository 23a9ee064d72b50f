// SPDX-License-Identifier: MIT
// The retransmission timer (RFC 6298: SRTT/RTTVAR, Karn's rule in
// output.cpp, backoff, Linux's 200 ms floor), its other jobs (SYN and
// SYN-ACK retransmission, RFC 9293 3.8.1; the persist timer and its
// zero-window probes, RFC 9293 3.8.6.1), and giving up (-ETIMEDOUT).
#include <cerrno>

#include "internal.h"

namespace zcrx::tcp {
namespace {

uint64_t backed_off(const Engine::Impl& e, const Conn::Impl& c) {
  const uint32_t shift = c.backoff < 31 ? c.backoff : 31;
  const uint64_t iv = uint64_t{c.rto_us} << shift;
  return iv < e.cfg.rto_max_us ? iv : e.cfg.rto_max_us;
}

// SYN-SENT / SYN-RECEIVED: the SYN or SYN-ACK again, or give up.
void handshake_timeout(Engine::Impl& e, Conn::Impl& c) {
  const uint32_t limit = c.state == State::syn_sent ? e.cfg.syn_retries : e.cfg.synack_retries;
  if (c.retries >= limit) {
    if (c.passive) {
      end_conn(e, c, EndReason::timeout, -ETIMEDOUT);  // never visible: silent
    } else {
      c.visible = true;
      fail_connect(e, c, EndReason::timeout, -ETIMEDOUT);
    }
    return;
  }
  c.retries++;
  c.backoff++;
  c.rtx_mode = RtxMode::none;  // send_syn re-arms with the new backoff
  send_syn(e, c, true);
}

// RFC 9293 3.8.6.1: the peer's window is closed (or too small to send into
// under SWS avoidance) with nothing outstanding: probe it.
void persist_timeout(Engine::Impl& e, Conn::Impl& c) {
  c.rtx_mode = RtxMode::none;
  if (c.snd_wnd > 0) {
    // RFC 9293 3.8.6.2.1 (4): the override timeout sends what fits.
    output(e, c, true);
  }
  if (c.snd_una == c.snd_max && c.snd_nxt < snd_limit(c)) {
    send_probe(e, c);
    if (c.backoff < 31) c.backoff++;
    c.rtx_mode = RtxMode::persist;
    arm_timer(e, c, c.t_rtx, e.now + backed_off(e, c));
    return;
  }
  update_rtx_timer(e, c, false);
}

// RFC 6298 5.4-5.6: retransmit the earliest unacknowledged segment, back
// off, restart; RFC 5681 3.1: the loss window; go back to SND.UNA.
void rto_timeout(Engine::Impl& e, Conn::Impl& c) {
  // Linux: a peer that closed its window makes our retransmissions zero
  // window probes; they do not count toward giving up.
  const bool window_closed = c.snd_wnd == 0;
  if (!window_closed && c.retries >= e.cfg.data_retries) {
    end_conn(e, c, EndReason::timeout, -ETIMEDOUT);
    return;
  }
  if (!window_closed) c.retries++;
  c.stats.rto_expiries++;
  cc_on_rto(e, c);
  sb_clear(c);
  c.high_rxt = c.snd_una;
  c.snd_nxt = c.snd_una;
  c.rtt_timing = false;  // Karn: nothing sent before is timed any more
  if (c.backoff < 31) c.backoff++;
  c.rtx_mode = RtxMode::none;
  // The first segment goes whatever the window (Linux: the segment at
  // SND.UNA is always resent; at a closed window it is the probe).
  send_range(e, c, c.snd_una, c.mss, true);
  c.rtx_mode = RtxMode::rto;
  arm_timer(e, c, c.t_rtx, e.now + backed_off(e, c));
}

}  // namespace

void rtt_sample(Engine::Impl& e, Conn::Impl& c, uint32_t r) {
  // RFC 6298 2.2-2.3, with G = 1 us.
  if (c.srtt_us == 0) {
    c.srtt_us = r ? r : 1;
    c.rttvar_us = r / 2;
  } else {
    const uint32_t diff = c.srtt_us > r ? c.srtt_us - r : r - c.srtt_us;
    c.rttvar_us = (3 * uint64_t{c.rttvar_us} + diff) / 4;
    c.srtt_us = static_cast<uint32_t>((7 * uint64_t{c.srtt_us} + r) / 8);
    if (c.srtt_us == 0) c.srtt_us = 1;
  }
  uint64_t rto = uint64_t{c.srtt_us} + (4 * uint64_t{c.rttvar_us} > 1 ? 4 * uint64_t{c.rttvar_us} : 1);
  if (rto < e.cfg.rto_min_us) rto = e.cfg.rto_min_us;  // 2.4, Linux's 200 ms
  if (rto > e.cfg.rto_max_us) rto = e.cfg.rto_max_us;  // 2.5
  c.rto_us = static_cast<uint32_t>(rto);
  c.backoff = 0;  // Karn: a valid sample ends the backoff
}

void update_rtx_timer(Engine::Impl& e, Conn::Impl& c, bool restart) {
  if (c.rtx_mode == RtxMode::syn) return;
  if (c.snd_una < c.snd_max) {
    // RFC 6298 5.1 (start when not running), 5.3 (restart on new ACK).
    if (c.rtx_mode != RtxMode::rto || restart) {
      c.rtx_mode = RtxMode::rto;
      arm_timer(e, c, c.t_rtx, e.now + backed_off(e, c));
    }
    return;
  }
  if (c.snd_nxt < snd_limit(c)) {
    if (c.rtx_mode != RtxMode::persist) {
      c.rtx_mode = RtxMode::persist;
      arm_timer(e, c, c.t_rtx, e.now + backed_off(e, c));
    }
    return;
  }
  // RFC 6298 5.2: everything acknowledged, the timer stops.
  c.rtx_mode = RtxMode::none;
  c.t_rtx = kNever;
}

void on_rtx_timer(Engine::Impl& e, Conn::Impl& c) {
  switch (c.rtx_mode) {
    case RtxMode::syn:
      handshake_timeout(e, c);
      return;
    case RtxMode::rto:
      rto_timeout(e, c);
      return;
    case RtxMode::persist:
      persist_timeout(e, c);
      return;
    case RtxMode::none:
      return;
  }
}

}  // namespace zcrx::tcp
