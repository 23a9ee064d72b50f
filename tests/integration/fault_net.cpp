// SPDX-License-Identifier: MIT
#include "fault_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "consumer.h"
#include "zcrx/pattern.h"

namespace itest::fault {

namespace {

constexpr const char* kLocalAddr = "10.99.0.1";
constexpr const char* kPeerAddr = "10.99.0.2";
constexpr const char* kPeerMac = "02:00:00:00:0b:0b";

// Runs `cmd` through the shell; on failure *why says which and what it printed.
bool run_cmd(const std::string& cmd, std::string* why) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    *why = cmd + ": popen: " + std::strerror(errno);
    return false;
  }
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof(buf), p)) out += buf;
  int rc = pclose(p);
  if (rc == 0) return true;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  *why = "`" + cmd + "` failed (status " + std::to_string(rc) + "): " + out;
  return false;
}

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void sleep_until_ns(int64_t t) {
  timespec ts{static_cast<time_t>(t / 1'000'000'000), static_cast<long>(t % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {}
}

// The sender process's control: 'p' pauses (answered with the last
// sequence number sent), then 'r' resumes; EOF or 'q' ends it. Returns
// false when it should end.
bool serve_control(int ctl, uint64_t last_sent) {
  char c = 0;
  ssize_t r = recv(ctl, &c, 1, MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (r <= 0 || c == 'q') return false;
  if (c != 'p') return true;
  if (send(ctl, &last_sent, sizeof(last_sent), MSG_NOSIGNAL) != sizeof(last_sent)) return false;
  do {
    r = recv(ctl, &c, 1, 0);
  } while (r < 0 && errno == EINTR);
  return r == 1 && c == 'r';
}

[[noreturn]] void sender_main(int ctl, const std::vector<UdpFlow>& flows, uint32_t size,
                              uint32_t pps) {
  const int64_t gap = 1'000'000'000 / pps;
  uint64_t seq = 1;
  size_t next = 0;
  int64_t due = now_ns();
  while (serve_control(ctl, seq - 1)) {
    const int64_t t = now_ns();
    if (t - due > 50'000'000) due = t;  // descheduled: resume the pace, no burst
    if (due > t) sleep_until_ns(due);
    if (!send_pattern(flows[next], seq, size)) {
      usleep(1000);  // ENOBUFS and the like: the same datagram again
      continue;
    }
    seq++;
    next = (next + 1) % flows.size();
    due += gap;
  }
  _exit(0);
}

}  // namespace

bool enter_veth_netns(std::string* why) {
  if (unshare(CLONE_NEWNET) != 0) {
    *why = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    return false;
  }
  const std::string mac = kPeerMac;
  for (const std::string& cmd :
       {std::string("ip link set lo up"), std::string("ip link add va type veth peer name vb"),
        "ip link set vb address " + mac, std::string("ip link set va up"),
        std::string("ip link set vb up"), std::string("ip addr add 10.99.0.1/24 dev va"),
        // The kernel completes UDP checksums itself: zcrxd drops datagrams
        // whose checksum a local sender left to (veth) offload, as the
        // PMD cannot tell them apart from damaged ones.
        std::string("ethtool -K va tx off"),
        "ip neigh replace " + std::string(kPeerAddr) + " lladdr " + mac +
            " dev va nud permanent"})
    if (!run_cmd(cmd, why)) return false;
  return true;
}

int open_udp_flow(uint16_t sport, uint16_t dport, UdpFlow* out) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(sport);
  inet_pton(AF_INET, kLocalAddr, &a.sin_addr);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    int e = -errno;
    close(s);
    return e;
  }
  out->sock = s;
  out->sport = sport;
  out->dport = dport;
  return 0;
}

void close_udp_flow(UdpFlow& f) {
  if (f.sock >= 0) close(f.sock);
  f.sock = -1;
}

bool send_pattern(const UdpFlow& f, uint64_t seq, uint32_t size) {
  uint8_t buf[2048];
  if (size > sizeof(buf)) return false;
  zcrx::pattern::fill(buf, size, seq);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.dport);
  inet_pton(AF_INET, kPeerAddr, &a.sin_addr);
  return sendto(f.sock, buf, size, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)) ==
         static_cast<ssize_t>(size);
}

namespace {

constexpr uint64_t kProbeSeqBase = 1'000'000'000;

// The pattern sequence number of the UDP payload of a raw IPv4 frame, or 0.
uint64_t frame_seq(const uint8_t* p, size_t len) {
  if (len < 14 + 20 + 8 + 8 || p[12] != 0x08 || p[13] != 0x00) return 0;
  const size_t ihl = (p[14] & 0x0f) * 4u;
  if (p[14 + 9] != 17 || len < 14 + ihl + 8 + 8) return 0;
  const size_t at = 14 + ihl + 8;
  return zcrx::pattern::seq_of(p + at, len - at);
}

}  // namespace

std::vector<int> probe_queues(const std::string& socket, const std::vector<UdpFlow>& flows,
                              int nqueues) {
  std::vector<int> where(flows.size(), -1);
  std::vector<std::unique_ptr<zcrx::Ring>> rings;
  std::vector<zcrx::Ifq*> ifqs;
  for (int q = 0; q < nqueues; q++) {
    rings.push_back(std::make_unique<zcrx::Ring>());
    zcrx::Ifq* ifq = nullptr;
    int id = setup_master(*rings.back(), socket.c_str(), &ifq, 4096, 4, static_cast<uint32_t>(q));
    if (id < 0 || arm_raw(*rings.back(), static_cast<uint32_t>(id), 1) < 0 ||
        wait_sq_taken(*rings.back(), 2, 10000, [](const zcrx::uapi::io_uring_cqe32&) {}))
      return {};
    ifqs.push_back(ifq);
  }
  for (size_t i = 0; i < flows.size(); i++) send_pattern(flows[i], kProbeSeqBase + i, 64);
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < end) {
    for (int q = 0; q < nqueues; q++) {
      zcrx::Ring& r = *rings[static_cast<size_t>(q)];
      zcrx::Ifq* ifq = ifqs[static_cast<size_t>(q)];
      r.for_each_cqe([&](const zcrx::uapi::io_uring_cqe32& c) {
        if (c.cqe.res <= 0) return;
        const uint8_t* p = ifq->data(c);
        uint64_t seq = p ? frame_seq(p, static_cast<size_t>(c.cqe.res)) : 0;
        if (seq >= kProbeSeqBase && seq < kProbeSeqBase + flows.size())
          where[seq - kProbeSeqBase] = q;
        ifq->refill(c);
      });
      ifq->flush_refills();
    }
    usleep(1000);
  }
  return where;
}

Sender::Sender(const std::vector<UdpFlow>& flows, uint32_t size, uint32_t pps) {
  int sv[2];
  if (flows.empty() || pps == 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
    return;
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(sv[0]);
    sender_main(sv[1], flows, size, pps);
  }
  close(sv[1]);
  if (pid_ < 0) {
    close(sv[0]);
    return;
  }
  ctl_ = sv[0];
}

Sender::~Sender() {
  if (pid_ <= 0) return;
  close(ctl_);  // EOF: the sender ends, paused or not
  int st = 0;
  waitpid(pid_, &st, 0);
}

uint64_t Sender::pause() {
  uint64_t last = 0;
  if (send(ctl_, "p", 1, MSG_NOSIGNAL) != 1) return 0;
  if (recv(ctl_, &last, sizeof(last), 0) != sizeof(last)) return 0;
  return last;
}

void Sender::resume() {
  if (send(ctl_, "r", 1, MSG_NOSIGNAL) != 1) {}
}

}  // namespace itest::fault
