// SPDX-License-Identifier: MIT
// The fault loop: consumers SIGKILLed at random steps of their lives while a
// healthy master keeps receiving, batch after batch. After every batch
// zcrxd must be back where it was: every buffer returned or reclaimed, only
// the master's ring left, its descriptors, threads and memory flat; and the
// master must have received every datagram sent to it exactly once, byte
// for byte, without an error CQE.
//
// Why net_af_packet on a veth pair in a network namespace of the test's
// own: registrants need a queue of their own (queue 1; the master keeps
// queue 0), and af_packet with qpairs=2 is the one PMD here whose two
// queues carry real traffic that a restart loses nothing of. Binding an
// area to queue 1 restarts the port (no runtime queue setup on virtual
// PMDs), which pauses queue 0 too, but the kernel keeps queueing into the
// PACKET_RX_RING meanwhile (DPDK 22.11.11 keeps the sockets open across a
// stop), so the master must still see every datagram: a loss is zcrxd's.
// net_pcap replays its file on a restart (infinite_rx cannot restart at
// all), and net_ring/net_null have no second stream whose bytes mean
// anything. The kernel's flow hash (PACKET_FANOUT_HASH) picks each sender
// socket's queue, so the sockets are probed first and those that land where
// wanted kept.
// Rates are modest (3000 datagrams/s to the master, 6000/s to the others)
// so the two cores keep up while zcrxd's two datapaths spin on core 0.
//
// Environment (or --kills N --seed N --batch N): ZCRX_FAULT_KILLS (default
// 300; the long run uses 1000 or more), ZCRX_FAULT_SEED (default: from the
// clock, printed at the start; the n-th life's choices, its kind within its
// slot, how it receives, the step and delay of its kill, come from the seed
// and n, while which slot it gets and the exact moments follow the timing),
// ZCRX_FAULT_BATCH (default 30). SKIPs (77) when no network namespace or
// veth pair can be made.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "daemon.h"
#include "fault_killer.h"
#include "fault_master.h"
#include "fault_net.h"
#include "hostile_tools.h"

using namespace itest;
using namespace itest::fault;

namespace {

struct Config {
  uint64_t kills = 300;
  uint64_t seed = 0;
  uint64_t batch = 30;
};

Config& config() {
  static Config c;
  return c;
}

constexpr uint16_t kMasterPort = 9000;
constexpr uint32_t kMasterSize = 1000;
constexpr uint32_t kMasterPps = 3000;
constexpr uint32_t kSideSize = 512;
constexpr uint32_t kSidePps = 6000;
constexpr size_t kMasterAreaMb = 32;

// The flows the senders use, each probed to reach the queue it is for.
struct Flows {
  UdpFlow master;           // to kMasterPort, on queue 0
  std::vector<UdpFlow> side;  // to 9001..9008 on queue 0, 9100..9102 on queue 1
  std::string error;
};

Flows choose_flows(const std::string& socket) {
  struct Want {
    uint16_t dport;
    int queue;
  };
  std::vector<Want> wants = {{kMasterPort, 0}};
  for (uint16_t p = 9001; p <= 9008; p++) wants.push_back({p, 0});
  for (uint16_t p = 9100; p <= 9102; p++) wants.push_back({p, 1});
  constexpr uint16_t kTries = 16;  // 2^-16 odds that no source port lands right
  std::vector<UdpFlow> cands;
  Flows out;
  for (size_t w = 0; w < wants.size(); w++)
    for (uint16_t j = 0; j < kTries; j++) {
      UdpFlow f;
      const uint16_t sport = static_cast<uint16_t>(40000 + w * kTries + j);
      if (int rc = open_udp_flow(sport, wants[w].dport, &f)) {
        out.error = "UDP socket on port " + std::to_string(sport) + ": " + std::strerror(-rc);
        return out;
      }
      cands.push_back(f);
    }
  const std::vector<int> where = probe_queues(socket, cands, 2);
  if (where.empty()) out.error = "the probe rings could not register and arm";
  for (size_t w = 0; w < wants.size(); w++) {
    bool found = false;
    for (uint16_t j = 0; j < kTries; j++) {
      UdpFlow& f = cands[w * kTries + j];
      if (found || where.empty() || where[w * kTries + j] != wants[w].queue) {
        close_udp_flow(f);
        continue;
      }
      found = true;
      if (w == 0) out.master = f;
      else out.side.push_back(f);
    }
    if (!found && out.error.empty() && !where.empty())
      out.error = "no source port sent to UDP " + std::to_string(wants[w].dport) +
                  " reached queue " + std::to_string(wants[w].queue);
  }
  return out;
}

// zcrxd's resource figures, read while only the master is connected.
struct Figures {
  int fds = -1;
  long rss_kb = -1;
  long anon_kb = -1;
  long shmem_kb = -1;
  long threads = -1;
};

Figures figures(pid_t pid) {
  Figures f;
  f.fds = fd_count(pid);
  f.rss_kb = status_kb(pid, "VmRSS");
  f.anon_kb = status_kb(pid, "RssAnon");
  f.shmem_kb = status_kb(pid, "RssShmem");
  f.threads = status_kb(pid, "Threads");
  return f;
}

uint64_t key_of(const std::string& line, const char* key) {
  const std::string k = std::string(" ") + key + "=";
  size_t at = line.find(k);
  return at == std::string::npos ? UINT64_MAX : std::strtoull(line.c_str() + at + k.size(), nullptr, 10);
}

// The newest complete all-queue stats line printed at or after `from`.
std::string stats_line_after(const Daemon& d, size_t from) {
  const std::string& out = d.output();
  size_t at = out.rfind("zcrxd: stats rx=");
  if (at == std::string::npos || at < from) return "";
  size_t end = out.find('\n', at);
  return end == std::string::npos ? "" : out.substr(at, end - at);
}

// Waits (up to `ms`) for a stats line printed from now on that says every
// buffer is back (outstanding=0 over both queues) and only the master's
// ring and request are left. *line: the last such line seen.
bool wait_settled(Daemon& d, int ms, std::string* line) {
  const size_t from = d.output().size();
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    d.wait_output(200);
    std::string l = stats_line_after(d, from);
    if (l.empty()) continue;
    *line = l;
    if (key_of(l, "outstanding") == 0 && key_of(l, "rings") == 1 && key_of(l, "armed") == 1)
      return true;
  }
  return false;
}

