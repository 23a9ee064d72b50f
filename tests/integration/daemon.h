// SPDX-License-Identifier: MIT
// Runs zcrxd for an integration test: --no-huge, --no-pci, a unique
// --file-prefix and socket path, a vdev of the test's choice. Waits for the
// "ready" line, and on stop() collects the final counters it prints.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace itest {

/// Path of a binary the build passes in the environment (ZCRXD, PCAP_GEN,
/// ZCRX_RX); empty when unset.
std::string env_path(const char* name);

/// A scratch directory for this test process (removed at exit).
std::string scratch_dir();

/// Writes a pcap with pcap_gen: `count` frames, `payload` bytes, ports.
/// Extra arguments (e.g. "--ipv6", "--vlan", "7") are appended.
bool make_pcap(const std::string& path, uint64_t count, uint32_t payload,
               const std::string& ports, const std::vector<std::string>& extra = {});

/// A net_pcap vdev with one RX queue per file, in order; `infinite`
/// replays the files (infinite_rx=1).
std::string pcap_vdev(const std::vector<std::string>& rx_files, bool infinite = false);

class Daemon {
 public:
  /// `vdev` e.g. "net_pcap0,rx_pcap=/x.pcap"; `opts` zcrxd options after --.
  Daemon(const std::string& vdev, const std::vector<std::string>& opts = {});
  ~Daemon();
  /// True once zcrxd printed its ready line (within 30 s).
  bool ready() const { return ready_; }
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }
  /// SIGINT, wait, parse the "final" and "exit" lines. Returns the exit
  /// status (-1 when it did not exit by itself within 20 s).
  int stop();
  /// Counter `name` of the final stats line (after stop()), or UINT64_MAX.
  uint64_t final_counter(const std::string& name) const;
  /// Value of `key` ("key=value", after a space) in the last line of
  /// output() that starts with `prefix`, or UINT64_MAX when there is no
  /// such line or key.
  uint64_t line_counter(const std::string& prefix, const std::string& key) const;
  /// The "exit outstanding=N missing=M" values (after stop()).
  uint64_t exit_outstanding() const { return exit_outstanding_; }
  int64_t exit_missing() const { return exit_missing_; }
  /// Everything zcrxd printed (stdout and stderr) so far.
  const std::string& output() const { return out_; }
  /// Reads what zcrxd prints for `ms` milliseconds (or until `needle`
  /// appears, when given). True when `needle` (if any) was seen.
  bool wait_output(int ms, const char* needle = nullptr);
  /// The EAL --file-prefix of this instance.
  const std::string& prefix() const { return prefix_; }

 private:
  void read_until(const char* needle, int timeout_ms);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool ready_ = false;
  std::string socket_;
  std::string prefix_;
  std::string out_;
  uint64_t exit_outstanding_ = UINT64_MAX;
  int64_t exit_missing_ = -1;
};

}  // namespace itest
