// SPDX-License-Identifier: MIT
// Congestion control and loss recovery: slow start and congestion
// avoidance (RFC 5681 3.1, NewReno; or CUBIC, RFC 9438), fast retransmit
// and NewReno recovery (RFC 6582), SACK-based recovery entry and exit
// (RFC 6675 5; its sending loop is in output.cpp), and the loss window
// after a timeout (RFC 5681 3.1 eq. 4).
#include <cmath>

#include "internal.h"

namespace zcrx::tcp {
namespace {

constexpr double kCubicC = 0.4;     // RFC 9438 4.1
constexpr double kCubicBeta = 0.7;  // RFC 9438 4.6
constexpr uint32_t kDupThresh = 3;  // RFC 5681 3.2, RFC 6675 2
constexpr uint32_t kCwndMax = 1u << 30;

bool cubic(const Engine::Impl& e) { return e.cfg.congestion == Congestion::cubic; }

// RFC 5681 eq. 4 (NewReno), RFC 9438 4.6 (CUBIC): the new ssthresh.
uint32_t reduced_ssthresh(const Engine::Impl& e, Conn::Impl& c) {
  const uint32_t floor = 2u * c.mss;
  if (cubic(e)) {
    const double seg = static_cast<double>(c.cwnd) / c.mss;
    // Fast convergence (RFC 9438 4.7): release bandwidth to newer flows.
    c.cubic_wmax = seg < c.cubic_wmax ? seg * (1 + kCubicBeta) / 2 : seg;
    c.cubic_epoch = 0;
    const uint32_t t = static_cast<uint32_t>(c.cwnd * kCubicBeta);
    return t > floor ? t : floor;
  }
  const uint32_t half = flight_size(c) / 2;
  return half > floor ? half : floor;
}

// RFC 9438 4.2-4.4: cwnd growth in congestion avoidance.
void cubic_avoidance(Engine::Impl& e, Conn::Impl& c, uint32_t acked) {
  const double mss = c.mss;
  const double cw = c.cwnd / mss;
  if (c.cubic_epoch == 0) {
    c.cubic_epoch = e.now;
    c.cubic_origin = c.cwnd;
    c.cubic_west = cw;
    if (c.cubic_wmax < cw) c.cubic_wmax = cw;
    c.cubic_k = std::cbrt((c.cubic_wmax - cw) / kCubicC);
  }
  const double t = static_cast<double>(e.now - c.cubic_epoch) / 1e6;
  const double rtt = (c.srtt_us ? c.srtt_us : 100000) / 1e6;
  const auto w_cubic = [&](double x) {
    const double d = x - c.cubic_k;
    return kCubicC * d * d * d + c.cubic_wmax;
  };
  // Reno-friendly estimate (4.3), alpha 1 once past W_max.
  const double alpha = c.cubic_west >= c.cubic_wmax ? 1.0
                                                    : 3 * (1 - kCubicBeta) / (1 + kCubicBeta);
  c.cubic_west += alpha * (acked / mss) / cw;
  double next;
  if (w_cubic(t) < c.cubic_west) {
    next = c.cubic_west;
  } else {
    double target = w_cubic(t + rtt);
    if (target < cw) target = cw;
    if (target > 1.5 * cw) target = 1.5 * cw;
    next = cw + (target - cw) / cw * (acked / mss);
  }
  // Whole bytes only; the fraction carries over in ca_acked.
  const double bytes = next * mss - c.cwnd + c.ca_acked;
  if (bytes >= 1) {
    const uint32_t add = bytes > kCwndMax ? kCwndMax : static_cast<uint32_t>(bytes);
    c.cwnd += add;
    c.ca_acked = 0;
  } else if (bytes > 0) {
    c.ca_acked = static_cast<uint32_t>(bytes);
  }
}

void grow(Engine::Impl& e, Conn::Impl& c, uint32_t acked) {
  // An application- or receiver-limited sender learns nothing about the
  // path: cwnd stays (RFC 7661's motivation; Linux's tcp_is_cwnd_limited).
  if (!c.cwnd_limited) return;
  if (c.cwnd < c.ssthresh) {
    // Slow start, RFC 3465's L = 2*SMSS per ACK.
    const uint32_t inc = acked < 2u * c.mss ? acked : 2u * c.mss;
    c.cwnd += inc;
    if (c.cwnd > c.ssthresh) c.cwnd = c.ssthresh;
    return;
  }
  if (cubic(e)) {
    cubic_avoidance(e, c, acked);
  } else {
    // RFC 5681 3.1 congestion avoidance by bytes acked: one SMSS per cwnd.
    c.ca_acked += acked;
    if (c.ca_acked >= c.cwnd) {
      c.ca_acked -= c.cwnd;
      c.cwnd += c.mss;
    }
  }
  if (c.cwnd > kCwndMax) c.cwnd = kCwndMax;
}

// RFC 6582 3.2 step 2 / RFC 6675 5 step 4: into recovery.
void enter_recovery(Engine::Impl& e, Conn::Impl& c) {
  c.ssthresh = reduced_ssthresh(e, c);
  c.recover = c.snd_max;
  c.in_recovery = true;
  c.partial_seen = false;
  c.ca_acked = 0;
  c.stats.fast_retransmits++;
  // Retransmit the first unacknowledged segment (up to the first SACKed
  // byte, if any).
  uint32_t len = c.mss;
  if (c.sb.n && c.sb.r[0].l - c.snd_una < len) len = static_cast<uint32_t>(c.sb.r[0].l - c.snd_una);
  const uint32_t sent = send_range(e, c, c.snd_una, len, true);
  if (c.sack_ok) {
    c.cwnd = c.ssthresh;
    c.high_rxt = c.snd_una + sent;
  } else {
    c.cwnd = c.ssthresh + kDupThresh * c.mss;
  }
}

// RFC 6582 3.2 step 3 / RFC 6675 5: a full acknowledgment ends recovery.
void exit_recovery(Engine::Impl& e, Conn::Impl& c) {
  c.in_recovery = false;
  c.dupacks = 0;
  if (c.sack_ok || cubic(e)) {
    c.cwnd = c.ssthresh;
  } else {
    // Option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS).
    const uint32_t f = flight_size(c);
    const uint32_t deflated = (f > c.mss ? f : c.mss) + c.mss;
    c.cwnd = deflated < c.ssthresh ? deflated : c.ssthresh;
  }
}

}  // namespace

uint32_t flight_size(const Conn::Impl& c) {
  const uint64_t f = c.snd_max - c.snd_una;
  return f > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(f);
}

void cc_init(Engine::Impl& e, Conn::Impl& c) {
  // RFC 6928 (Linux's IW10 by default): the initial window in segments.
  c.cwnd = e.cfg.initial_cwnd_segments * c.mss;
  c.ssthresh = UINT32_MAX;
  c.ca_acked = 0;
  c.cubic_wmax = 0;
  c.cubic_epoch = 0;
}

bool cc_on_ack(Engine::Impl& e, Conn::Impl& c, uint32_t acked, bool dupack) {
  if (c.in_recovery) {
    if (!dupack && c.snd_una >= c.recover) {
      exit_recovery(e, c);
      return true;
    }
    if (dupack) {
      // RFC 6582 step 4: inflate by one SMSS per further duplicate (the
      // SACK variant counts the pipe instead).
      if (!c.sack_ok) c.cwnd += c.mss;
      return false;
    }
    // A partial ACK.
    if (!c.sack_ok) {
      // RFC 6582 step 5: retransmit the first unacknowledged segment,
      // deflate by what was acked, add back one SMSS if that was at least
      // one, and reset the timer for the first partial ACK only.
      send_range(e, c, c.snd_una, c.mss, true);
      c.cwnd = c.cwnd > acked ? c.cwnd - acked : 0;
      if (acked >= c.mss) c.cwnd += c.mss;
      if (c.cwnd < c.mss) c.cwnd = c.mss;
    }
    const bool first = !c.partial_seen;
    c.partial_seen = true;
    return first;
  }
  if (!dupack) {
    c.dupacks = 0;
    grow(e, c, acked);
    if (c.cwnd_limited && c.snd_una >= c.cwnd_limited_until) c.cwnd_limited = false;
    return true;
  }
  c.dupacks++;
  // RFC 6582 step 2: only when the ACK covers more than `recover` (no
  // second reduction for losses of one window); RFC 6675 5: three
  // duplicates or a first segment that the SACKs show lost.
  const bool lost = c.dupacks >= kDupThresh || (c.sack_ok && sb_is_lost(c, c.snd_una));
  if (lost && c.snd_una >= c.recover) enter_recovery(e, c);
  return false;
}

void cc_note_flight(Conn::Impl& c) {
  if (c.snd_nxt - c.snd_una + c.mss > c.cwnd) {
    c.cwnd_limited = true;
    c.cwnd_limited_until = c.snd_max;
  }
}

void cc_on_rto(Engine::Impl& e, Conn::Impl& c) {
  // RFC 5681 3.1: ssthresh from the first timeout of a segment only (held
  // on repeated timeouts); the loss window of one segment; RFC 6582 4: the
  // data sent so far is one episode (no fast retransmit inside it).
  if (c.backoff == 0) c.ssthresh = reduced_ssthresh(e, c);
  c.cwnd = c.mss;
  c.ca_acked = 0;
  c.cubic_epoch = 0;
  c.recover = c.snd_max;
  c.in_recovery = false;
  c.dupacks = 0;
}

}  // namespace zcrx::tcp
