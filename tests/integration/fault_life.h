// SPDX-License-Identifier: MIT
// One consumer life of the fault loop, run in a forked process until the
// test SIGKILLs it: connect, create a ring, register (queue 1), clone or
// import (the master's ifq on queue 0, or a family root's on queue 1),
// maybe export, arm a UDP flow, then receive in one of three ways. Each
// step is reported on a SOCK_SEQPACKET socket as it is reached, so the test
// can kill at a chosen step plus a random delay. The process never ends
// by itself: after its script it waits to be killed.
#pragma once

#include <cstdint>
#include <string>

namespace itest::fault {

/// Steps and findings a life reports (Report::mark).
enum Mark : char {
  kMarkRing = 'C',        // ring created: the registration/clone/import is next
  kMarkSetUp = 'R',       // registered/cloned/imported (value: zcrx id)
  kMarkSetupFailed = 'F', // value: -errno
  kMarkExported = 'E',    // family root: ring fd and export fd attached (value: zcrx id)
  kMarkArmed = 'A',       // RECV_ZC armed on its flow
  kMarkHolding = 'H',     // value: buffers held, never to be refilled
  kMarkRefilling = 'M',   // value: buffers held, now refilled one by one
  kMarkBadPayload = 'X',  // a payload byte off the pattern (value: its seq, low bits)
  kMarkBadOffset = 'O',   // a CQE naming memory outside its area
  kMarkErrorCqe = 'Z',    // a RECV_ZC CQE with res < 0 or without F_MORE (value: res)
};

struct Report {
  char mark;
  int32_t value;
};

enum class Role : uint8_t {
  kRegister,      // its own area on queue 1
  kCloneMaster,   // clone of the master's ifq (queue 0), from its ring fd
  kImportMaster,  // import of the master's ifq, from an export fd
  kFamilyRoot,    // registers on queue 1, exports, hands both fds to the test
  kFamilyClone,   // clone of a family root's ifq
  kFamilyImport,  // import of a family root's export
};

enum class Behaviour : uint8_t {
  kSteady,     // refills every buffer as it comes
  kHold,       // holds `hold` buffers, then stops reaping
  kMidRefill,  // holds `hold` buffers, then refills them slowly, and again
};

struct LifePlan {
  Role role = Role::kRegister;
  Behaviour behaviour = Behaviour::kSteady;
  uint32_t hold = 32;
  uint16_t port = 0;      // UDP flow to receive
  int src_fd = -1;        // clone: the source ring fd; import: the export fd
  uint32_t src_id = 0;    // clone: the source zcrx id
};

const char* role_name(Role r);
/// RX queue a role's entry is on (1: the registrants' queue).
inline uint32_t role_queue(Role r) {
  return r == Role::kCloneMaster || r == Role::kImportMaster ? 0 : 1;
}

/// Runs `plan` against zcrxd at `socket`, reporting on `status`. Call in
/// a fresh child that closed what it does not need; never returns.
[[noreturn]] void run_life(const std::string& socket, const LifePlan& plan, int status);

}  // namespace itest::fault
