// SPDX-License-Identifier: MIT
#include "fault_killer.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "fault_master.h"
#include "zcrx/proto.h"

namespace itest::fault {

namespace {

namespace proto = zcrx::proto;

constexpr uint16_t kFirstQ0Port = 9001;  // clones/importers of the master: 9001..9008
constexpr uint16_t kQ0Ports = 8;
constexpr uint16_t kRootPort = 9100;     // queue 1: registrant / family root
constexpr uint16_t kFamilyClonePort = 9101;
constexpr uint16_t kFamilyImportPort = 9102;
constexpr size_t kMaxQ0Lives = 4;
// A registrant retries -EEXIST for up to 5 s: a life that has not reached
// its step by then is killed where it is (and counted as such).
constexpr int64_t kLifeTimeoutNs = 7'000'000'000;
constexpr int64_t kPumpNs = 50'000'000;

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// In a fresh child: only stdio, the status socket and the source fd stay,
// as in a process that was handed just those.
void close_all_except(int a, int b) {
  std::vector<int> fds;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      int fd = std::atoi(e->d_name);
      if (fd > 2 && fd != a && fd != b && fd != dirfd(d)) fds.push_back(fd);
    }
    closedir(d);
  }
  for (int fd : fds) close(fd);
}

const char* stage_name(char last) {
  switch (last) {
    case 0: return "starting";
    case kMarkRing: return "setting-up";
    case kMarkSetUp: return "set-up";
    case kMarkExported: return "just-exported";
    case kMarkArmed: return "receiving";
    case kMarkHolding: return "holding";
    case kMarkRefilling: return "mid-refill";
    case kMarkSetupFailed: return "setup-failed";
  }
  return "?";
}

// The window (microseconds) after a step within which the kill falls.
uint64_t below(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

int64_t window_us(char target, bool queue1) {
  switch (target) {
    case 0: return 3000;                        // connect, create, maybe set up
    case kMarkRing: return queue1 ? 80000 : 20000;  // the setup in flight (typical: 50 / 15 ms)
    case kMarkSetUp: return 300;
    case kMarkExported: return 300;
    case kMarkArmed: return 40000;              // receiving
    case kMarkHolding: return 2000;
    case kMarkRefilling: return 1500;           // the slow refill takes ~1 ms
  }
  return 0;
}

}  // namespace

struct Killer::Proc {
  std::mt19937_64 rng;  // its life's own draws (a family's kids: from the root's)
  pid_t pid = -1;
  int status = -1;
  LifePlan plan;
  char target = 0;     // the step to kill at; 0: counted from the fork
  int64_t delay_ns = 0;
  int64_t born = 0;
  int64_t kill_at = 0;  // 0: the step has not come yet
  int64_t ring_at = 0;
  char last = 0;        // the last step it reported
  bool reached = false;
};

Killer::Killer(const std::string& socket, Master& master, uint64_t seed)
    : socket_(socket), master_(master), seed_(seed) {
  for (uint16_t i = 0; i < kQ0Ports; i++) free_ports_.push_back(kFirstQ0Port + i);
}

Killer::~Killer() {
  while (!procs_.empty()) kill_and_reap(*procs_.front());
}

