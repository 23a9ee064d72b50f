// SPDX-License-Identifier: MIT
#include "receive.h"

#include <time.h>

#include <cerrno>
#include <cstdio>

#include "frame.h"
#include "verify.h"
#include "zcrx/pattern.h"

namespace zcrx_rx {
namespace {

using zcrx::uapi::io_uring_cqe32;

constexpr uint64_t kRecvTag = 1;
constexpr uint64_t kCancelTag = 2;
constexpr int64_t kWaitSliceNs = 100 * 1000 * 1000;  // re-check limits this often
constexpr unsigned kMaxFailedArms = 3;               // arms that ended without data

// The run loop's wait timeout: short with wait_nr > 1, where it bounds
// how long a quiet spell's last completions wait; else a slice for
// re-checking the stop conditions.
int64_t wait_timeout_ns(const Options& o) {
  if (o.wait_usec) return int64_t{o.wait_usec} * 1000;
  return o.wait_nr > 1 ? 1000 * 1000 : kWaitSliceNs;
}

zcrx::WaitMode wait_mode(const Options& o) {
  if (o.adaptive) return zcrx::WaitMode::adaptive;
  return o.eventfd ? zcrx::WaitMode::eventfd : zcrx::WaitMode::busy_poll;
}

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class Loop {
 public:
  Loop(zcrx::Ring& ring, zcrx::Ifq& ifq, int flow, const Options& o, Latency* lat, Totals& t)
      : ring_(ring), ifq_(ifq), flow_(flow), o_(o), lat_(lat), t_(t),
        raw_(o.flow.kind == zcrx::proto::kFlowRaw) {}

  void run(const volatile sig_atomic_t& stop);

 private:
  bool arm();
  // The common completion (data, request still armed) stays inline in the
  // batch loop; everything else goes through on_other_cqe.
  void on_cqe(const io_uring_cqe32& c) {
    if (c.cqe.user_data == kRecvTag && c.cqe.res > 0 && (c.cqe.flags & zcrx::uapi::kCqeFMore))
        [[likely]] {
      on_data(c);
      return;
    }
    on_other_cqe(c);
  }
  [[gnu::noinline]] void on_other_cqe(const io_uring_cqe32& c);
  void on_data(const io_uring_cqe32& c);
  void give_back(const io_uring_cqe32& c) {
    // data() already checked this (private) copy of the CQE: push it as is.
    if (!ifq_.refill(c.zcqe.off, static_cast<uint32_t>(c.cqe.res))) [[unlikely]]
      give_back_slow(c);
  }
  [[gnu::noinline]] void give_back_slow(const io_uring_cqe32& c);
  void flush();
  void progress(double now);
  void cancel_and_drain();
  bool limits_reached(double now) const {
    return (o_.count && t_.datagrams >= o_.count) ||
           (o_.duration > 0 && now - start_ >= o_.duration);
  }
  void check_udp(const uint8_t* p, size_t len, bool end);
  void check_raw(const uint8_t* p, size_t len, bool end);
  void end_datagram();

  zcrx::Ring& ring_;
  zcrx::Ifq& ifq_;
  int flow_;
  const Options& o_;
  Latency* lat_;
  Totals& t_;
  Verifier verify_;
  bool raw_;  // frames, not payloads: find the UDP payload first
  // The datagram (frame) under way: bytes so far, and what its first CQE
  // said. A datagram ends at the CQE with kCqeFDatagramEnd.
  uint64_t dgram_len_ = 0;
  uint64_t dgram_seq_ = 0;
  uint64_t dgram_cqes_ = 0;
  bool dgram_checkable_ = false;
  bool dgram_bad_ = false;
  bool armed_ = false;
  bool cancelling_ = false;
  bool data_since_arm_ = false;
  unsigned failed_arms_ = 0;
  double start_ = 0;
  double last_print_ = 0;
  uint64_t last_packets_ = 0, last_bytes_ = 0;
};

bool Loop::arm() {
  zcrx::uapi::io_uring_sqe* sqe = ring_.get_sqe();
  if (!sqe) return false;
  zcrx::prep_recv_zc(sqe, flow_, ifq_.id(), o_.len, true, kRecvTag);
  ring_.submit();
  armed_ = true;
  data_since_arm_ = false;
  return true;
}

void Loop::give_back_slow(const io_uring_cqe32& c) {
  const uint32_t len = static_cast<uint32_t>(c.cqe.res);
  // The RQ is full only while zcrxd is behind draining it: publish what we
  // queued and let it catch up (bounded, so a stalled zcrxd cannot hang us).
  const double give_up = now_s() + 1.0;
  while (!ifq_.refill(c.zcqe.off, len)) {
    flush();
    if (ifq_.rq_state() != zcrx::RingState::ok || now_s() > give_up) return;
  }
}

void Loop::flush() {
  t_.refilled += ifq_.refills_queued();
  ifq_.flush_refills();
}

inline void Loop::on_data(const io_uring_cqe32& c) {
  const uint8_t* p = ifq_.data(c);
  if (!p) [[unlikely]] {
    t_.bad_offsets++;
    return;
  }
  const size_t len = static_cast<size_t>(c.cqe.res);
  const bool end = zcrx::is_datagram_end(c);
  t_.received++;
  t_.packets++;
  t_.bytes += len;
  data_since_arm_ = true;
  if (o_.touch) {
    // The sum goes into RESULT, so the compiler cannot drop the reads.
    t_.touched ^= (uint64_t{p[0]} << 8) | p[len - 1];
  } else if (raw_) {
    check_raw(p, len, end);
  } else {
    check_udp(p, len, end);
  }
  dgram_len_ += len;
  dgram_cqes_++;
  if (end) end_datagram();
  if (lat_) lat_->record(c.zcqe.__pad, read_tsc());
  give_back(c);
}

inline void Loop::check_udp(const uint8_t* p, size_t len, bool end) {
  if (dgram_len_ == 0) {
    // The first piece carries the sequence number (the whole datagram,
    // the common case, is checked as one).
    if (end || len >= 8) {
      dgram_checkable_ = true;
      dgram_seq_ = zcrx::pattern::seq_of(p, len);
      dgram_bad_ = !verify_.intact(p, len);
    } else {
      dgram_checkable_ = false;  // too short to say which datagram: later pieces too
      t_.unchecked++;
    }
  } else if (dgram_checkable_) {
    dgram_bad_ |= !verify_.intact_at(p, len, dgram_seq_, dgram_len_);
  } else {
    t_.unchecked++;
  }
}

inline void Loop::check_raw(const uint8_t* p, size_t len, bool end) {
  // A raw flow delivers frames: check the datagram inside a frame that
  // came whole in one CQE; count what is not one (another protocol, a
  // frame larger than one buffer).
  size_t off = 0, plen = 0;
  if (dgram_len_ != 0 || !end || !udp_payload_of_frame(p, len, &off, &plen)) t_.unchecked++;
  else dgram_bad_ = !verify_.intact(p + off, plen);
}

void Loop::end_datagram() {
  t_.datagrams++;
  if (dgram_bad_) t_.bad_payloads++;
  if (!raw_ && !o_.touch && o_.datagram_size && dgram_len_ != o_.datagram_size) t_.bad_lengths++;
  dgram_len_ = 0;
  dgram_cqes_ = 0;
  dgram_bad_ = false;
}

void Loop::on_other_cqe(const io_uring_cqe32& c) {
  if (c.cqe.user_data == kCancelTag) return;  // 0 or -ENOENT: the request's own CQE tells
  if (const int ev = ifq_.event_type(c); ev >= 0) {
    // Fired once; count it and ask for the next one (a control call, but
    // events are rare: at most one per type until this re-arm).
    (ev == zcrx::uapi::ZCRX_EVENT_ALLOC_FAIL ? t_.alloc_fail_events : t_.copy_events)++;
    if (ring_.arm_event(ifq_.id(), static_cast<uint32_t>(ev)) != 0) t_.event_arm_errors++;
    return;
  }
  if (c.cqe.user_data != kRecvTag) {
    t_.cqe_errors++;  // nothing else was submitted
    return;
  }
  if (c.cqe.res > 0) {
    on_data(c);
  } else if (c.cqe.res < 0 && !(cancelling_ && c.cqe.res == -ECANCELED)) {
    t_.cqe_errors++;
  }
  if (c.cqe.flags & zcrx::uapi::kCqeFMore) return;
  armed_ = false;
  if (c.cqe.res == 0) {
    // The final CQE of a len-limited request, or the flow went away.
    t_.finished = true;
    return;
  }
  if (cancelling_) return;
  // Ended early (an error, or a zcrxd that does not keep multishot armed):
  // arm again, unless arming keeps failing without delivering anything.
  failed_arms_ = data_since_arm_ ? 0 : failed_arms_ + 1;
  if (failed_arms_ >= kMaxFailedArms) {
    t_.fatal = c.cqe.res < 0 ? c.cqe.res : -EIO;
    return;
  }
  t_.rearms++;
  if (!arm()) t_.fatal = -EBUSY;
}

void Loop::progress(double now) {
  if (o_.quiet || now - last_print_ < 1.0) return;
  double dt = now - last_print_;
  double pps = static_cast<double>(t_.packets - last_packets_) / dt;
  double bps = static_cast<double>(t_.bytes - last_bytes_) * 8 / dt;
  std::fprintf(stderr,
               "zcrx_rx: %6.1fs %12llu pkts %8.3f Mpps %8.3f Gbps bad=%llu err=%llu\n",
               now - start_, static_cast<unsigned long long>(t_.packets), pps / 1e6, bps / 1e9,
               static_cast<unsigned long long>(t_.bad_payloads),
               static_cast<unsigned long long>(t_.cqe_errors));
  last_print_ = now;
  last_packets_ = t_.packets;
  last_bytes_ = t_.bytes;
}

void Loop::cancel_and_drain() {
  if (armed_ && ring_.session_alive()) {
    zcrx::uapi::io_uring_sqe* sqe = ring_.get_sqe();
    if (sqe) {
      zcrx::prep_cancel(sqe, kRecvTag, kCancelTag);
      ring_.submit();
      cancelling_ = true;
      const double give_up = now_s() + 2.0;
      while (armed_ && now_s() < give_up) {
        int r = ring_.wait_cqe(1, wait_mode(o_), kWaitSliceNs);
        if (r == -ETIME) continue;
        if (r < 0) break;
        ring_.for_each_cqe(ifq_, [&](const io_uring_cqe32& c) { on_cqe(c); });
        flush();
      }
    }
  }
  // Whatever is still in the CQ holds buffers too.
  ring_.for_each_cqe(ifq_, [&](const io_uring_cqe32& c) { on_cqe(c); });
  flush();
  t_.partial = dgram_cqes_;  // a datagram cut off by the cancel
}

void Loop::run(const volatile sig_atomic_t& stop) {
  start_ = last_print_ = now_s();
  if (!arm()) {
    t_.fatal = -EBUSY;
    return;
  }
  const auto mode = wait_mode(o_);
  const int64_t timeout_ns = wait_timeout_ns(o_);
  double last_alive_check = start_;
  for (;;) {
    double now = now_s();
    if (stop || t_.fatal || t_.finished || limits_reached(now)) break;
    progress(now);
    // A CQ that stays quiet cannot tell a dead zcrxd from an idle flow.
    if (now - last_alive_check >= 0.5) {
      last_alive_check = now;
      if (!ring_.session_alive()) {
        t_.fatal = -ECONNRESET;
        break;
      }
    }
    // With wait_nr > 1, -ETIME may leave fewer ready: take them now.
    int r = ring_.wait_cqe(o_.wait_nr, mode, timeout_ns);
    if (r == -ETIME && ring_.cq_ready() == 0) continue;
    if (r < 0 && r != -ETIME) {
      t_.fatal = r;
      break;
    }
    ring_.for_each_cqe(ifq_, [&](const io_uring_cqe32& c) { on_cqe(c); });
    flush();
  }
  t_.elapsed_s = now_s() - start_;
  cancel_and_drain();
}

}  // namespace

void receive(zcrx::Ring& ring, zcrx::Ifq& ifq, int flow, const Options& o,
             const volatile sig_atomic_t& stop, Latency* lat, Totals& t) {
  Loop(ring, ifq, flow, o, lat, t).run(stop);
}

}  // namespace zcrx_rx
