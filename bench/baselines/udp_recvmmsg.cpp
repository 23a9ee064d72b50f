// SPDX-License-Identifier: MIT
// udp_recvmmsg: the kernel socket baseline. One UDP socket, recvmmsg in
// batches into fixed buffers (blocking: MSG_WAITFORONE, back with the first
// datagram and what else is queued), every datagram's first and last byte
// read (or, with --verify, every byte checked against zcrx/pattern.h). With
// --latency the kernel's receive timestamp (SO_TIMESTAMPNS, taken when the
// stack receives the skb) is compared with the time the datagram reaches
// the program: the kernel path's delivery latency.
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "bench_common.h"
#include "zcrx/pattern.h"

namespace {

using namespace zcrx::bench;

struct Options {
  const char* bind_addr = "0.0.0.0";
  int port = 9000;
  int batch = 64;
  size_t max_size = 9216;
  double duration = 5.0;
  double idle_exit = 0;  // seconds without traffic after the first packet
  bool busy_poll = false;
  bool verify = false;
  bool latency = false;
  int rcvbuf = 8 << 20;
};

void usage(FILE* f) {
  fprintf(f,
          "usage: udp_recvmmsg [options]\n"
          "Kernel UDP receive baseline (recvmmsg).\n"
          "  --bind ADDR      IPv4 address to bind (default 0.0.0.0)\n"
          "  --port N         UDP port (default 9000)\n"
          "  --batch N        datagrams per recvmmsg (default 64, max 1024)\n"
          "  --max-size N     receive buffer per datagram (default 9216)\n"
          "  --duration S     stop after S seconds (default 5)\n"
          "  --idle-exit S    stop S seconds after the last datagram (default off)\n"
          "  --busy-poll      non-blocking receive in a loop (default: blocking,\n"
          "                   MSG_WAITFORONE: back with the first datagram)\n"
          "  --verify         check every payload byte against the pattern\n"
          "  --latency        SO_TIMESTAMPNS to read-time latency percentiles\n"
          "  --rcvbuf BYTES   SO_RCVBUF (default 8 MiB)\n"
          "  --help           this text\n"
          "Prints 'udp_recvmmsg: ready' when bound. Final line: RESULT {json} with\n"
          "packets, bytes, bad_payloads, elapsed_s (first to last datagram),\n"
          "cpu_user_s, cpu_sys_s and lat_* fields with --latency.\n");
}

bool parse(int argc, char** argv, Options* o) {
  static const option longopts[] = {
      {"bind", required_argument, nullptr, 'a'},     {"port", required_argument, nullptr, 'p'},
      {"batch", required_argument, nullptr, 'b'},    {"max-size", required_argument, nullptr, 'm'},
      {"duration", required_argument, nullptr, 't'}, {"idle-exit", required_argument, nullptr, 'i'},
      {"busy-poll", no_argument, nullptr, 'B'},      {"verify", no_argument, nullptr, 'v'},
      {"latency", no_argument, nullptr, 'l'},        {"rcvbuf", required_argument, nullptr, 'r'},
      {"help", no_argument, nullptr, 'h'},           {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 'a': o->bind_addr = optarg; break;
      case 'p': o->port = atoi(optarg); break;
      case 'b': o->batch = atoi(optarg); break;
      case 'm': o->max_size = strtoul(optarg, nullptr, 0); break;
      case 't': o->duration = atof(optarg); break;
      case 'i': o->idle_exit = atof(optarg); break;
      case 'B': o->busy_poll = true; break;
      case 'v': o->verify = true; break;
      case 'l': o->latency = true; break;
      case 'r': o->rcvbuf = atoi(optarg); break;
      case 'h': usage(stdout); exit(0);
      default: return false;
    }
  }
  return o->port > 0 && o->port < 65536 && o->batch >= 1 && o->batch <= 1024 &&
         o->max_size >= 1 && o->max_size <= 65536 && o->duration > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) {
    usage(stderr);
    return 2;
  }
  install_stop_handlers();

  int fd = open_udp_receiver(o.bind_addr, o.port, o.rcvbuf, "udp_recvmmsg");
  if (fd < 0) return 1;
  if (o.latency) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  }
  // Blocking receives wake up every 100 ms to look at the clock and signals.
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  printf("udp_recvmmsg: ready port=%d\n", o.port);
  fflush(stdout);

  const size_t batch = static_cast<size_t>(o.batch);
  std::vector<uint8_t> bufs(batch * o.max_size);
  std::vector<iovec> iov(batch);
  std::vector<mmsghdr> msgs(batch);
  constexpr size_t kCtlLen = CMSG_SPACE(sizeof(timespec));
  std::vector<uint8_t> ctl(batch * kCtlLen);
  LatencyHistogram hist;

  uint64_t packets = 0, bytes = 0, bad = 0, touch = 0, truncated = 0;
  double t_first = 0, t_last = 0;
  const double t_start = now_s();
  // Blocking: MSG_WAITFORONE returns as soon as one datagram is in, with
  // whatever else is queued, as a real blocking receiver would; without it
  // recvmmsg waits for the whole batch and a datagram's latency is the time
  // the batch took to fill.
  const int flags = o.busy_poll ? MSG_DONTWAIT : MSG_WAITFORONE;

  while (!stop_requested()) {
    for (size_t i = 0; i < batch; i++) {
      iov[i] = {&bufs[i * o.max_size], o.max_size};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      if (o.latency) {
        msgs[i].msg_hdr.msg_control = &ctl[i * kCtlLen];
        msgs[i].msg_hdr.msg_controllen = kCtlLen;
      }
    }
    int n = recvmmsg(fd, msgs.data(), static_cast<unsigned>(batch), flags, nullptr);
    double now = now_s();
    if (n > 0) {
      int64_t read_ns = o.latency ? now_ns(CLOCK_REALTIME) : 0;
      if (packets == 0) t_first = now;
      t_last = now;
      for (int i = 0; i < n; i++) {
        const uint8_t* p = &bufs[static_cast<size_t>(i) * o.max_size];
        size_t len = msgs[static_cast<size_t>(i)].msg_len;
        if (msgs[static_cast<size_t>(i)].msg_hdr.msg_flags & MSG_TRUNC) truncated++;
        if (len > 0) touch += p[0] + p[len - 1];
        if (o.verify && zcrx::pattern::first_mismatch(p, len) != len) bad++;
        bytes += len;
        if (o.latency) {
          for (cmsghdr* cm = CMSG_FIRSTHDR(&msgs[static_cast<size_t>(i)].msg_hdr); cm;
               cm = CMSG_NXTHDR(&msgs[static_cast<size_t>(i)].msg_hdr, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS &&
                cm->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
              timespec ts;
              memcpy(&ts, CMSG_DATA(cm), sizeof ts);
              hist.record(read_ns - (static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec));
            }
          }
        }
      }
      packets += static_cast<uint64_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      perror("udp_recvmmsg: recvmmsg");
      break;
    }
    if (now - t_start >= o.duration) break;
    if (o.idle_exit > 0 && packets > 0 && now - t_last >= o.idle_exit) break;
  }
  close(fd);

  JsonLine j;
  j.str("prog", "udp_recvmmsg")
      .integer("packets", packets)
      .integer("bytes", bytes)
      .integer("bad_payloads", bad)
      .integer("truncated", truncated)
      .num("elapsed_s", t_last - t_first)
      .num("wall_s", now_s() - t_start)
      .integer("touch", touch & 0xffff)
      .cpu(cpu_times());
  if (o.latency) hist.add_to(j);
  j.print();
  return 0;
}
