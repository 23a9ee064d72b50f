// SPDX-License-Identifier: MIT
// The receive window we advertise: min(rcvbuf, Host::rx_capacity) minus
// the in-order bytes the host has not taken, never moving the right edge
// back (RFC 9293 3.8.6), moved forward only by worthwhile amounts (receiver
// SWS avoidance, RFC 9293 3.8.6.2.2), scaled (RFC 7323 2.3), and when an
// update is worth a segment of its own.
#include "internal.h"

namespace zcrx::tcp {
namespace {

uint32_t advertised(const Conn::Impl& c) {
  return seq_gt(c.rcv_adv, c.rcv_nxt) ? c.rcv_adv - c.rcv_nxt : 0;
}

uint32_t max_window(const Conn::Impl& c) { return 65535u << c.rcv_wscale; }

// What the host and rcvbuf allow from RCV.NXT on.
uint32_t raw_window(Engine::Impl& e, Conn::Impl& c) {
  uint32_t cap = e.host.rx_capacity(c.handle);
  if (cap > e.cfg.rcvbuf) cap = e.cfg.rcvbuf;
  if (cap > c.rcv_buf) c.rcv_buf = cap;
  const uint32_t held = c.pending.bytes;
  uint32_t w = cap > held ? cap - held : 0;
  if (w > max_window(c)) w = max_window(c);
  return w;
}

// RFC 9293 3.8.6.2.2: the right edge advances only when it can move by
// min(Fr * RCV.BUFF, Eff.snd.MSS) with Fr = 1/2. RCV.BUFF is the most the
// host ever offered (within rcvbuf): a consumer smaller than one segment
// must still see its window open.
uint32_t sws_threshold(const Conn::Impl& c) {
  const uint32_t half = c.rcv_buf / 2;
  return half < c.rcv_mss ? half : c.rcv_mss;
}

}  // namespace

uint32_t window_available(Engine::Impl& e, Conn::Impl& c) {
  const uint32_t w = raw_window(e, c);
  const uint32_t cur = advertised(c);
  if (w <= cur) return cur;  // never shrink
  if (w - cur < sws_threshold(c) && w < max_window(c)) return cur;
  return w;
}

uint16_t select_window(Engine::Impl& e, Conn::Impl& c) {
  const uint32_t cur = advertised(c);
  const uint32_t w = window_available(e, c);
  const uint8_t ws = c.rcv_wscale;
  // Scaling drops low bits: round down when the edge moves forward anyway,
  // round up when that would bring it back before the advertised edge.
  uint32_t field = w >> ws;
  if ((uint64_t{field} << ws) < cur) field = static_cast<uint32_t>((uint64_t{cur} + (1u << ws) - 1) >> ws);
  if (field > 65535) field = 65535;
  c.rcv_adv = c.rcv_nxt + (field << ws);
  return static_cast<uint16_t>(field);
}

bool window_update_due(Engine::Impl& e, Conn::Impl& c) {
  const uint32_t w = raw_window(e, c);
  const uint32_t cur = advertised(c);
  if (w <= cur) return false;
  const uint32_t opened = w - cur;
  // From a closed window (or one below a segment): as soon as SWS
  // avoidance lets the edge move.
  if (cur < c.rcv_mss) return opened >= sws_threshold(c) && opened > 0;
  // Otherwise when it opens by min(rcvbuf / 2, 2 * MSS) (Linux's
  // __tcp_cleanup_rbuf rule of thumb).
  const uint32_t half = e.cfg.rcvbuf / 2;
  const uint32_t two = 2u * c.rcv_mss;
  return opened >= (half < two ? half : two);
}

}  // namespace zcrx::tcp
