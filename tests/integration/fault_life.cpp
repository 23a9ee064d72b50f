// SPDX-License-Identifier: MIT
#include "fault_life.h"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "consumer.h"
#include "zcrx/client.h"
#include "zcrx/pattern.h"
#include "zcrx/proto.h"

namespace itest::fault {

const char* role_name(Role r) {
  switch (r) {
    case Role::kRegister: return "register";
    case Role::kCloneMaster: return "clone";
    case Role::kImportMaster: return "import";
    case Role::kFamilyRoot: return "family-root";
    case Role::kFamilyClone: return "family-clone";
    case Role::kFamilyImport: return "family-import";
  }
  return "?";
}

namespace {

using zcrx::uapi::io_uring_cqe32;

constexpr uint64_t kUserData = 1;
constexpr uint32_t kCqEntries = 256;     // an idle holder pins at most this many more
constexpr uint32_t kRqEntries = 256;
constexpr size_t kAreaBytes = 4u << 20;  // registrants: 1024 buffers

void report(int status, char mark, int32_t value = 0, const int* fds = nullptr,
            unsigned nfds = 0) {
  Report r{mark, value};
  zcrx::proto::send_msg(status, &r, sizeof(r), fds, nfds);
}

[[noreturn]] void wait_for_kill() {
  for (;;) pause();
}

void spin_us(int us) {
  timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do {
    clock_gettime(CLOCK_MONOTONIC, &b);
  } while ((b.tv_sec - a.tv_sec) * 1'000'000'000 + (b.tv_nsec - a.tv_nsec) < us * 1000L);
}

// Queue 1 may still be bound to a life killed a moment ago (its session's
// close is zcrxd's to notice): -EEXIST is retried for up to 5 s.
int register_on_queue1(zcrx::Ring& ring, zcrx::Ifq** ifq) {
  zcrx::IfqParams p;
  p.queue = 1;
  p.area_len = kAreaBytes;
  p.rq_entries = kRqEntries;
  int id = -EEXIST;
  for (int i = 0; i < 2500 && id == -EEXIST; i++) {
    id = ring.register_ifq(p, ifq);
    if (id == -EEXIST) usleep(2000);
  }
  return id;
}

int set_up(zcrx::Ring& ring, const LifePlan& plan, zcrx::Ifq** ifq) {
  int id = -EINVAL;
  switch (plan.role) {
    case Role::kRegister:
    case Role::kFamilyRoot: id = register_on_queue1(ring, ifq); break;
    case Role::kCloneMaster:
    case Role::kFamilyClone: id = ring.clone_ifq(plan.src_fd, plan.src_id, kRqEntries, ifq); break;
    case Role::kImportMaster:
    case Role::kFamilyImport: id = ring.import_ifq(plan.src_fd, ifq); break;
  }
  if (plan.src_fd >= 0) close(plan.src_fd);  // nothing of the source outlives the setup
  return id;
}

// Reaps what is ready, checks every payload and passes each buffer to
// `take`. Findings are reported once per kind (a flood would only hide the
// first). False once the request ended (a CQE without F_MORE).
template <class Take>
bool reap(zcrx::Ring& ring, zcrx::Ifq& ifq, int status, uint32_t* reported, Take&& take) {
  bool alive = true;
  ring.wait_cqe(1, zcrx::WaitMode::adaptive, 5'000'000);
  ring.for_each_cqe([&](const io_uring_cqe32& c) {
    if (c.cqe.user_data != kUserData) return;
    auto once = [&](char mark, uint32_t bit, int32_t value) {
      if (!(*reported & bit)) report(status, mark, value);
      *reported |= bit;
    };
    if (c.cqe.res < 0 || !(c.cqe.flags & zcrx::uapi::kCqeFMore)) {
      once(kMarkErrorCqe, 1, c.cqe.res);
      alive = alive && (c.cqe.flags & zcrx::uapi::kCqeFMore);
      if (c.cqe.res <= 0) return;
    }
    if (c.cqe.res == 0) return;
    const uint8_t* p = ifq.data(c);
    if (!p) {
      once(kMarkBadOffset, 2, c.cqe.res);
      return;
    }
    const size_t len = static_cast<size_t>(c.cqe.res);
    if (zcrx::pattern::first_mismatch(p, len) != len)
      once(kMarkBadPayload, 4, static_cast<int32_t>(zcrx::pattern::seq_of(p, len)));
    take(c);
  });
  return alive;
}

[[noreturn]] void receive(zcrx::Ring& ring, zcrx::Ifq& ifq, const LifePlan& plan, int status) {
  uint32_t reported = 0;
  std::vector<io_uring_cqe32> held;
  held.reserve(kCqEntries + plan.hold);
  for (;;) {
    bool alive = reap(ring, ifq, status, &reported, [&](const io_uring_cqe32& c) {
      if (plan.behaviour == Behaviour::kSteady) ifq.refill(c);
      else held.push_back(c);
    });
    if (plan.behaviour == Behaviour::kSteady) ifq.flush_refills();
    if (!alive) wait_for_kill();
    if (held.size() < plan.hold) continue;
    if (plan.behaviour == Behaviour::kHold) {
      report(status, kMarkHolding, static_cast<int32_t>(held.size()));
      wait_for_kill();  // no more reaping: the CQ fills and zcrxd drops the rest
    }
    // Slowly, publishing every fourth: a kill lands between RQE writes
    // and tail stores as often as anywhere.
    report(status, kMarkRefilling, static_cast<int32_t>(held.size()));
    for (size_t i = 0; i < held.size(); i++) {
      ifq.refill(held[i]);
      if (i % 4 == 3) ifq.flush_refills();
      spin_us(15);
    }
    ifq.flush_refills();
    held.clear();
  }
}

}  // namespace

void run_life(const std::string& socket, const LifePlan& plan, int status) {
  zcrx::Ring ring;
  if (int rc = open_ring(ring, socket, kCqEntries)) {
    report(status, kMarkSetupFailed, rc);
    wait_for_kill();
  }
  if (int rc = ring.enable_eventfd()) {
    report(status, kMarkSetupFailed, rc);
    wait_for_kill();
  }
  report(status, kMarkRing);
  zcrx::Ifq* ifq = nullptr;
  const int id = set_up(ring, plan, &ifq);
  if (id < 0 || !ifq) {
    report(status, kMarkSetupFailed, id < 0 ? id : -EPROTO);
    wait_for_kill();
  }
  report(status, kMarkSetUp, id);
  if (plan.role == Role::kFamilyRoot) {
    const int exp = ring.export_ifq(static_cast<uint32_t>(id));
    if (exp < 0) {
      report(status, kMarkSetupFailed, exp);
      wait_for_kill();
    }
    const int fds[2] = {ring.ring_fd(), exp};
    report(status, kMarkExported, id, fds, 2);
    close(exp);
  }
  if (int rc = arm_udp(ring, static_cast<uint32_t>(id), plan.port, kUserData); rc < 0) {
    report(status, kMarkSetupFailed, rc);
    wait_for_kill();
  }
  report(status, kMarkArmed);
  receive(ring, *ifq, plan, status);
}

}  // namespace itest::fault
