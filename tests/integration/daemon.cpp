// SPDX-License-Identifier: MIT
#include "daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace itest {

namespace {

std::atomic<int> g_instance{0};

struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "/tmp/zcrxd-itest-XXXXXX";
    if (mkdtemp(tmpl)) dir = tmpl;
  }
  ~Scratch() {
    if (!dir.empty()) {
      std::string cmd = "rm -rf '" + dir + "'";
      if (std::system(cmd.c_str())) {}
    }
  }
};

}  // namespace

std::string env_path(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string scratch_dir() {
  static Scratch s;
  return s.dir;
}

bool make_pcap(const std::string& path, uint64_t count, uint32_t payload,
               const std::string& ports, const std::vector<std::string>& extra) {
  std::string cmd = env_path("PCAP_GEN") + " --out '" + path + "' --count " +
                    std::to_string(count) + " --size " + std::to_string(payload) +
                    " --ports " + ports;
  for (auto& e : extra) cmd += " " + e;
  cmd += " >/dev/null";
  return std::system(cmd.c_str()) == 0;
}

std::string pcap_vdev(const std::vector<std::string>& rx_files, bool infinite) {
  std::string vdev = "net_pcap0";
  for (auto& f : rx_files) vdev += ",rx_pcap=" + f;
  return infinite ? vdev + ",infinite_rx=1" : vdev;
}

Daemon::Daemon(const std::string& vdev, const std::vector<std::string>& opts) {
  int n = g_instance++;
  std::string prefix = "zit" + std::to_string(getpid()) + "_" + std::to_string(n);
  prefix_ = prefix;
  socket_ = scratch_dir() + "/" + prefix + ".sock";
  std::vector<std::string> args = {env_path("ZCRXD"), "--no-huge", "-m", "256",
                                   "--no-pci", "--no-telemetry", "--file-prefix", prefix,
                                   "-l", "0", "--log-level", "lib.eal:error",
                                   "--vdev", vdev, "--", "--socket", socket_};
  for (auto& o : opts) args.push_back(o);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    // A crashed test must not leave zcrxd running (and holding the test
    // runner's stderr open).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(p[1], 1);
    dup2(p[1], 2);  // refusals and errors are logged on stderr
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(p[1]);
  out_fd_ = p[0];
  read_until("zcrxd: ready", 30000);
  ready_ = out_.find("zcrxd: ready") != std::string::npos;
}

Daemon::~Daemon() {
  if (pid_ > 0) stop();
  if (out_fd_ >= 0) close(out_fd_);
}

void Daemon::read_until(const char* needle, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out_.find(needle) == std::string::npos) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    end - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) return;
    pollfd pfd{out_fd_, POLLIN, 0};
    if (poll(&pfd, 1, left) <= 0) return;
    char buf[4096];
    ssize_t r = read(out_fd_, buf, sizeof(buf));
    if (r <= 0) return;
    out_.append(buf, static_cast<size_t>(r));
  }
}

bool Daemon::wait_output(int ms, const char* needle) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  const size_t from = out_.size();
  for (;;) {
    if (needle && out_.find(needle, from) != std::string::npos) return true;
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    end - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) return needle == nullptr;
    pollfd pfd{out_fd_, POLLIN, 0};
    if (poll(&pfd, 1, left) <= 0) continue;
    char buf[4096];
    ssize_t r = read(out_fd_, buf, sizeof(buf));
    if (r <= 0) return false;
    out_.append(buf, static_cast<size_t>(r));
  }
}

int Daemon::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGINT);
  read_until("zcrxd: exit", 20000);
  int status = 0;
  int rc = -1;
  for (int i = 0; i < 200; i++) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    usleep(100000);
  }
  if (rc == -1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  size_t e = out_.rfind("zcrxd: exit ");
  if (e != std::string::npos) {
    unsigned long long o = 0;
    long long m = 0;
    if (std::sscanf(out_.c_str() + e, "zcrxd: exit outstanding=%llu missing=%lld", &o, &m) == 2) {
      exit_outstanding_ = o;
      exit_missing_ = m;
    }
  }
  return rc;
}

uint64_t Daemon::final_counter(const std::string& name) const {
  // The prefix ends with " rx=", which line_counter finds as key "rx" too.
  return line_counter("zcrxd: final rx=", name);
}

uint64_t Daemon::line_counter(const std::string& prefix, const std::string& key) const {
  size_t at = out_.rfind(prefix);
  if (at == std::string::npos) return UINT64_MAX;
  std::string line = out_.substr(at, out_.find('\n', at) - at);
  size_t k = line.find(" " + key + "=");
  if (k == std::string::npos) return UINT64_MAX;
  return std::strtoull(line.c_str() + k + key.size() + 2, nullptr, 10);
}

}  // namespace itest
