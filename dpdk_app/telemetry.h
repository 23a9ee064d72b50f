// SPDX-License-Identifier: MIT
// zcrxd's DPDK telemetry commands (/zcrx/...): registered with
// rte_telemetry, answered by the control loop.
//
// rte_telemetry runs each client on a thread of its own; the state the
// commands show belongs to the control thread. A command is therefore a
// ControlCall: the telemetry thread posts it and waits (kTelemetryTimeout)
// while the control loop, between two of its steps, fills the reply. No
// lock is taken on the datapath, whose counters are read relaxed as for
// the stats lines. A command that finds no control loop (starting, or
// stopping) or times out answers null.
#pragma once

#include <chrono>
#include <functional>

struct rte_tel_data;

namespace zcrxd {

class ControlCall;

/// How long a telemetry client waits for the control loop.
inline constexpr std::chrono::milliseconds kTelemetryTimeout{2000};

/// Fills `d` for `cmd` (the part after "/zcrx/"), `params` as given after
/// the comma (may be null). 0 or -errno.
using TelemetryHandler = std::function<int(const char* cmd, const char* params, rte_tel_data* d)>;

/// The ControlCall the /zcrx/ commands go through (they are registered
/// before main; rte_telemetry cannot unregister them, so what they use
/// lives as long as the process): the control loop polls its fd,
/// attach()es while it serves and detach()es before it stops.
ControlCall& telemetry_call();

/// [control, not while attached] What answers the commands.
void telemetry_set_handler(TelemetryHandler h);

/// The commands, for listings: name (after "/zcrx/") and help text, ending
/// with a {nullptr, nullptr} entry.
struct TelemetryCommand {
  const char* name;
  const char* help;
};
extern const TelemetryCommand kTelemetryCommands[];

}  // namespace zcrxd
