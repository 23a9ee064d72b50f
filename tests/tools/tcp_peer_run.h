// SPDX-License-Identifier: MIT
// tcp_peer's event loop: one thread, non-blocking sockets, epoll. Each
// connection sends or checks the tcp_pattern.h stream; totals and TCP_INFO
// counters are gathered as connections end.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tcp_peer_options.h"
#include "tcp_peer_pacer.h"

namespace zcrx::tools {

struct PeerTotals {
  uint64_t completed = 0;    // connections that ended cleanly (errors or not)
  uint64_t started = 0;      // connections opened or accepted
  uint64_t bytes = 0;        // payload sent or received
  uint64_t errors = 0;
  uint64_t bad_bytes = 0;
  uint64_t retransmits = 0;  // tcpi_total_retrans
  uint64_t reord_seen = 0;
  uint64_t dsack_dups = 0;
  uint64_t first_up_us = 0;  // first connection established
  uint64_t last_done_us = 0;
};

class PeerRun {
 public:
  explicit PeerRun(const PeerOptions& o);
  ~PeerRun();

  /// Runs to the end (every connection done, or the timeout); the exit
  /// status: 0 only when every connection completed with every byte right.
  int run();

  const PeerTotals& totals() const { return totals_; }

  /// The RESULT line's JSON.
  std::string result_json() const;

 private:
  struct Conn;

  bool open_listener();
  Conn& new_conn();
  void start_connection();
  void accept_ready();
  void on_event(Conn& c, uint32_t events);
  void on_connected(Conn& c);
  void send_ready(Conn& c);
  void receive_ready(Conn& c);
  void consume(Conn& c, const uint8_t* p, size_t n);
  void learn_index(Conn& c);
  void await_close(Conn& c);
  void finish(Conn& c, bool failed);
  void fail(Conn& c, const std::string& why);
  void note_error(const std::string& what);
  void arm(Conn& c, uint32_t events, bool add);
  void expire();
  void start_more();
  void pause(Conn& c);
  void resume_paused();
  int pacing_timeout_ms();
  uint64_t now_us() const;

  PeerOptions o_;
  int epfd_ = -1;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;   // every Conn ever made, reused
  std::vector<Conn*> free_;
  uint64_t active_ = 0;
  uint64_t next_index_ = 0;                    // the next send/connect index
  std::vector<bool> index_seen_;               // receivers: indices claimed
  std::vector<uint8_t> buf_;
  uint64_t gen_index_ = UINT64_MAX;            // what buf_ holds for senders
  uint64_t gen_off_ = 0;
  size_t gen_len_ = 0;
  PeerTotals totals_;
  Pacer pacer_;                                // --rate (unlimited without)
  std::vector<Conn*> paused_;                  // senders waiting for credit
  uint64_t error_lines_ = 0;
};

}  // namespace zcrx::tools
