// SPDX-License-Identifier: MIT
// udp_sender: the traffic source of the same-wire scenarios. Sends UDP
// datagrams carrying the pattern of zcrx/pattern.h with sendmmsg, at a fixed
// packet rate or as fast as it can, from one or more source sockets (flows)
// to one or more destination ports.
//
// No per-packet copy or fill (sender_payload.h): each datagram is an iovec
// of its own 8-byte sequence header plus one of 256 prebuilt bodies.
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include "bench_common.h"
#include "sender_payload.h"

namespace {

using namespace zcrx::bench;

struct Options {
  const char* dst = nullptr;
  int port = 9000;
  int ports = 1;
  int flows = 1;
  size_t size = 1400;
  double rate = 0;  // packets per second, 0 = unlimited
  double duration = 1.0;
  uint64_t count = 0;  // 0 = until duration
  int batch = 32;
};

void usage(FILE* f) {
  fprintf(f,
          "usage: udp_sender --dst IPv4 [options]\n"
          "Sends pattern payloads (zcrx/pattern.h) with sendmmsg.\n"
          "  --dst ADDR       destination IPv4 address (required)\n"
          "  --port N         first destination port (default 9000)\n"
          "  --ports N        spread datagrams over ports port..port+N-1 (default 1)\n"
          "  --flows N        number of source sockets, i.e. source ports (default 1)\n"
          "  --size N         UDP payload bytes (default 1400, max 65000)\n"
          "  --rate PPS       packets per second, k/M suffix allowed; 0 = max (default 0)\n"
          "  --duration S     seconds to send (default 1)\n"
          "  --count N        stop after N datagrams (default: duration only)\n"
          "  --batch N        datagrams per sendmmsg (default 32, max 1024)\n"
          "  --help           this text\n"
          "Final line: RESULT {json} with sent, bytes, errors, elapsed_s, pps,\n"
          "cpu_user_s, cpu_sys_s.\n");
}

bool parse(int argc, char** argv, Options* o) {
  static const option longopts[] = {
      {"dst", required_argument, nullptr, 'd'},   {"port", required_argument, nullptr, 'p'},
      {"ports", required_argument, nullptr, 'P'}, {"flows", required_argument, nullptr, 'f'},
      {"size", required_argument, nullptr, 's'},  {"rate", required_argument, nullptr, 'r'},
      {"duration", required_argument, nullptr, 't'},
      {"count", required_argument, nullptr, 'c'}, {"batch", required_argument, nullptr, 'b'},
      {"help", no_argument, nullptr, 'h'},        {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 'd': o->dst = optarg; break;
      case 'p': o->port = atoi(optarg); break;
      case 'P': o->ports = atoi(optarg); break;
      case 'f': o->flows = atoi(optarg); break;
      case 's': o->size = strtoul(optarg, nullptr, 0); break;
      case 'r':
        if (!parse_scaled(optarg, &o->rate)) return false;
        break;
      case 't': o->duration = atof(optarg); break;
      case 'c': o->count = strtoull(optarg, nullptr, 0); break;
      case 'b': o->batch = atoi(optarg); break;
      case 'h': usage(stdout); exit(0);
      default: return false;
    }
  }
  return o->dst && o->port > 0 && o->port < 65536 && o->ports >= 1 &&
         o->port + o->ports <= 65536 && o->flows >= 1 && o->flows <= 256 &&
         o->size <= 65000 && o->batch >= 1 && o->batch <= 1024 && o->duration > 0;
}

void sleep_until(double t) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t);
  ts.tv_nsec = static_cast<long>((t - static_cast<double>(ts.tv_sec)) * 1e9);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) {
    usage(stderr);
    return 2;
  }
  install_stop_handlers();

  sockaddr_in base{};
  base.sin_family = AF_INET;
  if (inet_pton(AF_INET, o.dst, &base.sin_addr) != 1) {
    fprintf(stderr, "udp_sender: bad --dst %s\n", o.dst);
    return 2;
  }
  std::vector<sockaddr_in> dsts(static_cast<size_t>(o.ports), base);
  for (int i = 0; i < o.ports; i++) dsts[static_cast<size_t>(i)].sin_port = htons(static_cast<uint16_t>(o.port + i));

  std::vector<int> socks;
  for (int i = 0; i < o.flows; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
      perror("udp_sender: socket");
      return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    socks.push_back(fd);
  }

  const PayloadTemplates payloads(o.size);
  const size_t body_len = o.size;

  const size_t batch = static_cast<size_t>(o.batch);
  std::vector<uint64_t> seqhdr(batch);
  std::vector<iovec> iov(2 * batch);
  std::vector<mmsghdr> msgs(batch);

  uint64_t seq = 0, bytes = 0, errors = 0;
  const double t0 = now_s();
  const double t_end = t0 + o.duration;
  // At a fixed rate, never send more than ~1 ms worth of packets at once.
  size_t rate_batch = batch;
  if (o.rate > 0) rate_batch = std::max<size_t>(1, std::min(batch, static_cast<size_t>(o.rate / 1000.0)));
  unsigned turn = 0;

  while (!stop_requested()) {
    double now = now_s();
    if (now >= t_end) break;
    if (o.count && seq >= o.count) break;
    size_t n = rate_batch;
    if (o.rate > 0) {
      double due = t0 + static_cast<double>(seq) / o.rate;  // when packet `seq` is due
      if (due > now) {
        sleep_until(std::min(due, t_end));
        continue;
      }
    }
    if (o.count && o.count - seq < n) n = static_cast<size_t>(o.count - seq);
    for (size_t i = 0; i < n; i++) {
      uint64_t s = seq + i;
      mmsghdr& m = msgs[i];
      m = {};
      m.msg_hdr.msg_iovlen = static_cast<size_t>(payloads.iovecs(s, &seqhdr[i], &iov[2 * i]));
      m.msg_hdr.msg_iov = &iov[2 * i];
      m.msg_hdr.msg_name = &dsts[s % dsts.size()];
      m.msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    int fd = socks[turn++ % socks.size()];
    int sent = sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
    if (sent < 0) {
      if (errno != EINTR) errors++;
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED) {
        perror("udp_sender: sendmmsg");
        break;
      }
      continue;
    }
    seq += static_cast<uint64_t>(sent);
    bytes += static_cast<uint64_t>(sent) * body_len;
  }
  double elapsed = now_s() - t0;
  for (int fd : socks) close(fd);

  JsonLine j;
  j.str("prog", "udp_sender")
      .integer("size", body_len)
      .num("rate_target", o.rate)
      .integer("sent", seq)
      .integer("bytes", bytes)
      .integer("errors", errors)
      .num("elapsed_s", elapsed)
      .num("pps", elapsed > 0 ? static_cast<double>(seq) / elapsed : 0)
      .cpu(cpu_times());
  j.print();
  return 0;
}
