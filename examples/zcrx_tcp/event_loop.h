// SPDX-License-Identifier: MIT
// The completion loop the server and the client both run.
#pragma once

#include <cerrno>
#include <cstdint>

#include "buffers.h"
#include "common.h"
#include "zcrx/client.h"

namespace zcrx_tcp {

/// How long one wait for a completion lasts before the loop looks at the
/// clock, the timeout and zcrxd's session again.
inline constexpr int64_t kWaitSliceNs = 100 * 1000 * 1000;

/// Reaps completions until `finished(now)` is true, SIGINT/SIGTERM, a fatal
/// error or --timeout: the progress line, a check every 0.5 s that zcrxd is
/// still there (a quiet CQ cannot tell a dead zcrxd from an idle peer),
/// each CQE to `on_cqe`, then the refills flushed and new SQEs submitted.
/// `live` is the connection count the progress line shows.
template <class Finished, class OnCqe>
void run_completions(zcrx::Ring& ring, zcrx::Ifq& ifq, Buffers& bufs, const Options& o,
                     Totals& t, Progress& progress, const uint64_t& live, double start,
                     Finished finished, OnCqe on_cqe) {
  const auto mode = wait_mode(o);
  double last_alive_check = start;
  for (;;) {
    const double now = now_s();
    if (finished(now) || g_stop || t.fatal) break;
    if (o.timeout_s > 0 && now - start >= o.timeout_s) {
      t.timed_out = true;
      break;
    }
    progress.tick(now, t, live);
    if (now - last_alive_check >= 0.5) {
      last_alive_check = now;
      if (!ring.session_alive()) {
        t.fatal = -ECONNRESET;
        break;
      }
    }
    const int r = ring.wait_cqe(1, mode, kWaitSliceNs);
    if (r == -ETIME) continue;
    if (r < 0) {
      t.fatal = r;
      break;
    }
    ring.for_each_cqe(ifq, on_cqe);
    bufs.flush();
    ring.submit();
  }
  if (t.last_s == 0) t.last_s = now_s();
}

}  // namespace zcrx_tcp