void check_master(const MasterReport& r, uint64_t last) {
  CHECK(r.ok == 1);
  CAPTURE(last);
  CAPTURE(r.max_seq);
  CAPTURE(r.last_error);
  CAPTURE(r.first_missing[0]);
  CAPTURE(r.first_missing[1]);
  CAPTURE(r.first_missing[3]);
  CHECK(r.missing == 0);
  CHECK(r.duplicates == 0);
  CHECK(r.bad_payloads == 0);
  CHECK(r.bad_sizes == 0);
  CHECK(r.bad_offsets == 0);
  CHECK(r.error_cqes == 0);
  CHECK(r.refills_refused == 0);
  CHECK(r.cq_overflow == 0);
  CHECK(r.max_seq <= last);
  CHECK(r.distinct == last);
}

// How far zcrxd's figures at a quiet point may be above the first
// batch's. Descriptors and threads: not at all (at a quiet point zcrxd holds
// the same ones whatever died before; measured equal over 1000+ kills).
// Anonymous memory: 1 MiB for malloc's arenas growing in steps (measured:
// +12 KiB over 1000 kills); a leak of 4 KiB per kill passes it within 300
// kills. Resident memory also counts pages of shared memory zcrxd maps:
// 8 MiB, two 4 MiB registrant areas, since the area of the last registrant
// stays mapped until the next bind of queue 1 (docs/ARCHITECTURE.md,
// Several queues) and EAL heap pages are touched as pools for new areas
// land in new places (measured: +0.45 MiB over the first 300 kills, flat
// after); one registrant area leaked per batch passes it by the fourth.
constexpr int kFdSlack = 0;
constexpr long kAnonSlackKb = 1024;
constexpr long kRssSlackKb = 8192;

void check_flat(const Figures& base, const Figures& f) {
  CAPTURE(base.fds);
  CAPTURE(base.anon_kb);
  CAPTURE(base.rss_kb);
  CHECK(f.fds <= base.fds + kFdSlack);
  CHECK(f.threads == base.threads);
  CHECK(f.anon_kb <= base.anon_kb + kAnonSlackKb);
  CHECK(f.rss_kb <= base.rss_kb + kRssSlackKb);
}

