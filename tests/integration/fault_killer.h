// SPDX-License-Identifier: MIT
// The fault loop's scheduler: keeps consumer lives (fault_life.h) running
// side by side, one on queue 1 (a registrant, or a family: a registrant
// that exports and is cloned and imported by two more processes) and up to
// four clones/importers of the master on queue 0, and SIGKILLs each
// process at a step of its life drawn from the seed (plus a random delay
// from that step), reaping it and tallying where it was.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fault_life.h"

namespace itest::fault {

class Master;

/// Where the killed processes were, and what they found.
struct Tally {
  uint64_t kills = 0;
  std::map<std::string, uint64_t> by_stage;       // "register/holding" -> count
  std::map<std::string, uint64_t> stage_totals;   // "holding" -> count
  uint64_t targets_missed = 0;   // killed at the life timeout before the drawn step
  uint64_t bad_payloads = 0;     // consumers that saw a byte off the pattern
  uint64_t bad_offsets = 0;      // consumers that got a CQE outside their area
  uint64_t error_cqes = 0;       // consumers with an error CQE (a killed source, ...)
  uint64_t own_deaths = 0;       // processes that died before being killed
  uint64_t setups = 0;           // registrations/clones/imports that succeeded
  uint64_t setup_failures = 0;   // and those that did not (errno in failures)
  std::map<int, uint64_t> failures;
  // Ring created to set up, per queue (microseconds): sum and maximum.
  uint64_t setup_us_sum[2] = {0, 0};
  uint64_t setup_us_max[2] = {0, 0};
  uint64_t setup_count[2] = {0, 0};
  std::string first_problem;     // the first own death or bad CQE, described
};

class Killer {
 public:
  /// Lives connect to zcrxd at `socket`; clones and importers of `master`.
  Killer(const std::string& socket, Master& master, uint64_t seed);
  ~Killer();

  /// Runs lives until `kills` more processes were SIGKILLed (a family may
  /// take it a little past) and none is left; `pump` runs every ~50 ms
  /// (zcrxd's output must be read while it prints).
  void run_batch(uint64_t kills, const std::function<void()>& pump);
  const Tally& tally() const { return tally_; }

 private:
  struct Proc;
  void launch_life();
  void spawn(const LifePlan& plan, const std::mt19937_64& rng);
  void plan_kill(Proc& p);
  void on_report(Proc& p, const Report& r, int* fds, unsigned nfds);
  void spawn_family(Proc& root, int ring_fd, int export_fd, uint32_t id);
  void kill_and_reap(Proc& p);
  void drain_reports(Proc& p);
  void wait_events(int64_t until_ns);
  int64_t next_deadline() const;

  std::string socket_;
  Master& master_;
  uint64_t seed_;
  uint64_t lives_ = 0;
  std::vector<Proc*> procs_;  // alive
  std::vector<uint16_t> free_ports_;
  Tally tally_;
};

}  // namespace itest::fault
