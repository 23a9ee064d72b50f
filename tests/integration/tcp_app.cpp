// SPDX-License-Identifier: MIT
// itest_tcp_app: a zcrxd TCP consumer for the integration tests.
//
// --mode recv (default): listens on zcrxd's socket (SOCKET, BIND, LISTEN),
// accepts with one multishot ACCEPT, arms a multishot RECV_ZC on each
// connection, checks every byte against tests/tools/tcp_pattern.h (the
// stream tcp_peer sends: the connection index from its first 8 bytes),
// refills every buffer, and closes each socket at EOF (RECV_ZC res 0
// without F_MORE). Prints "LISTENING" once it listens.
// --mode send: REGISTER_TX, CONNECT to --peer A.B.C.D:PORT, SENDs stream 0
// of the pattern (--bytes) from the TX region, several SENDs in flight,
// SHUTDOWN(SHUT_WR), then waits for the peer's close (RECV_ZC EOF).
// Prints "RESULT {json}" at the end; exit 0 only when every connection
// moved exactly --bytes intact bytes.
//
// usage: itest_tcp_app [--mode recv|send] --socket PATH [--port P]
//          [--peer A.B.C.D:PORT] --bytes N [--conns K] [--queue Q]
//          [--area-mb M] [--timeout S]
#include <time.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "tcp_pattern.h"
#include "zcrx/client.h"
#include "zcrx/socket.h"