// Kill batches; after each, the quiet point: the master gets everything
// sent so far, then zcrxd must show every buffer back and flat figures.
void run_batches(Daemon& d, Killer& killer, Master& master, Sender& stream) {
  const Config& cfg = config();
  auto pump = [&] { d.wait_output(1); };
  const uint64_t batches = (cfg.kills + cfg.batch - 1) / cfg.batch;
  Figures base;
  for (uint64_t b = 0; b < batches; b++) {
    const auto tb = std::chrono::steady_clock::now();
    killer.run_batch(cfg.batch, pump);
    const Tally& t = killer.tally();
    INFO("batch ", b + 1, ": ", t.first_problem);
    CHECK(t.bad_payloads == 0);
    CHECK(t.bad_offsets == 0);
    CHECK(t.own_deaths == 0);
    const uint64_t last = stream.pause();
    REQUIRE(last > 0);
    const MasterReport r = master.drain(last, 20000);
    check_master(r, last);
    std::string line;
    const bool settled = wait_settled(d, 20000, &line);
    INFO("stats: ", line);
    CHECK(settled);
    const Figures f = figures(d.pid());
    stream.resume();
    if (b == 0) base = f;
    check_flat(base, f);
    std::printf("fault loop: batch %" PRIu64 "/%" PRIu64 " kills=%" PRIu64 " master_verified=%"
                PRIu64 " fds=%d threads=%ld rss_kb=%ld anon_kb=%ld shmem_kb=%ld (%.1f s)\n",
                b + 1, batches, t.kills, r.distinct, f.fds, f.threads, f.rss_kb, f.anon_kb,
                f.shmem_kb,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - tb).count());
    std::fflush(stdout);
  }
}

void print_summary(const Tally& t, const MasterReport& m, double secs) {
  std::printf("fault loop: %" PRIu64 " kills in %.1f s; the master verified %" PRIu64
              " datagrams (%" PRIu64 " bytes) byte for byte: %" PRIu64 " duplicates, %" PRIu64
              " missing, %" PRIu64 " bad, %" PRIu64 " error CQEs\n",
              t.kills, secs, m.distinct, m.bytes, m.duplicates, m.missing,
              m.bad_payloads + m.bad_sizes + m.bad_offsets, m.error_cqes);
  std::printf("fault loop: killed while:");
  for (auto& [stage, n] : t.stage_totals) std::printf(" %s=%" PRIu64, stage.c_str(), n);
  std::printf("\nfault loop: by role:");
  for (auto& [k, n] : t.by_stage) std::printf(" %s=%" PRIu64, k.c_str(), n);
  std::printf("\nfault loop: setups=%" PRIu64 " (queue 0: %" PRIu64 ", mean %" PRIu64
              " us, max %" PRIu64 " us; queue 1: %" PRIu64 ", mean %" PRIu64 " us, max %" PRIu64
              " us) failed=%" PRIu64,
              t.setups, t.setup_count[0], t.setup_count[0] ? t.setup_us_sum[0] / t.setup_count[0] : 0,
              t.setup_us_max[0], t.setup_count[1],
              t.setup_count[1] ? t.setup_us_sum[1] / t.setup_count[1] : 0, t.setup_us_max[1],
              t.setup_failures);
  for (auto& [err, n] : t.failures) std::printf(" %s=%" PRIu64, std::strerror(-err), n);
  std::printf("\nfault loop: targets missed=%" PRIu64 " error CQEs at consumers=%" PRIu64 "\n",
              t.targets_missed, t.error_cqes);
  std::fflush(stdout);
}

// What zcrxd said besides its counters, each kind of line once with its
// count (digits dropped so that one kind is one line): refusals, errors.
void print_zcrxd_notes(const std::string& out) {
  std::map<std::string, uint64_t> kinds;
  size_t at = 0;
  while (at < out.size()) {
    size_t end = out.find('\n', at);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(at, end - at);
    at = end + 1;
    if (line.rfind("zcrxd: stats", 0) == 0 || line.rfind("zcrxd: final", 0) == 0) continue;
    std::string kind;
    for (char c : line)
      if (c < '0' || c > '9') kind += c;
    kinds[kind.substr(0, 100)]++;
  }
  for (auto& [kind, n] : kinds) std::printf("fault loop: zcrxd x%" PRIu64 ": %s\n", n, kind.c_str());
  std::fflush(stdout);
}

}  // namespace

