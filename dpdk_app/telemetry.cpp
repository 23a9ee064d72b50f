// SPDX-License-Identifier: MIT
#include "telemetry.h"

#include <rte_common.h>
#include <rte_telemetry.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "control_call.h"

namespace zcrxd {

const TelemetryCommand kTelemetryCommands[] = {
    {"info", "zcrxd: socket, port, driver, served queues, counts of rings, ifqs, exports"},
    {"queues", "Served queues: PMD, copy mode, rates, deliveries, drops by reason. "
               "Param: rx queue"},
    {"rings", "Consumer rings: peer pid/uid (SO_PEERCRED), state, SQ/CQ entries and fill, "
              "entries, flows. Param: ring id"},
    {"entries", "Ring ifq entries (real, clone, import): RQ fill, buffers held, bad RQEs"},
    {"ifqs", "Real ifqs: queue, master ring, refs, user_refs, members, area, buffers held "
             "per entry"},
    {"flows", "Open flows: ring, handle, key, ifq, group members"},
    {"rejects", "Bad input refused: refill entries, clamped RQ tails, broken rings, limit "
                "refusals, requests refused by errno"},
    {"tcp", "TCP endpoint counters per queue (--ip)"},
    {nullptr, nullptr},
};

namespace {

struct Registry {
  ControlCall call;
  TelemetryHandler handler;  // [control] read only inside call's functions
};

// Never destroyed: a telemetry thread may still call in while the process
// exits (rte_telemetry has no unregister and no join).
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

int on_command(const char* cmd, const char* params, rte_tel_data* d) {
  static constexpr char kPrefix[] = "/zcrx/";
  if (std::strncmp(cmd, kPrefix, sizeof(kPrefix) - 1) != 0) return -EINVAL;
  const char* name = cmd + sizeof(kPrefix) - 1;
  Registry& r = registry();
  return r.call.call(
      [&]() -> int { return r.handler ? r.handler(name, params, d) : -ENOTCONN; },
      kTelemetryTimeout);
}

}  // namespace

// Before main, as DPDK's libraries register theirs: the command list is
// complete before the EAL starts the telemetry thread that reads it
// (rte_telemetry_register_cmd after that would change it under a client).
RTE_INIT(zcrxd_telemetry_register) {
  registry();  // the ControlCall exists before any command can run
  for (const TelemetryCommand* c = kTelemetryCommands; c->name; c++) {
    char path[64];
    std::snprintf(path, sizeof(path), "/zcrx/%s", c->name);
    if (rte_telemetry_register_cmd(path, on_command, c->help) != 0)
      std::fprintf(stderr, "zcrxd: telemetry command %s not registered\n", path);
  }
}

ControlCall& telemetry_call() { return registry().call; }

void telemetry_set_handler(TelemetryHandler h) { registry().handler = std::move(h); }

}  // namespace zcrxd
