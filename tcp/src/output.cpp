// SPDX-License-Identifier: MIT
// Segments out: what the windows let us send (segmentation by the
// effective MSS, sender SWS avoidance and Nagle, RFC 9293 3.8.6.2.1 and
// 3.7.4; limited transmit, RFC 3042; the RFC 6675 loop during SACK
// recovery), the FIN after the data, ACKs with the window, timestamps and
// SACK blocks, SYN and SYN-ACK with their options, RSTs and window probes.
#include "internal.h"

namespace zcrx::tcp {
namespace {

// The fields every segment after the SYN carries: ACK, window, timestamps
// (RFC 7323 3.2), SACK blocks while out-of-order data is held (RFC 2018 4).
void fill_ack(Engine::Impl& e, Conn::Impl& c, TxSegment& t) {
  t.tuple = c.tuple;
  t.flags |= kAck;
  t.ack = c.rcv_nxt;
  t.window = select_window(e, c);
  if (c.ts_ok) {
    t.opts.has_timestamps = true;
    t.opts.tsval = ts_now(e, c);
    t.opts.tsecr = c.ts_recent;
  }
  if (c.sack_ok && c.ooo.count) build_sack_blocks(e, c, t.opts, c.ts_ok ? 3 : 4);
}

// Our ACK is out: the delayed ACK is no longer owed.
void acked_now(Conn::Impl& c) {
  c.ack_now = false;
  c.rcv_unacked = 0;
  c.t_delack = kNever;
  c.last_ack_sent = c.rcv_nxt;
}

bool transmit(Engine::Impl& e, Conn::Impl& c, const TxSegment& t) {
  c.stats.segs_out++;
  if (t.retransmit) c.stats.retransmits++;
  return e.host.transmit(&c.handle, t);
}

// RFC 9293 3.8.6.2.1 (and 3.7.4, Nagle, when on): may `len` bytes, less
// than a full segment, go now? A full segment always may.
bool sws_allows(const Engine::Impl& e, const Conn::Impl& c, uint32_t len, uint64_t data_left) {
  const bool idle = c.snd_nxt == c.snd_una;
  if (e.cfg.nagle && !idle) return false;
  if (len == data_left) return true;  // everything queued goes (a push)
  return len >= c.max_snd_wnd / 2;    // Fs = 1/2 of the largest window seen
}

// RFC 6675 5 step (C): while cwnd - pipe >= 1 SMSS, NextSeg.
bool output_sack_recovery(Engine::Impl& e, Conn::Impl& c) {
  bool sent = false;
  for (int guard = 0; guard < 1024; guard++) {
    if (c.cwnd < sb_pipe(c) + c.mss) break;
    uint64_t v;
    uint32_t len;
    bool rtx;
    if (!sb_next_seg(c, &v, &len, &rtx)) break;
    const uint32_t n = send_range(e, c, v, len, rtx);
    if (n == 0) break;
    if (rtx && c.high_rxt < v + n) c.high_rxt = v + n;
    sent = true;
  }
  return sent;
}

// The usual path: from SND.NXT as far as min(cwnd, rwnd) allows (more in
// limited transmit), retransmitting first what a timeout took back.
bool output_window(Engine::Impl& e, Conn::Impl& c, bool force) {
  bool sent = false;
  for (int guard = 0; guard < 4096; guard++) {
    const uint64_t limit = snd_limit(c);
    if (c.snd_nxt >= limit) break;
    uint64_t cw = c.cwnd;
    if (!c.in_recovery && c.dupacks > 0 && c.dupacks < 3) cw += uint64_t{c.dupacks} * c.mss;  // RFC 3042
    const uint64_t wnd = cw < c.snd_wnd ? cw : c.snd_wnd;
    const uint64_t out = c.snd_nxt - c.snd_una;
    const uint64_t usable = wnd > out ? wnd - out : 0;
    const uint64_t data_left = c.snd_end > c.snd_nxt ? c.snd_end - c.snd_nxt : 0;
    const bool rtx = c.snd_nxt < c.snd_max;
    uint64_t len = data_left < usable ? data_left : usable;
    const uint32_t mss = seg_mss(c);
    if (len > mss) len = mss;
    if (data_left == 0) {
      // Only the FIN is left: it needs one byte of window, as in Linux.
      if (usable == 0) break;
      send_range(e, c, c.snd_nxt, 1, rtx);
      sent = true;
      break;
    }
    if (len == 0) break;
    if (!rtx && len < mss && !force && !sws_allows(e, c, static_cast<uint32_t>(len), data_left)) break;
    if (len == data_left && c.wr_shut && usable > len) len++;  // the FIN rides along
    const uint32_t n = send_range(e, c, c.snd_nxt, static_cast<uint32_t>(len), rtx);
    if (n == 0) break;
    sent = true;
    force = false;  // the override sends one segment
  }
  return sent;
}

}  // namespace

uint32_t seg_mss(const Conn::Impl& c) {
  // The MSS already leaves room for timestamps; SACK blocks on a data
  // segment (bidirectional transfers with loss) need their own.
  if (c.sack_ok && c.ooo.count) {
    const uint32_t blocks = c.ts_ok ? 3 : 4;
    const uint32_t room = 4 + 8 * blocks;
    return c.mss > room + 8 ? c.mss - room : 8;
  }
  return c.mss;
}

uint32_t send_range(Engine::Impl& e, Conn::Impl& c, uint64_t v, uint32_t len, bool rtx) {
  // `len` is the vseq span allowed: stream bytes in [v, v + len), at most
  // one segment of them, and the FIN when the span reaches past the last.
  uint64_t data_end = v + len;
  if (data_end > c.snd_end) data_end = c.snd_end;
  uint32_t n = v < data_end ? static_cast<uint32_t>(data_end - v) : 0;
  if (n > seg_mss(c)) n = seg_mss(c);
  const bool fin = c.wr_shut && v + n == c.snd_end && v + len > c.snd_end;
  if (n == 0 && !fin) return 0;
  TxSegment t;
  fill_ack(e, c, t);
  t.seq = seq_of(c, v);
  t.len = n;
  t.stream_off = v - 1;
  t.retransmit = rtx || v < c.snd_max;
  if (fin) t.flags |= kFin;
  if (n && v + n == c.snd_end) t.flags |= kPsh;
  const uint32_t taken = n + (fin ? 1 : 0);
  // Karn (RFC 6298 3): time only segments sent once.
  if (t.retransmit) {
    if (c.rtt_timing && v < c.rtt_seq) c.rtt_timing = false;
  } else if (!c.rtt_timing && n) {
    c.rtt_timing = true;
    c.rtt_seq = v + taken;
    c.rtt_start = e.now;
  }
  transmit(e, c, t);
  acked_now(c);
  if (v + taken > c.snd_nxt && v >= c.snd_una && v <= c.snd_nxt) c.snd_nxt = v + taken;
  if (v + taken > c.snd_max) c.snd_max = v + taken;
  cc_note_flight(c);
  update_rtx_timer(e, c, false);
  return taken;
}

void output(Engine::Impl& e, Conn::Impl& c, bool force) {
  bool sent = false;
  switch (c.state) {
    case State::established:
    case State::close_wait:
    case State::fin_wait_1:
    case State::closing:
    case State::last_ack:
      sent = c.in_recovery && c.sack_ok ? output_sack_recovery(e, c) : output_window(e, c, force);
      update_rtx_timer(e, c, false);
      break;
    default:
      break;
  }
  if (!sent && c.ack_now) send_ack(e, c);
}

uint64_t acceptable_vseq(const Conn::Impl& c) {
  // Linux's tcp_acceptable_seq: the highest sequence number sent (not a
  // SND.NXT that a timeout moved back: the peer holds more and would find
  // it old, answer with an ACK of its own, and the two would ping-pong),
  // but not beyond the right edge of the peer's window.
  const uint64_t edge = c.snd_una + c.snd_wnd;
  return c.snd_max <= edge ? c.snd_max : edge;
}

void send_ack(Engine::Impl& e, Conn::Impl& c) {
  if (c.state == State::closed || c.state == State::syn_sent) return;
  if (c.state == State::syn_received) {
    send_syn(e, c, true);
    return;
  }
  TxSegment t;
  fill_ack(e, c, t);
  const uint64_t v = acceptable_vseq(c);
  t.seq = seq_of(c, v);
  t.stream_off = v ? v - 1 : 0;
  if (!transmit(e, c, t)) {
    // No TX buffer: the ACK is owed still; try again shortly.
    arm_timer(e, c, c.t_delack, e.now + e.cfg.delayed_ack_us);
    c.ack_now = false;
    return;
  }
  acked_now(c);
}

void send_syn(Engine::Impl& e, Conn::Impl& c, bool rtx) {
  // SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) with our options (RFC 9293
  // 3.7.1, RFC 7323 2.2 and 3.2, RFC 2018 2). Its window is never scaled.
  TxSegment t;
  t.tuple = c.tuple;
  t.seq = c.iss;
  t.flags = kSyn;
  t.retransmit = rtx;
  const Config& cfg = e.cfg;
  t.opts.mss = cfg.mss;
  const bool active = c.state == State::syn_sent;
  if (active ? true : c.ws_ok) t.opts.wscale = static_cast<int8_t>(cfg.wscale);
  t.opts.sack_permitted = active ? cfg.sack : c.sack_ok;
  if (active ? cfg.timestamps : c.ts_ok) {
    t.opts.has_timestamps = true;
    t.opts.tsval = ts_now(e, c);
    t.opts.tsecr = active ? 0 : c.ts_recent;
  }
  uint32_t cap = e.host.rx_capacity(c.handle);
  if (cap > cfg.rcvbuf) cap = cfg.rcvbuf;
  if (cap > c.rcv_buf) c.rcv_buf = cap;
  const uint16_t w = static_cast<uint16_t>(cap > 65535 ? 65535 : cap);
  t.window = w;
  if (active) {
    c.syn_window = w;
  } else {
    t.flags |= kAck;
    t.ack = c.rcv_nxt;
    // Never shrink what an earlier SYN-ACK advertised.
    if (seq_lt(c.rcv_adv, c.rcv_nxt + w)) c.rcv_adv = c.rcv_nxt + w;
    else t.window = static_cast<uint16_t>(c.rcv_adv - c.rcv_nxt);
    c.last_ack_sent = c.rcv_nxt;
  }
  if (rtx) c.handshake_rtx = true;
  if (!rtx && !c.rtt_timing) {
    c.rtt_timing = true;
    c.rtt_seq = 1;
    c.rtt_start = e.now;
  } else if (rtx) {
    c.rtt_timing = false;  // Karn
  }
  if (c.snd_nxt < 1) c.snd_nxt = 1;
  if (c.snd_max < 1) c.snd_max = 1;
  transmit(e, c, t);
  if (c.rtx_mode != RtxMode::syn) {
    c.rtx_mode = RtxMode::syn;
    const uint64_t iv = uint64_t{c.rto_us} << c.backoff;
    arm_timer(e, c, c.t_rtx, e.now + (iv < cfg.rto_max_us ? iv : cfg.rto_max_us));
  }
}

void send_rst(Engine::Impl& e, Conn::Impl& c) {
  // RFC 9293 3.10.4 / 3.10.7: <SEQ=SND.NXT><CTL=RST>.
  TxSegment t;
  t.tuple = c.tuple;
  t.seq = seq_of(c, acceptable_vseq(c));
  t.flags = kRst;
  transmit(e, c, t);
}

void send_probe(Engine::Impl& e, Conn::Impl& c) {
  TxSegment t;
  fill_ack(e, c, t);
  t.seq = seq_of(c, c.snd_una) - 1;
  t.stream_off = c.snd_una ? c.snd_una - 1 : 0;
  c.stats.zero_window_probes++;
  if (transmit(e, c, t)) acked_now(c);
}

}  // namespace zcrx::tcp
