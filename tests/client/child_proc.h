// SPDX-License-Identifier: MIT
// An example program run as a child process by a test: its stdout
// collected, its exit status, values of its RESULT {json} line.
#pragma once

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

extern "C" char** environ;

namespace child {

struct Proc {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
  std::string text;
  int status = -1;
  bool reaped = false;
  Proc() = default;
  Proc(Proc&& o) noexcept
      : pid(o.pid), out(o.out), text(std::move(o.text)), status(o.status), reaped(o.reaped) {
    o.pid = -1;
    o.out = -1;
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  // A test that failed half-way must not leave a child spinning.
  ~Proc() {
    if (pid > 0 && !reaped) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out >= 0) close(out);
  }
};

inline void spawn(Proc& p, const char* bin, std::vector<std::string> args) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  std::vector<char*> argv;
  args.insert(args.begin(), bin);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int r = posix_spawn(&p.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  REQUIRE_MESSAGE(r == 0, "cannot run ", std::string(argv[0]));
  p.out = fds[0];
}

/// Waits for exit (SIGKILL after `timeout_s`) and collects its stdout.
inline void finish(Proc& p, int timeout_s = 60) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  for (;;) {
    pollfd pf{p.out, POLLIN, 0};
    if (poll(&pf, 1, 100) > 0) {
      const ssize_t n = read(p.out, buf, sizeof(buf));
      if (n > 0) {
        p.text.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(p.pid, SIGKILL);
      break;
    }
  }
  close(p.out);
  p.out = -1;
  waitpid(p.pid, &p.status, 0);
  p.reaped = true;
}

inline int exit_code(const Proc& p) { return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : -1; }

/// The number after "key": in the RESULT line (-1 when absent).
inline long long result_value(const Proc& p, const char* key) {
  const size_t r = p.text.find("RESULT {");
  if (r == std::string::npos) return -1;
  const std::string k = std::string("\"") + key + "\":";
  const size_t at = p.text.find(k, r);
  if (at == std::string::npos) return -1;
  return std::atoll(p.text.c_str() + at + k.size());
}

}  // namespace child
