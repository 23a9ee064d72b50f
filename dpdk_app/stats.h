// SPDX-License-Identifier: MIT
// Datapath counters. One writer (the datapath lcore) bumps them with a
// relaxed load + store (no locked instruction on the hot path); the control
// thread reads them with relaxed loads for the periodic report. Counters
// written from both threads (buffers returned) use fetch_add.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>

namespace zcrxd {

/// A counter with a single writer.
class Counter {
 public:
  void add(uint64_t n) {
    // relaxed: only the datapath writes; readers want an eventually
    // consistent value, no ordering with other data.
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const {
    return v_.load(std::memory_order_relaxed);  // relaxed: a report only
  }

 private:
  std::atomic<uint64_t> v_{0};
};

struct DpStats {
  Counter rx;                   // packets taken from the queue
  Counter delivered;            // CQEs carrying data (one niov each)
  Counter delivered_bytes;
  Counter packets_delivered;    // packets that produced at least one CQE
  // The copy fallback's share of the three above (a segment not in the
  // area, copied into free niovs): zero-copy = delivered - copied. Kept
  // inside `delivered` because copied niovs come back through refill like
  // any other (returned + reclaimed balance delivered).
  Counter copied;               // CQEs whose niov was filled by a copy
  Counter copied_bytes;
  Counter packets_copied;       // packets with at least one copied segment
  // Frames dropped, one counter per reason (a raw flow takes every frame
  // of the first two kinds, unchecked, as AF_PACKET would).
  Counter dropped_malformed;    // headers cut short or lengths that disagree
  Counter dropped_not_udp;      // well formed, but not (a fragment of) IP/UDP
  Counter dropped_no_flow;      // a UDP datagram no flow matches
  Counter dropped_not_armed;    // its flow matched, no ring had a RECV_ZC armed
  Counter dropped_bad_ip_csum;  // IPv4 header checksum wrong (UDP flows)
  Counter dropped_bad_udp_csum; // UDP checksum wrong
  Counter dropped_udp6_zero_csum;  // IPv6 UDP with checksum 0 (Linux drops it)
  // IP reassembly: datagrams rebuilt, and fragments (buffers: one per
  // fragment unless a fragment spans several) dropped by reason.
  Counter reassembled;          // datagrams rebuilt from fragments
  Counter dropped_frag_timeout; // their datagram did not complete in time
  Counter dropped_frag_table_full;  // no room for another datagram
  Counter dropped_frag_invalid; // overlapping, duplicated, too many, too long
  Counter dropped_frag_flushed; // held when the queue was unbound [control]
  Counter dropped_no_buffers;   // the area ran out of free niovs
  Counter dropped_empty;        // UDP datagrams without payload
  Counter dropped_bad_len;      // a segment the PMD claims runs past its niov
  Counter cq_full;              // the owning ring's CQ had no room
  Counter refilled;             // niovs returned through refill queues
  Counter returned;             // niovs handed back to the pool by refill
  Counter sqes;                 // SQEs consumed
  Counter loops;                // datapath iterations
  Counter rx_polls_gated;       // iterations that skipped rx (gate/back-pressure)
  Counter busy_cycles;          // TSC cycles of iterations that did work
  Counter total_cycles;         // TSC cycles of all iterations
  std::atomic<uint64_t> reclaimed{0};  // niovs returned by scrub (control)
};

}  // namespace zcrxd