void Killer::launch_life() {
  const bool q1_busy = std::any_of(procs_.begin(), procs_.end(),
                                   [](const Proc* p) { return role_queue(p->plan.role) == 1; });
  const size_t q0 = static_cast<size_t>(std::count_if(
      procs_.begin(), procs_.end(), [](const Proc* p) { return role_queue(p->plan.role) == 0; }));
  if (q1_busy && (q0 >= kMaxQ0Lives || free_ports_.empty())) return;
  // Each life draws from a generator of its own, seeded by the seed and
  // its number: which slot it gets follows the timing, what it does not.
  std::mt19937_64 rng(seed_ ^ (0x9e3779b97f4a7c15ull * ++lives_));
  LifePlan plan;
  if (!q1_busy) {
    plan.role = below(rng, 2) ? Role::kRegister : Role::kFamilyRoot;
    plan.port = kRootPort;
  } else {
    plan.role = below(rng, 2) ? Role::kCloneMaster : Role::kImportMaster;
    plan.port = free_ports_.back();
    free_ports_.pop_back();
  }
  plan.behaviour = static_cast<Behaviour>(below(rng, 3));
  plan.hold = 8 + static_cast<uint32_t>(below(rng, 57));
  if (plan.role == Role::kCloneMaster) {
    plan.src_fd = master_.ring_fd();
    plan.src_id = static_cast<uint32_t>(master_.id());
  } else if (plan.role == Role::kImportMaster) {
    plan.src_fd = master_.export_fd();
    if (plan.src_fd < 0) {
      // An export refused here would be zcrxd keeping dead boxes.
      tally_.setup_failures++;
      tally_.failures[plan.src_fd]++;
      if (tally_.first_problem.empty())
        tally_.first_problem = "the master's export failed: " + std::to_string(plan.src_fd);
      free_ports_.push_back(plan.port);
      return;
    }
  }
  spawn(plan, rng);
  if (plan.role == Role::kImportMaster) close(plan.src_fd);
}

void Killer::spawn(const LifePlan& plan, const std::mt19937_64& rng) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) return;
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close_all_except(sv[1], plan.src_fd);
    run_life(socket_, plan, sv[1]);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return;
  }
  Proc* p = new Proc;
  p->rng = rng;
  p->pid = pid;
  p->status = sv[0];
  p->plan = plan;
  p->born = now_ns();
  plan_kill(*p);
  procs_.push_back(p);
}

void Killer::plan_kill(Proc& p) {
  std::vector<char> steps = {0, kMarkRing, kMarkSetUp, kMarkArmed};
  if (p.plan.role == Role::kFamilyRoot) steps.push_back(kMarkExported);
  if (p.plan.behaviour == Behaviour::kHold) steps.push_back(kMarkHolding);
  if (p.plan.behaviour == Behaviour::kMidRefill) steps.push_back(kMarkRefilling);
  p.target = steps[below(p.rng, steps.size())];
  // Roots are few (one life in four or five): kill half of them right
  // after their export, the moment their clone and importer start.
  if (p.plan.role == Role::kFamilyRoot && below(p.rng, 2) == 0) p.target = kMarkExported;
  const int64_t w = window_us(p.target, role_queue(p.plan.role) == 1);
  p.delay_ns = static_cast<int64_t>(below(p.rng, static_cast<uint64_t>(w) * 1000 + 1));
  if (p.target == 0) p.kill_at = p.born + p.delay_ns;
}

void Killer::spawn_family(Proc& root, int ring_fd, int export_fd, uint32_t id) {
  LifePlan clone;
  clone.role = Role::kFamilyClone;
  clone.port = kFamilyClonePort;
  clone.src_fd = ring_fd;
  clone.src_id = id;
  LifePlan imp;
  imp.role = Role::kFamilyImport;
  imp.port = kFamilyImportPort;
  imp.src_fd = export_fd;
  for (LifePlan* k : {&clone, &imp}) {
    std::mt19937_64 rng(root.rng());
    k->behaviour = static_cast<Behaviour>(below(rng, 3));
    k->hold = 8 + static_cast<uint32_t>(below(rng, 57));
    spawn(*k, rng);
  }
  close(ring_fd);
  close(export_fd);
}

void Killer::on_report(Proc& p, const Report& r, int* fds, unsigned nfds) {
  const int64_t t = now_ns();
  auto problem = [&](const std::string& what) {
    if (tally_.first_problem.empty())
      tally_.first_problem = std::string(role_name(p.plan.role)) + " pid " +
                             std::to_string(p.pid) + ": " + what;
  };
  switch (r.mark) {
    case kMarkBadPayload:
      tally_.bad_payloads++;
      problem("a payload off the pattern (seq low bits " + std::to_string(r.value) + ")");
      return;
    case kMarkBadOffset:
      tally_.bad_offsets++;
      problem("a CQE outside its area");
      return;
    case kMarkErrorCqe:
      tally_.error_cqes++;
      return;
    case kMarkSetupFailed:
      tally_.setup_failures++;
      tally_.failures[r.value]++;
      p.kill_at = t;  // nothing more will happen in it
      break;
    case kMarkRing: p.ring_at = t; break;
    case kMarkSetUp: {
      tally_.setups++;
      const int q = static_cast<int>(role_queue(p.plan.role));
      const uint64_t us = static_cast<uint64_t>(t - p.ring_at) / 1000;
      tally_.setup_us_sum[q] += us;
      tally_.setup_us_max[q] = std::max(tally_.setup_us_max[q], us);
      tally_.setup_count[q]++;
      break;
    }
    case kMarkExported:
      if (nfds == 2) spawn_family(p, fds[0], fds[1], static_cast<uint32_t>(r.value));
      break;
    default: break;
  }
  p.last = r.mark;
  if (r.mark == p.target && !p.reached) {
    p.reached = true;
    if (!p.kill_at) p.kill_at = t + p.delay_ns;
  }
}