TEST_CASE("fault loop: consumers SIGKILLed at random steps of their lives leave zcrxd with "
          "nothing outstanding, flat descriptors and memory, and the master undisturbed") {
  const Config& cfg = config();
  const auto t0 = std::chrono::steady_clock::now();
  Daemon d(std::string("net_af_packet0,iface=") + kIface + ",framecnt=4096,qpairs=2",
           {"--queue", "0,1", "--stats", "1"});
  REQUIRE(d.ready());
  Tally tally;
  MasterReport fin;
  {
    Flows flows = choose_flows(d.socket());
    INFO(flows.error);
    REQUIRE(flows.error.empty());
    Master master(d.socket(), kMasterPort, kMasterSize, kMasterAreaMb);
    REQUIRE(master.id() >= 0);
    Sender stream({flows.master}, kMasterSize, kMasterPps);
    // Registrants live shortest: their port gets three turns in the round.
    std::vector<UdpFlow> turns = flows.side;
    for (const UdpFlow& f : flows.side)
      if (f.dport == 9100) turns.insert(turns.end(), 2, f);
    Sender side(turns, kSideSize, kSidePps);
    REQUIRE(stream.ok());
    REQUIRE(side.ok());
    close_udp_flow(flows.master);  // the senders have theirs
    for (UdpFlow& f : flows.side) close_udp_flow(f);
    Killer killer(d.socket(), master, cfg.seed);
    run_batches(d, killer, master, stream);
    tally = killer.tally();
    fin = master.quit();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_summary(tally, fin, secs);
  CHECK(fin.ok == 1);
  CHECK(fin.error_cqes == 0);
  CHECK(tally.kills >= cfg.kills);
  // Every step of a life was hit (the windows and the traffic are sized so
  // that 300 kills reach each one many times over).
  for (const char* stage : {"starting", "setting-up", "set-up", "just-exported", "receiving",
                            "holding", "mid-refill"}) {
    CAPTURE(stage);
    CHECK(tally.stage_totals[stage] > 0);
  }
  CHECK(tally.setup_count[0] > 0);
  CHECK(tally.setup_count[1] > 0);
  CHECK(d.stop() == 0);
  print_zcrxd_notes(d.output());
  CHECK(d.exit_outstanding() == 0);
  CHECK(d.exit_missing() == 0);
  CHECK(d.final_counter("delivered") ==
        d.final_counter("returned") + d.final_counter("reclaimed"));
  // Killed holders left buffers on both queues, and they came back.
  for (int q : {0, 1}) {
    CAPTURE(q);
    const std::string prefix = "zcrxd: final queue=" + std::to_string(q) + " ";
    std::printf("fault loop: zcrxd queue %d: delivered=%" PRIu64 " returned=%" PRIu64
                " reclaimed=%" PRIu64 " dropped_no_flow=%" PRIu64 " cq_full=%" PRIu64 "\n",
                q, d.line_counter(prefix, "delivered"), d.line_counter(prefix, "returned"),
                d.line_counter(prefix, "reclaimed"), d.line_counter(prefix, "dropped_no_flow"),
                d.line_counter(prefix, "cq_full"));
    CHECK(d.line_counter(prefix, "reclaimed") > 0);
    CHECK(d.line_counter(prefix, "reclaimed") != UINT64_MAX);
    CHECK(d.line_counter(prefix, "outstanding") == 0);
  }
}

int main(int argc, char** argv) {
  Config& c = config();
  c.seed = std::random_device{}() ^ static_cast<uint64_t>(
                                      std::chrono::steady_clock::now().time_since_epoch().count());
  if (const char* v = std::getenv("ZCRX_FAULT_KILLS")) c.kills = std::strtoull(v, nullptr, 0);
  if (const char* v = std::getenv("ZCRX_FAULT_SEED")) c.seed = std::strtoull(v, nullptr, 0);
  if (const char* v = std::getenv("ZCRX_FAULT_BATCH")) c.batch = std::strtoull(v, nullptr, 0);
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; i++) {
    uint64_t* to = !std::strcmp(argv[i], "--kills")  ? &c.kills
                   : !std::strcmp(argv[i], "--seed") ? &c.seed
                   : !std::strcmp(argv[i], "--batch") ? &c.batch
                                                      : nullptr;
    if (to && i + 1 < argc) *to = std::strtoull(argv[++i], nullptr, 0);
    else rest.push_back(argv[i]);
  }
  if (c.batch == 0) c.batch = 30;
  std::printf("fault loop: seed=%" PRIu64 " kills=%" PRIu64 " batch=%" PRIu64
              " (ZCRX_FAULT_SEED=%" PRIu64 " replays each life's choices)\n",
              c.seed, c.kills, c.batch, c.seed);
  std::fflush(stdout);
  signal(SIGPIPE, SIG_IGN);
  std::string why;
  if (!enter_veth_netns(&why)) {
    std::printf("SKIP: the fault loop needs a network namespace with a veth pair: %s\n",
                why.c_str());
    return 77;
  }
  doctest::Context ctx;
  ctx.applyCommandLine(static_cast<int>(rest.size()), rest.data());
  return ctx.run();
}
