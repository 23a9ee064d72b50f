// SPDX-License-Identifier: MIT
// zcrx_rx: a zcrx consumer. Registers (or clones/imports) an ifq on zcrxd,
// opens a flow, receives with one multishot RECV_ZC, checks every payload
// byte against the project's pattern and refills every buffer. Prints
// progress once a second and a final `RESULT {json}` line.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>

#include "latency.h"
#include "options.h"
#include "receive.h"
#include "share.h"
#include "zcrx/client.h"

namespace zcrx_rx {
namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int fail(const char* what, int err) {
  std::fprintf(stderr, "zcrx_rx: %s: %s\n", what, std::strerror(-err));
  return 2;
}

double tv_s(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

void print_result(const Options& o, const Totals& t, const zcrx::Ring& ring,
                  const zcrx::Ifq& ifq, Latency* lat) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double el = t.elapsed_s > 0 ? t.elapsed_s : 1e-9;
  std::printf("RESULT {\"mode\":\"%s\",\"flow\":\"%s\",\"packets\":%llu,\"datagrams\":%llu,"
              "\"bytes\":%llu,\"bad_payloads\":%llu,\"bad_lengths\":%llu,\"partial\":%llu,"
              "\"cqe_errors\":%llu,\"bad_offsets\":%llu,"
              "\"elapsed_s\":%.6f,\"cpu_user_s\":%.6f,\"cpu_sys_s\":%.6f,"
              "\"outstanding\":%llu,\"rearms\":%llu,\"cq_overflow\":%u,"
              "\"mpps\":%.6f,\"gbps\":%.6f,\"finished\":%s,\"error\":%d,"
              "\"check\":\"%s\",\"touched\":%llu,\"unchecked\":%llu",
              mode_name(o.mode), o.flow_text.c_str(), static_cast<unsigned long long>(t.packets),
              static_cast<unsigned long long>(t.datagrams),
              static_cast<unsigned long long>(t.bytes),
              static_cast<unsigned long long>(t.bad_payloads),
              static_cast<unsigned long long>(t.bad_lengths),
              static_cast<unsigned long long>(t.partial),
              static_cast<unsigned long long>(t.cqe_errors),
              static_cast<unsigned long long>(t.bad_offsets), t.elapsed_s, tv_s(ru.ru_utime),
              tv_s(ru.ru_stime), static_cast<unsigned long long>(t.outstanding()),
              static_cast<unsigned long long>(t.rearms), ring.cq_overflow(),
              static_cast<double>(t.packets) / el / 1e6,
              static_cast<double>(t.bytes) * 8 / el / 1e9, t.finished ? "true" : "false",
              t.fatal, o.touch ? "touch" : "pattern",
              static_cast<unsigned long long>(t.touched),
              static_cast<unsigned long long>(t.unchecked));
  if (lat) std::printf(",\"latency_ns\":%s", lat->json().c_str());
  if (o.events) {
    zcrx::uapi::zcrx_stats st{};
    const bool have = ifq.copy_stats(&st);
    std::printf(",\"events\":{\"alloc_fail\":%llu,\"copy\":%llu,\"arm_errors\":%llu,"
                "\"copy_count\":%lld,\"copy_bytes\":%lld}",
                static_cast<unsigned long long>(t.alloc_fail_events),
                static_cast<unsigned long long>(t.copy_events),
                static_cast<unsigned long long>(t.event_arm_errors),
                have ? static_cast<long long>(st.copy_count) : -1LL,
                have ? static_cast<long long>(st.copy_bytes) : -1LL);
  }
  std::printf("}\n");
  std::fflush(stdout);
}

int run(const Options& o) {
  install_signals();
  Shared sh;
  if (o.mode != Mode::register_ifq) {
    if (int r = take_share(o.share, 10.0, &sh)) return fail("--share", r);
  }
  zcrx::Ring ring;
  if (int r = ring.connect(o.socket.empty() ? nullptr : o.socket.c_str()))
    return fail("connect to zcrxd", r);
  if (int r = ring.create(o.sq_entries, o.cq_entries)) return fail("create ring", r);

  zcrx::Ifq* ifq = nullptr;
  int id = -EINVAL;
  switch (o.mode) {
    case Mode::register_ifq: {
      zcrx::IfqParams p;
      p.port = o.port;
      p.queue = o.queue;
      p.rq_entries = o.rq_entries;
      p.area_len = static_cast<size_t>(o.area_mb) << 20;
      p.rx_buf_len = o.rx_buf_len;
      p.hugetlb = o.hugetlb;
      if (o.zcrxd_area) p.area_fd = zcrx::kAreaMadeByZcrxd;
      if (o.events) {
        p.event_mask = zcrx::uapi::kZcrxEventTypeMask;
        p.event_user_data = kEventTag;
        p.event_stats = true;
      }
      id = ring.register_ifq(p, &ifq);
      break;
    }
    case Mode::clone:
      id = sh.ring_fd >= 0 ? ring.clone_ifq(sh.ring_fd, sh.zcrx_id, o.rq_entries, &ifq) : -EBADF;
      break;
    case Mode::import:
      id = sh.export_fd >= 0 ? ring.import_ifq(sh.export_fd, &ifq) : -EBADF;
      break;
  }
  // The master's fds served their purpose: zcrxd holds what it needs.
  if (sh.ring_fd >= 0) close(sh.ring_fd);
  if (sh.export_fd >= 0) close(sh.export_fd);
  if (id < 0) return fail(o.mode == Mode::register_ifq ? "register ifq"
                          : o.mode == Mode::clone       ? "clone ifq"
                                                        : "import ifq",
                          id);
  int flow = ring.open_flow(ifq->id(), o.flow);
  if (flow < 0) return fail("open flow", flow);
  if (o.eventfd || o.adaptive) {
    if (int r = ring.enable_eventfd()) return fail("register eventfd", r);
    ring.set_spin_ns(int64_t{o.spin_us} * 1000);
  }

  ShareOffer offer;
  int export_fd = -1;
  if (o.mode == Mode::register_ifq && !o.share.empty()) {
    export_fd = ring.export_ifq(ifq->id());
    if (export_fd < 0) {
      std::fprintf(stderr, "zcrx_rx: export: %s (offering the ring fd only)\n",
                   std::strerror(-export_fd));
      export_fd = -1;
    }
    if (int r = offer.start(o.share, ring.ring_fd(), export_fd, ifq->id()))
      return fail("--share", r);
  }
  if (!o.quiet)
    std::fprintf(stderr, "zcrx_rx: %s zcrx id %u flow %s handle %d, %s\n", mode_name(o.mode),
                 ifq->id(), o.flow_text.c_str(), flow, o.adaptive ? "adaptive" : o.eventfd ? "eventfd" : "busy-poll");

  std::unique_ptr<Latency> lat;
  if (o.latency) lat = std::make_unique<Latency>(o.count && o.count < (1u << 22) ? o.count : (1u << 22));
  Totals t;
  receive(ring, *ifq, flow, o, g_stop, lat.get(), t);
  offer.stop();
  if (export_fd >= 0) close(export_fd);
  print_result(o, t, ring, *ifq, lat.get());
  if (t.fatal) std::fprintf(stderr, "zcrx_rx: stopped early: %s\n", std::strerror(-t.fatal));
  return t.bad_payloads == 0 && t.bad_lengths == 0 && t.cqe_errors == 0 &&
                 t.bad_offsets == 0 && t.outstanding() == 0 && t.fatal == 0
             ? 0
             : 1;
}

}  // namespace
}  // namespace zcrx_rx

int main(int argc, char** argv) {
  zcrx_rx::Options o;
  int r = zcrx_rx::parse_options(argc, argv, o);
  if (r > 0) return 0;
  if (r < 0) return 2;
  return zcrx_rx::run(o);
}