// Reads every report waiting on p's socket; false once it is closed.
void Killer::drain_reports(Proc& p) {
  for (;;) {
    Report r{};
    proto::RecvdMsg m;
    int rc = proto::recv_msg(p.status, &r, sizeof(r), m, proto::kMaxFds, MSG_DONTWAIT);
    if (rc != 0 || m.len == 0) {
      if (rc == 0 && !p.kill_at) p.kill_at = now_ns();  // gone by itself
      return;
    }
    if (m.len == sizeof(r)) on_report(p, r, m.fds, m.nfds);
    else proto::close_fds(m);
  }
}

void Killer::kill_and_reap(Proc& p) {
  kill(p.pid, SIGKILL);
  int st = 0;
  waitpid(p.pid, &st, 0);
  drain_reports(p);  // what it said before it died (a root's export included)
  close(p.status);
  const char* stage = stage_name(p.last);
  tally_.kills++;
  tally_.by_stage[std::string(role_name(p.plan.role)) + "/" + stage]++;
  tally_.stage_totals[stage]++;
  if (p.target != 0 && !p.reached && p.last != kMarkSetupFailed) tally_.targets_missed++;
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
    tally_.own_deaths++;
    if (tally_.first_problem.empty())
      tally_.first_problem = std::string(role_name(p.plan.role)) + " pid " +
                             std::to_string(p.pid) + " ended by itself, status " +
                             std::to_string(st) + " after step " + stage;
  }
  if (p.plan.role == Role::kCloneMaster || p.plan.role == Role::kImportMaster)
    free_ports_.push_back(p.plan.port);
  procs_.erase(std::find(procs_.begin(), procs_.end(), &p));
  delete &p;
}

int64_t Killer::next_deadline() const {
  int64_t t = now_ns() + kPumpNs;
  for (const Proc* p : procs_) t = std::min(t, p->kill_at ? p->kill_at : p->born + kLifeTimeoutNs);
  return t;
}

void Killer::wait_events(int64_t until_ns) {
  const std::vector<Proc*> polled = procs_;  // reports may spawn more
  std::vector<pollfd> pfds;
  for (const Proc* p : polled) pfds.push_back({p->status, POLLIN, 0});
  const int64_t left = std::max<int64_t>(0, until_ns - now_ns());
  timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
  if (ppoll(pfds.data(), pfds.size(), &ts, nullptr) <= 0) return;
  for (size_t i = 0; i < pfds.size(); i++)
    if (pfds[i].revents) drain_reports(*polled[i]);
}

void Killer::run_batch(uint64_t kills, const std::function<void()>& pump) {
  const uint64_t goal = tally_.kills + kills;
  int64_t next_pump = 0;
  for (;;) {
    for (size_t before = procs_.size() + 1; tally_.kills + procs_.size() < goal &&
                                            procs_.size() != before;) {
      before = procs_.size();
      launch_life();
    }
    if (procs_.empty()) break;  // the goal is met (or nothing can be started)
    wait_events(next_deadline());
    const int64_t t = now_ns();
    const std::vector<Proc*> due = procs_;
    for (Proc* p : due)
      if ((p->kill_at && t >= p->kill_at) || t >= p->born + kLifeTimeoutNs) kill_and_reap(*p);
    if (t >= next_pump) {
      pump();
      next_pump = t + kPumpNs;
    }
  }
}

}  // namespace itest::fault
