// SPDX-License-Identifier: MIT
// SEGMENT ARRIVES, the states without a synchronized connection (RFC 9293
// 3.10.7.1 CLOSED, 3.10.7.2 LISTEN, 3.10.7.3 SYN-SENT), and the dispatch
// of every segment to its connection or listener.
#include <algorithm>

#include "internal.h"

namespace zcrx::tcp {
namespace {

// The owner checked the header; what it claims about the pieces is
// checked here (a count or a length that does not add up is a bug of the
// owner, and the segment is dropped rather than trusted).
bool load_segment(const RxSegment& rs, Seg& s) {
  s.seq = rs.seq;
  s.ack = rs.ack;
  s.window = rs.window;
  s.flags = rs.flags;
  s.opts = &rs.opts;
  s.n_pieces = std::min<uint8_t>(rs.n_pieces, kMaxPieces);
  uint64_t sum = 0;
  uint8_t n = 0;
  for (uint8_t i = 0; i < s.n_pieces; i++) {
    sum += rs.pieces[i].len;
    s.pieces[n++] = rs.pieces[i];
  }
  s.n_pieces = n;
  s.len = rs.payload_len;
  return rs.n_pieces <= kMaxPieces && sum == rs.payload_len;
}

// Drops pieces of no bytes (a header-only buffer): they go back at once.
void drop_empty_pieces(Engine::Impl& e, Seg& s) {
  uint8_t n = 0;
  for (uint8_t i = 0; i < s.n_pieces; i++) {
    if (s.pieces[i].len == 0)
      e.host.release(&s.pieces[i], 1);
    else
      s.pieces[n++] = s.pieces[i];
  }
  s.n_pieces = n;
}

// ---- 3.10.7.2 LISTEN ----------------------------------------------------------------------

void input_listen(Engine::Impl& e, Listener::Impl& l, Seg& s, const FourTuple& t) {
  release_pieces(e, s);  // Linux (no TFO) does not keep data sent with a SYN
  // First, check for a RST: an incoming RST is ignored.
  if (s.flags & kRst) return;
  // Second, check for an ACK: any acknowledgment is bad in LISTEN.
  if (s.flags & kAck) {
    send_rst_for(e, t, s);
    return;
  }
  // Third, check for a SYN.
  if (!(s.flags & kSyn)) return;  // fourth: other control or text, drop
  if (l.acceptq_len >= l.backlog || l.synq_len >= l.backlog) {
    // Linux: a SYN finding the accept queue (or the SYN queue) full is
    // dropped; the peer retransmits it.
    e.stats.syn_dropped_backlog++;
    return;
  }
  Conn::Impl* cp = alloc_conn(e, t);
  if (!cp) return;
  Conn::Impl& c = *cp;
  c.passive = true;
  c.state = State::syn_received;
  c.irs = s.seq;
  c.rcv_nxt = s.seq + 1;
  c.iss = isn_for(e, t);
  c.ts_offset = ts_offset_for(e, t);
  take_syn_options(e, c, *s.opts);
  c.snd_wnd = s.window;  // never scaled in a SYN (RFC 7323 2.2)
  c.max_snd_wnd = c.snd_wnd;
  c.snd_wl1 = s.seq;
  c.snd_wl2 = 0;
  c.stats.segs_in++;
  // Into the SYN queue.
  c.listener = l.index;
  c.lnext = l.synq_head;
  if (l.synq_head != kNone) e.conns[l.synq_head].lprev = c.index;
  l.synq_head = c.index;
  l.synq_len++;
  cc_init(e, c);
  send_syn(e, c, false);
}

// ---- 3.10.7.3 SYN-SENT ---------------------------------------------------------------------

void input_syn_sent(Engine::Impl& e, Conn::Impl& c, Seg& s) {
  release_pieces(e, s);  // data on a SYN-ACK is rare; the peer sends it again
  // First, check the ACK bit: it must acknowledge our SYN exactly
  // (ISS < SEG.ACK =< SND.NXT, and SND.NXT is ISS + 1 here).
  const bool has_ack = s.flags & kAck;
  if (has_ack && s.ack != seq_of(c, 1)) {
    if (!(s.flags & kRst)) send_rst_for(e, c.tuple, s);
    c.stats.bad_segments++;
    e.stats.bad_segments++;
    return;
  }
  // Second, check the RST bit (RFC 5961 3.2: only with an acceptable ACK).
  if (s.flags & kRst) {
    if (!has_ack) return;
    e.stats.rst_in++;
    fail_connect(e, c, EndReason::reset, -ECONNREFUSED);
    return;
  }
  // Fourth, check the SYN bit.
  if (!(s.flags & kSyn)) return;
  c.irs = s.seq;
  c.rcv_nxt = s.seq + 1;
  c.rcv_adv = c.rcv_nxt + c.syn_window;  // what our SYN advertised
  take_syn_options(e, c, *s.opts);
  cc_init(e, c);
  if (has_ack) {
    // Our SYN is acknowledged: ESTABLISHED. The window of a SYN is never
    // scaled (RFC 7323 2.2).
    c.snd_una = 1;
    if (c.snd_nxt < 1) c.snd_nxt = 1;
    c.snd_wnd = s.window;
    c.max_snd_wnd = c.snd_wnd;
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
    c.state = State::established;
    c.ack_now = true;
    e.host.connected(c.handle, 0);
    if (!c.live) return;
    if (c.wr_shut) c.state = State::fin_wait_1;  // closed while connecting
    output(e, c);
    return;
  }
  // Simultaneous open (RFC 9293 3.5 figure 8): SYN-RECEIVED, and our SYN
  // goes again with the ACK.
  c.state = State::syn_received;
  c.snd_wnd = s.window;
  c.max_snd_wnd = c.snd_wnd;
  c.snd_wl1 = s.seq;
  send_syn(e, c, true);
}

// RFC 6191 / Linux's tcp_timewait_state_process: a SYN may reopen a tuple
// in TIME-WAIT when it cannot be an old duplicate (a higher sequence
// number, or a newer timestamp).
bool time_wait_reusable(const Conn::Impl& c, const Seg& s) {
  if ((s.flags & (kSyn | kAck | kRst)) != kSyn) return false;
  if (c.ts_ok && s.opts->has_timestamps) return seq_gt(s.opts->tsval, c.ts_recent);
  return seq_gt(s.seq, c.rcv_nxt);
}

}  // namespace

void release_pieces(Engine::Impl& e, Seg& s) {
  if (s.n_pieces) e.host.release(s.pieces, s.n_pieces);
  s.n_pieces = 0;
  s.len = 0;
}

void take_syn_options(Engine::Impl& e, Conn::Impl& c, const Options& o) {
  const Config& cfg = e.cfg;
  // RFC 9293 3.7.1: no MSS option means 536 (RFC 9293 3.7.1, RFC 6691).
  c.peer_mss = o.mss ? o.mss : 536;
  if (c.peer_mss < 64) c.peer_mss = 64;
  // RFC 7323 2.2: scaling applies only when both sides offer it (our SYN
  // always offers it; a SYN-ACK carries it only when the SYN did).
  c.ws_ok = o.wscale >= 0;
  c.snd_wscale = c.ws_ok ? static_cast<uint8_t>(std::min<int>(o.wscale, 14)) : 0;
  c.rcv_wscale = c.ws_ok ? cfg.wscale : 0;
  c.sack_ok = cfg.sack && o.sack_permitted;
  c.ts_ok = cfg.timestamps && o.has_timestamps;
  if (c.ts_ok) {
    c.ts_recent = o.tsval;
    c.ts_recent_stamp = e.now;
  }
  const uint32_t ts_room = c.ts_ok ? 12 : 0;
  const uint32_t m = std::min<uint32_t>(c.peer_mss, cfg.mss);
  c.mss = static_cast<uint16_t>(m > ts_room + 8 ? m - ts_room : 8);
  // What the peer's full-sized segments carry, until one larger is seen
  // (Linux's rcv_mss): ACK pacing counts in these.
  c.rcv_mss = c.mss;
}

void send_rst_for(Engine::Impl& e, const FourTuple& t, const Seg& s) {
  // RFC 9293 3.10.7.1: if the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
  // <CTL=RST,ACK>; if it is on, <SEQ=SEG.ACK><CTL=RST>.
  if (s.flags & kRst) return;
  TxSegment r;
  r.tuple = t;
  if (s.flags & kAck) {
    r.seq = s.ack;
    r.flags = kRst;
  } else {
    r.seq = 0;
    r.ack = s.seq + s.seg_len();
    r.flags = kRst | kAck;
  }
  e.host.transmit(nullptr, r);
}

void input_segment(Engine::Impl& e, const RxSegment& rs) {
  e.stats.segs_in++;
  Seg s;
  if (!load_segment(rs, s)) {
    e.stats.bad_segments++;
    if (s.n_pieces) e.host.release(s.pieces, s.n_pieces);
    return;
  }
  drop_empty_pieces(e, s);
  const FourTuple& t = rs.tuple;
  uint32_t ci = e.conn_table.find(t);
  if (ci != kNone && e.conns[ci].state == State::time_wait &&
      find_listener(e, t.local) && time_wait_reusable(e.conns[ci], s)) {
    end_conn(e, e.conns[ci], EndReason::closed, 0);
    ci = kNone;
  }
  if (ci != kNone) {
    Conn::Impl& c = e.conns[ci];
    c.stats.segs_in++;
    if (c.state == State::syn_sent)
      input_syn_sent(e, c, s);
    else
      input_synchronized(e, c, s);
    return;
  }
  if (Listener::Impl* l = find_listener(e, t.local)) {
    input_listen(e, *l, s, t);
    return;
  }
  // 3.10.7.1 CLOSED: a RST answers anything but a RST; all data is
  // discarded.
  if (!(s.flags & kRst)) {
    e.stats.rst_out_no_conn++;
    send_rst_for(e, t, s);
  }
  release_pieces(e, s);
}

}  // namespace zcrx::tcp
