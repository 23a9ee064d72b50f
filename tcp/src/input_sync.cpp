// SPDX-License-Identifier: MIT
// SEGMENT ARRIVES in a synchronized state (RFC 9293 3.10.7.4: SYN-RECEIVED,
// ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT), with
// the checks of RFC 7323 (PAWS, TS.Recent) and RFC 5961 (RST, SYN and ACK
// acceptability) in the order the RFCs give them.
#include <cerrno>

#include "internal.h"

namespace zcrx::tcp {
namespace {

/// The receive window as advertised (RCV.WND of the RFC).
uint32_t rcv_wnd(const Conn::Impl& c) {
  return seq_gt(c.rcv_adv, c.rcv_nxt) ? c.rcv_adv - c.rcv_nxt : 0;
}

bool in_window(uint32_t x, uint32_t lo, uint32_t wnd) { return x - lo < wnd; }

// RFC 9293 3.10.7.4 first check: the four cases of the acceptability test.
// `text_ok` is false for a segment accepted only for its control fields: at
// a zero window "special allowance should be made to accept valid ACKs,
// URGs, and RSTs" (a segment at RCV.NXT whose text cannot be taken now).
bool seq_acceptable(const Conn::Impl& c, const Seg& s, bool* text_ok) {
  const uint32_t wnd = rcv_wnd(c);
  const uint32_t len = s.seg_len();
  *text_ok = true;
  // A segment of no length may sit at the right edge itself (Linux's
  // tcp_sequence): a peer whose data filled our window sends its ACKs there.
  if (len == 0) return wnd == 0 ? s.seq == c.rcv_nxt : in_window(s.seq, c.rcv_nxt, wnd + 1);
  if (wnd == 0) {
    if (s.seq != c.rcv_nxt) return false;
    // Linux takes a bare FIN at a zero window: it costs no buffer.
    *text_ok = s.len == 0 && (s.flags & kFin);
    return true;
  }
  return in_window(s.seq, c.rcv_nxt, wnd) || in_window(s.seq + len - 1, c.rcv_nxt, wnd);
}

// RFC 7323 5.3 R1 (PAWS) with 5.5's rule that a TS.Recent idle for more
// than 24 days is no longer valid.
bool paws_reject(const Engine::Impl& e, const Conn::Impl& c, const Seg& s) {
  if (!c.ts_ok || !s.opts->has_timestamps || (s.flags & kRst)) return false;
  constexpr uint64_t k24days = 24ull * 86400 * 1000000;
  if (e.now - c.ts_recent_stamp > k24days) return false;
  return seq_lt(s.opts->tsval, c.ts_recent);
}

// RFC 7323 4.3 (3): SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent.
void update_ts_recent(Engine::Impl& e, Conn::Impl& c, const Seg& s) {
  if (!c.ts_ok || !s.opts->has_timestamps) return;
  if (seq_ge(s.opts->tsval, c.ts_recent) && seq_le(s.seq, c.last_ack_sent)) {
    c.ts_recent = s.opts->tsval;
    c.ts_recent_stamp = e.now;
  }
}

void count_bad(Engine::Impl& e, Conn::Impl& c) {
  c.stats.bad_segments++;
  e.stats.bad_segments++;
}

// An unacceptable segment: "send an acknowledgment ... drop the segment".
// Linux (tcp_oow_rate_limited): a segment without payload or SYN answered
// this way gets at most one ACK per invalid_ack_interval_us, so two
// endpoints that each find the other's ACKs out of the window cannot feed
// an ACK loop.
void reject(Engine::Impl& e, Conn::Impl& c, Seg& s) {
  const uint32_t seg_len = s.seg_len();
  const bool old_dup = seg_len > 0 && seq_le(s.seq + seg_len, c.rcv_nxt);
  if (old_dup)
    c.stats.dup_segments++;
  else
    count_bad(e, c);
  release_pieces(e, s);
  if (s.flags & kRst) return;
  if (c.state == State::time_wait && (s.flags & kFin)) {
    // 3.10.7.4 eighth: a FIN again in TIME-WAIT restarts the 2 MSL wait.
    arm_timer(e, c, c.t_wait, e.now + e.cfg.time_wait_us);
  }
  if (seg_len == 0) {
    if (c.last_oow_ack && e.now - c.last_oow_ack < e.cfg.invalid_ack_interval_us) {
      e.stats.invalid_acks_suppressed++;
      return;
    }
    c.last_oow_ack = e.now;
  }
  c.ack_now = true;
  output(e, c);
}

// RFC 5961 3.2 / RFC 9293 3.10.7.4 second check, exact RST: the
// connection is reset, each state as the RFC lists.
void reset_by_peer(Engine::Impl& e, Conn::Impl& c) {
  e.stats.rst_in++;
  switch (c.state) {
    case State::syn_received:
      if (c.passive) {
        // "return to the LISTEN state": the child never was visible.
        end_conn(e, c, EndReason::reset, -ECONNREFUSED);
      } else {
        fail_connect(e, c, EndReason::reset, -ECONNREFUSED);
      }
      return;
    case State::closing:
    case State::last_ack:
    case State::time_wait:
      // Both sides had closed: nothing a user call waits for is lost.
      end_conn(e, c, EndReason::reset, 0);
      return;
    default:
      end_conn(e, c, EndReason::reset, -ECONNRESET);
      return;
  }
}

// SYN-RECEIVED and an acceptable ACK of our SYN: ESTABLISHED.
bool establish(Engine::Impl& e, Conn::Impl& c, const Seg& s) {
  if (c.passive && !child_established(e, c)) return false;  // accept queue full
  c.state = State::established;
  c.snd_una = 1;
  if (c.snd_nxt < 1) c.snd_nxt = 1;
  c.snd_wnd = static_cast<uint32_t>(s.window) << c.snd_wscale;
  c.max_snd_wnd = c.snd_wnd > c.max_snd_wnd ? c.snd_wnd : c.max_snd_wnd;
  c.snd_wl1 = s.seq;
  c.snd_wl2 = 1;
  if (c.rtt_timing) {
    c.rtt_timing = false;
    rtt_sample(e, c, static_cast<uint32_t>(e.now - c.rtt_start));
  }
  if (c.handshake_rtx && c.srtt_us == 0 && c.rto_us < 3000000) c.rto_us = 3000000;  // RFC 6298 5.7
  c.rtx_mode = RtxMode::none;
  c.t_rtx = kNever;
  c.backoff = 0;
  c.retries = 0;
  if (c.wr_shut) c.state = State::fin_wait_1;  // closed while still SYN-RECEIVED
  if (c.passive) {
    e.host.accept_ready(e.listeners[c.listener].handle);
  } else {
    c.visible = true;
    e.host.connected(c.handle, 0);
  }
  return true;
}

// Linux (tcp_rcv_state_process): payload arriving after close() in
// FIN-WAIT-1/2 "MUST" be answered by a reset (RFC 1122 4.2.2.13).
bool data_after_close(const Conn::Impl& c, const Seg& s) {
  if (!c.user_closed || s.len == 0) return false;
  if (c.state != State::fin_wait_1 && c.state != State::fin_wait_2) return false;
  return seq_gt(s.seq + s.len, c.rcv_nxt);
}

}  // namespace

void challenge_ack(Engine::Impl& e, Conn::Impl& c) {
  // RFC 5961 7: an engine-wide limit per second (Linux's
  // tcp_challenge_ack_limit) keeps the ACKs from becoming an amplifier or
  // a side channel.
  if (e.now - e.challenge_window >= 1000000) {
    e.challenge_window = e.now;
    e.challenge_count = 0;
  }
  if (e.challenge_count >= e.cfg.challenge_ack_limit) {
    e.stats.challenge_acks_suppressed++;
    return;
  }
  e.challenge_count++;
  e.stats.challenge_acks++;
  c.stats.challenge_acks++;
  send_ack(e, c);
}

namespace {

// SYN-RECEIVED seeing the peer's SYN again. Returns true when the segment
// was dealt with; otherwise it goes on as an ACK at RCV.NXT.
bool syn_again(Engine::Impl& e, Conn::Impl& c, Seg& s) {
  release_pieces(e, s);
  if (!(s.flags & kAck)) {
    // The peer's SYN again: our SYN-ACK was lost (Linux's tcp_check_req).
    send_syn(e, c, true);
    return true;
  }
  // Simultaneous open: the peer's SYN-ACK acknowledges our SYN and repeats
  // its SYN (RFC 9293 figure 8 line 7). Linux passes it as an ACK at
  // RCV.NXT when SEG.ACK = SND.NXT.
  if (s.ack != seq_of(c, c.snd_nxt)) {
    send_rst_for(e, c.tuple, s);
    return true;
  }
  s.flags &= static_cast<uint8_t>(~kSyn);
  s.seq = c.rcv_nxt;
  return false;
}

// Seventh and eighth checks: the text and the FIN. False when the
// connection ended.
bool take_text(Engine::Impl& e, Conn::Impl& c, Seg& s, bool text_ok) {
  if (data_after_close(c, s)) {
    release_pieces(e, s);
    send_rst_for(e, c.tuple, s);
    end_conn(e, c, EndReason::aborted, -ECONNABORTED);
    return false;
  }
  const bool takes_text = c.state == State::established || c.state == State::fin_wait_1 ||
                          c.state == State::fin_wait_2;
  if (!text_ok || !takes_text) {
    // A FIN or text after the peer's FIN, or a window that is closed: the
    // text is dropped and the ACK says where we are.
    if (s.len || (s.flags & kFin)) c.ack_now = true;
    release_pieces(e, s);
    return true;
  }
  if (s.len || (s.flags & kFin)) return receive_text(e, c, s);
  return true;
}

}  // namespace

void input_synchronized(Engine::Impl& e, Conn::Impl& c, Seg& s) {
  if (c.state == State::syn_received && (s.flags & (kSyn | kRst)) == kSyn && s.seq == c.irs &&
      syn_again(e, c, s))
    return;

  // RFC 7323 5.3: PAWS before the sequence check.
  if (paws_reject(e, c, s)) {
    reject(e, c, s);
    return;
  }
  // First, check the sequence number.
  bool text_ok = true;
  if (!seq_acceptable(c, s, &text_ok)) {
    reject(e, c, s);
    return;
  }
  update_ts_recent(e, c, s);

  // Second, check the RST bit (RFC 5961 3.2).
  if (s.flags & kRst) {
    release_pieces(e, s);
    if (s.seq == c.rcv_nxt)
      reset_by_peer(e, c);
    else
      challenge_ack(e, c);  // in the window but not exact
    return;
  }
  // Fourth, check the SYN bit (RFC 5961 4.2): in any synchronized state a
  // SYN, in the window or not, gets a challenge ACK and is dropped.
  if (s.flags & kSyn) {
    release_pieces(e, s);
    challenge_ack(e, c);
    return;
  }
  // Fifth, check the ACK field: without it, drop.
  if (!(s.flags & kAck)) {
    release_pieces(e, s);
    return;
  }
  if (c.state == State::syn_received) {
    // SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED; otherwise a reset
    // <SEQ=SEG.ACK><CTL=RST>.
    if (s.ack != seq_of(c, 1)) {
      release_pieces(e, s);
      send_rst_for(e, c.tuple, s);
      count_bad(e, c);
      return;
    }
    if (!establish(e, c, s)) {
      release_pieces(e, s);  // Linux drops the ACK; the SYN-ACK timer runs on
      return;
    }
    if (!c.live) return;
  }
  // RFC 5961 5.2: acceptable only if SND.UNA - MAX.SND.WND =< SEG.ACK =<
  // SND.NXT; anything else is dropped with an ACK (a challenge).
  const uint32_t una = seq_of(c, c.snd_una);
  if (seq_gt(s.ack, seq_of(c, c.snd_max)) || seq_lt(s.ack, una - c.max_snd_wnd)) {
    release_pieces(e, s);
    count_bad(e, c);
    challenge_ack(e, c);
    return;
  }
  if (!process_ack(e, c, s)) return;  // LAST-ACK done
  if (!take_text(e, c, s, text_ok)) return;
  output(e, c);
}

void on_fin(Engine::Impl& e, Conn::Impl& c) {
  c.fin_rcvd = true;
  c.rcv_nxt++;
  c.ack_now = true;
  switch (c.state) {
    case State::syn_received:
    case State::established:
      c.state = State::close_wait;
      break;
    case State::fin_wait_1:
      // Our FIN acknowledged already: TIME-WAIT; else CLOSING.
      if (c.snd_una == snd_limit(c))
        enter_time_wait(e, c);
      else
        c.state = State::closing;
      break;
    case State::fin_wait_2:
      c.t_wait = kNever;  // no FIN-WAIT-2 timeout once the FIN came
      enter_time_wait(e, c);
      break;
    default:
      break;
  }
  if (c.pending.count == 0 && !c.peer_closed_told && c.visible) {
    c.peer_closed_told = true;
    e.host.peer_closed(c.handle);
  }
}

}  // namespace zcrx::tcp