namespace {

using zcrx::uapi::io_uring_cqe32;

constexpr uint64_t kAcceptTag = 1;
constexpr uint64_t kRecvTag = 2ull << 32;  // | handle
constexpr uint64_t kCloseTag = 3ull << 32;

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Conn {
  uint64_t off = 0;  // stream bytes received
  uint8_t header[TCP_PATTERN_HEADER_BYTES] = {};
  uint64_t index = UINT64_MAX;  // its tcp_pattern connection, once known
  bool eof = false;
};

uint64_t parse_bytes(const char* s) {
  char* end = nullptr;
  uint64_t v = std::strtoull(s, &end, 10);
  if (*end == 'K') v <<= 10;
  else if (*end == 'M') v <<= 20;
  else if (*end == 'G') v <<= 30;
  return v;
}

int fail(const char* what, int err) {
  std::fprintf(stderr, "itest_tcp_app: %s: %s\n", what, std::strerror(-err));
  return 2;
}

// --mode send: one connection, the pattern's stream 0 from the TX region.
int run_send(zcrx::Ring& ring, zcrx::Ifq& ifq, uint32_t ip, uint16_t port, uint64_t want,
             double timeout) {
  constexpr size_t kRegion = 4u << 20;
  constexpr uint32_t kChunk = 256u << 10;  // per SEND
  constexpr uint32_t kSlots = kRegion / kChunk;
  constexpr uint64_t kConnectTag = 10, kSendTag = 11, kRecvTagS = 12, kShutTag = 13;
  if (int r = ring.register_tx_region(kRegion)) return fail("register tx region", r);
  const int s = ring.socket();
  if (s < 0) return fail("socket", s);
  zcrx::prep_connect(ring.get_sqe(), s, ip, port, kConnectTag);
  ring.submit();
  uint64_t queued = 0, sent = 0, errors = 0;
  uint32_t in_flight = 0, next_slot = 0;
  bool connected = false, shut = false, eof = false;
  std::string first_error;
  const double start = now_s();
  double t0 = 0;
  while (!eof && errors == 0 && now_s() - start < timeout) {
    if (connected) {
      while (in_flight < kSlots && queued < want) {
        const uint32_t n = static_cast<uint32_t>(want - queued < kChunk ? want - queued : kChunk);
        uint8_t* buf = ring.tx_region() + size_t{next_slot} * kChunk;
        tcp_pattern_fill(buf, n, 0, queued);
        zcrx::prep_send(ring.get_sqe(), s, buf, n, kSendTag);
        next_slot = (next_slot + 1) % kSlots;
        queued += n;
        in_flight++;
      }
      if (queued == want && in_flight == 0 && !shut) {
        zcrx::prep_shutdown(ring.get_sqe(), s, SHUT_WR, kShutTag);
        shut = true;
      }
      ring.submit();
    }
    const int r = ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 100 * 1000 * 1000);
    if (r == -ETIME) continue;
    if (r < 0) return fail("wait", r);
    ring.for_each_cqe(ifq, [&](const io_uring_cqe32& c) {
      const int32_t res = c.cqe.res;
      switch (c.cqe.user_data) {
        case kConnectTag:
          if (res < 0) {
            errors++;
            first_error = "connect " + std::to_string(res);
            return;
          }
          connected = true;
          t0 = now_s();
          // The peer's close arrives as EOF on a RECV_ZC.
          zcrx::prep_recv_zc(ring.get_sqe(), s, ifq.id(), 0, true, kRecvTagS);
          return;
        case kSendTag:
          in_flight--;
          if (res < 0) {
            errors++;
            first_error = "send " + std::to_string(res);
            return;
          }
          sent += static_cast<uint32_t>(res);
          return;
        case kShutTag:
          if (res < 0) {
            errors++;
            first_error = "shutdown " + std::to_string(res);
          }
          return;
        case kRecvTagS:
          if (res > 0) {
            ifq.refill(c);  // the peer sends nothing; refilled all the same
            return;
          }
          if (res < 0) {
            errors++;
            first_error = "recv " + std::to_string(res);
          }
          eof = !(c.cqe.flags & zcrx::uapi::kCqeFMore);
          return;
      }
    });
    ifq.flush_refills();
  }
  zcrx::prep_close(ring.get_sqe(), s, 0);
  ring.submit();
  const double el = (t0 ? now_s() - t0 : 0) + 1e-9;
  const bool ok = errors == 0 && eof && sent == want;
  std::printf("RESULT {\"connections\":%d,\"expected\":1,\"bytes\":%" PRIu64
              ",\"errors\":%" PRIu64 ",\"elapsed_s\":%.3f,\"gbit_s\":%.3f,\"error\":\"%s\"}\n",
              ok ? 1 : 0, sent, errors, el, static_cast<double>(sent) * 8 / el / 1e9,
              first_error.c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  uint16_t port = 5001;
  uint64_t want = 0;
  uint32_t conns = 1, queue = 0, area_mb = 64;
  double timeout = 120;
  std::string mode = "recv";
  uint32_t peer_ip = 0;
  uint16_t peer_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--socket") socket_path = v;
    else if (k == "--port") port = static_cast<uint16_t>(std::atoi(v));
    else if (k == "--bytes") want = parse_bytes(v);
    else if (k == "--conns") conns = static_cast<uint32_t>(std::atoi(v));
    else if (k == "--queue") queue = static_cast<uint32_t>(std::atoi(v));
    else if (k == "--area-mb") area_mb = static_cast<uint32_t>(std::atoi(v));
    else if (k == "--timeout") timeout = std::atof(v);
    else if (k == "--mode") mode = v;
    else if (k == "--peer") {
      const std::string a = v;
      const size_t colon = a.find(':');
      in_addr ia{};
      if (colon == std::string::npos || inet_pton(AF_INET, a.substr(0, colon).c_str(), &ia) != 1) {
        std::fprintf(stderr, "itest_tcp_app: --peer A.B.C.D:PORT\n");
        return 2;
      }
      peer_ip = ntohl(ia.s_addr);
      peer_port = static_cast<uint16_t>(std::atoi(a.c_str() + colon + 1));
    }
    else {
      std::fprintf(stderr, "itest_tcp_app: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  zcrx::Ring ring;
  if (int r = ring.connect(socket_path.empty() ? nullptr : socket_path.c_str()))
    return fail("connect", r);
  if (int r = ring.create(256, 4096)) return fail("create ring", r);
  zcrx::IfqParams p;
  p.queue = queue;
  p.area_len = size_t{area_mb} << 20;
  zcrx::Ifq* ifq = nullptr;
  if (int r = ring.register_ifq(p, &ifq); r < 0) return fail("register ifq", r);
  if (mode == "send") return run_send(ring, *ifq, peer_ip, peer_port, want, timeout);
  const int ls = ring.socket();
  if (ls < 0) return fail("socket", ls);
  if (int r = ring.bind(ls, 0, port)) return fail("bind", r);
  if (int r = ring.listen(ls, 64)) return fail("listen", r);
  zcrx::prep_accept(ring.get_sqe(), ls, true, kAcceptTag);
  ring.submit();
  std::printf("LISTENING %u\n", port);
  std::fflush(stdout);

  std::map<int, Conn> live;
  uint64_t bytes = 0, bad = 0, cqes = 0, errors = 0, short_conns = 0, done = 0;
  const double start = now_s();
  double first = 0;
  std::string first_error;
  while (done < conns && now_s() - start < timeout) {
    const int r = ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 100 * 1000 * 1000);
    if (r == -ETIME) {
      if (!ring.session_alive()) break;
      continue;
    }
    if (r < 0) return fail("wait", r);
    ring.for_each_cqe(*ifq, [&](const io_uring_cqe32& c) {
      const uint64_t ud = c.cqe.user_data;
      const bool more = c.cqe.flags & zcrx::uapi::kCqeFMore;
      if (ud == kAcceptTag) {
        if (c.cqe.res < 0) {
          errors++;
          first_error = "accept " + std::to_string(c.cqe.res);
          return;
        }
        const int h = c.cqe.res;
        live[h] = Conn{};
        if (!first) first = now_s();
        zcrx::prep_recv_zc(ring.get_sqe(), h, ifq->id(), 0, true, kRecvTag | uint32_t(h));
        if (!more) zcrx::prep_accept(ring.get_sqe(), ls, true, kAcceptTag);
        ring.submit();
        return;
      }
      if ((ud >> 32) == (kCloseTag >> 32)) return;
      const int h = static_cast<int>(ud & 0xffffffffu);
      auto it = live.find(h);
      if (it == live.end()) {
        errors++;
        return;
      }
      Conn& cn = it->second;
      if (c.cqe.res > 0) {
        const uint8_t* d = ifq->data(c);
        const uint32_t len = static_cast<uint32_t>(c.cqe.res);
        cqes++;
        if (!d) {
          errors++;
          return;
        }
        uint32_t at = 0;
        // The connection index: the stream's first 8 bytes, maybe split.
        while (cn.off + at < TCP_PATTERN_HEADER_BYTES && at < len) {
          cn.header[cn.off + at] = d[at];
          at++;
        }
        if (cn.index == UINT64_MAX && cn.off + at >= TCP_PATTERN_HEADER_BYTES) {
          cn.index = tcp_pattern_conn_of(cn.header);
          bad += tcp_pattern_count_mismatches(cn.header, TCP_PATTERN_HEADER_BYTES, cn.index, 0);
        }
        if (cn.index != UINT64_MAX && at < len)
          bad += tcp_pattern_count_mismatches(d + at, len - at, cn.index, cn.off + at);
        cn.off += len;
        bytes += len;
        ifq->refill(c);
        if (!more) {
          // A limit or a lost arm: receive on.
          zcrx::prep_recv_zc(ring.get_sqe(), h, ifq->id(), 0, true, ud);
          ring.submit();
        }
        return;
      }
      // Final CQE: EOF (0) or an error.
      if (c.cqe.res < 0) {
        errors++;
        if (first_error.empty()) first_error = "recv " + std::to_string(c.cqe.res);
      } else if (cn.off != want) {
        short_conns++;
      }
      done++;
      zcrx::prep_close(ring.get_sqe(), h, kCloseTag | uint32_t(h));
      ring.submit();
      live.erase(it);
    });
    ifq->flush_refills();
  }
  const double el = (first ? now_s() - first : 0) + 1e-9;
  const bool ok = done == conns && bad == 0 && errors == 0 && short_conns == 0;
  std::printf("RESULT {\"connections\":%" PRIu64 ",\"expected\":%u,\"bytes\":%" PRIu64
              ",\"bad_bytes\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"short\":%" PRIu64
              ",\"cqes\":%" PRIu64 ",\"elapsed_s\":%.3f,\"gbit_s\":%.3f,\"error\":\"%s\"}\n",
              done, conns, bytes, bad, errors, short_conns, cqes, el,
              static_cast<double>(bytes) * 8 / el / 1e9, first_error.c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}
