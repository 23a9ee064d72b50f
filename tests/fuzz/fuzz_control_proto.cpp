// SPDX-License-Identifier: MIT
// libFuzzer target: the control protocol as zcrxd sees it. Up to three
// consumers send arbitrary messages, with 0-3 descriptors attached (memfds
// that can or cannot be sealed, write-sealed ones, pipes, eventfds,
// /dev/null, ring region and export descriptors zcrxd handed out earlier),
// over SOCK_SEQPACKET socketpairs to ControlModel: zcrxd's receive,
// validation and mapping onto a zcrx_core Engine. State builds up over the
// input (rings, registrations, clones, imports, exports, ctrl, flows,
// eventfds, sessions closed and reopened), while a datapath delivers and
// refills on the bound areas and consumers hand buffers back.
//
// Input: records until the input ends. The first byte of a record says
// what and for which session (see step()); a message record is
//   [fd count (2 bits)][mode][length u16][bytes][one byte per fd: its kind]
// where mode bit 0 sizes the message for the op in its header and bit 1
// writes a valid magic, version and length, so both malformed framing and
// deep request sequences are reached.
//
// Checks, besides ASan/UBSan: a valid request (other than SQ_WAKEUP) gets
// exactly one reply that the consumer's validate_reply accepts, carrying
// the descriptors its op promises (none on error); the geometry a
// CREATE_RING or REGISTER_IFQ reply describes passes the consumer's
// validate_ring_region / validate_rq_region for the descriptor's size; the
// area descriptor of a clone or import is read-only; after every record no
// ifq was freed with its master set and every bound area's niovs are free
// or held by users; at the end, with every session closed and every
// export released, the engine holds nothing, every niov came back exactly
// once, and no descriptor is left open.
#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "control_model.h"
#include "fuzz_input.h"
#include "zcrx/proto.h"
#include "zcrx/ring_layout.h"

namespace {

constexpr const char* kTarget = "fuzz_control_proto";

namespace proto = zcrx::proto;
namespace uapi = zcrx::uapi;
using zcrx::fuzz::ControlModel;
using zcrx::fuzz::FuzzInput;
using zcrx::fuzz::kSessions;

constexpr uint32_t kMaxRecords = 64;
constexpr size_t kMaxMsg = 400;      // past kMaxMsgSize + 8: truncation too
constexpr unsigned kMaxSendFds = 3;  // one more than any message may carry
constexpr size_t kMaxKept = 6;       // ring and export descriptors kept

int open_fd_count() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/// The consumers' side: their sockets and the descriptors zcrxd gave them.
class Consumers {
 public:
  explicit Consumers(ControlModel& m) : model_(m) {}
  ~Consumers() {
    for (int& fd : sock_)
      if (fd >= 0) close(fd);
    for (int fd : rings_) close(fd);
    for (int fd : exports_) close(fd);
  }

  void step(FuzzInput& in);

 private:
  void send_request(uint32_t s, FuzzInput& in);
  int make_fd(uint8_t kind, bool* owned);
  void read_reply(uint32_t s, const uint8_t* msg, size_t len);
  void check_reply(const proto::MsgHeader& req, const uint8_t* buf, const proto::RecvdMsg& m);
  void hang_up(uint32_t s);
  void keep(std::vector<int>& v, int fd);
  void close_export(FuzzInput& in);

  ControlModel& model_;
  int sock_[kSessions] = {-1, -1, -1};
  std::vector<int> rings_;    // ring region memfds from CREATE_RING replies
  std::vector<int> exports_;  // export descriptors from EXPORT replies
};

void Consumers::step(FuzzInput& in) {
  const uint8_t a = in.u8();
  const uint32_t s = ((a >> 3) & 3) % kSessions;
  switch (a & 7) {
    case 0:
    case 1:
    case 2:
    case 3:
      if (sock_[s] < 0) sock_[s] = model_.connect(s, (a >> 5) & 1);
      if (sock_[s] >= 0) send_request(s, in);
      break;
    case 4:
      if (sock_[s] >= 0) hang_up(s);
      else sock_[s] = model_.connect(s, (a >> 5) & 1);
      break;
    case 5: close_export(in); break;
    case 6: model_.datapath(in); break;
    case 7: model_.write_rqe(s, in); break;
  }
  model_.housekeeping();
  model_.check_step();
}

void Consumers::hang_up(uint32_t s) {
  close(sock_[s]);
  sock_[s] = -1;
  if (model_.is_open(s)) model_.close_session(s);
}

void Consumers::keep(std::vector<int>& v, int fd) {
  if (v.size() == kMaxKept) {
    close(v.front());
    v.erase(v.begin());
  }
  v.push_back(fd);
}

void Consumers::close_export(FuzzInput& in) {
  const uint8_t a = in.u8();
  if (exports_.empty()) return;
  const size_t i = a % exports_.size();
  close(exports_[i]);
  exports_.erase(exports_.begin() + static_cast<long>(i));
  model_.poll_exports();
}

int Consumers::make_fd(uint8_t kind, bool* owned) {
  *owned = true;
  switch (kind % 8) {
    case 0: {  // what a consumer registers: a sealable memfd
      const int fd = memfd_create("fuzz-area", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fd >= 0 && ftruncate(fd, off_t{4096} * ((kind >> 3) % 17)) < 0) {
        close(fd);
        return -1;
      }
      return fd;
    }
    case 1: {  // a memfd that refuses seals
      const int fd = memfd_create("fuzz-area", MFD_CLOEXEC);
      if (fd >= 0 && ftruncate(fd, 16384) < 0) {
        close(fd);
        return -1;
      }
      return fd;
    }
    case 2: {
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0) return -1;
      close(p[1]);
      return p[0];
    }
    case 3: return eventfd(0, EFD_CLOEXEC);
    case 4:
    case 5: {
      const std::vector<int>& v = kind % 8 == 4 ? rings_ : exports_;
      if (v.empty()) break;
      *owned = false;
      return v[(kind >> 3) % v.size()];
    }
    case 6: {  // write-sealed: zcrxd cannot map it writable
      const int fd = memfd_create("fuzz-area", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fd >= 0 && (ftruncate(fd, 16384) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0)) {
        close(fd);
        return -1;
      }
      return fd;
    }
    default: break;
  }
  return open("/dev/null", O_RDWR | O_CLOEXEC);
}

void Consumers::send_request(uint32_t s, FuzzInput& in) {
  const uint8_t fdspec = in.u8(), mode = in.u8();
  size_t len = in.u16() % kMaxMsg;
  alignas(8) uint8_t msg[kMaxMsg] = {};
  in.bytes(msg, len);
  if (mode & 1) {
    // Sized for the op its header names (ops 0..15; unknown ones keep theirs).
    const uint16_t op = msg[6] & 15;
    std::memcpy(msg + 6, &op, 2);
    if (const size_t want = proto::request_size(op)) len = want;
  }
  if ((mode & 2) && len >= sizeof(proto::MsgHeader)) {
    const uint32_t magic = proto::kMagic, n = static_cast<uint32_t>(len);
    const uint16_t version = proto::kVersion;
    std::memcpy(msg + 0, &magic, 4);
    std::memcpy(msg + 4, &version, 2);
    std::memcpy(msg + 8, &n, 4);
  }
  int fds[kMaxSendFds];
  bool owned[kMaxSendFds];
  unsigned nfds = 0;
  for (unsigned i = 0; i < (fdspec & 3) && i < kMaxSendFds; i++) {
    const int fd = make_fd(in.u8(), &owned[nfds]);
    if (fd >= 0) fds[nfds++] = fd;
  }
  // proto::send_msg stops at kMaxFds; a hostile consumer does not.
  iovec iov{msg, len};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxSendFds)] = {};
  if (nfds) {
    mh.msg_control = ctl;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  const bool sent = sendmsg(sock_[s], &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(len);
  for (unsigned i = 0; i < nfds; i++)
    if (owned[i]) close(fds[i]);
  if (!sent) return;
  model_.handle_message(s);
  read_reply(s, msg, len);
  // zcrxd gave up on the session (not even a header, or refused): the
  // consumer sees its socket closed.
  if (!model_.is_open(s)) {
    close(sock_[s]);
    sock_[s] = -1;
  }
}

void Consumers::read_reply(uint32_t s, const uint8_t* msg, size_t len) {
  alignas(8) uint8_t buf[proto::kMaxMsgSize + 8];
  proto::RecvdMsg m;
  const int rc = proto::recv_msg(sock_[s], buf, sizeof(buf), m, proto::kMaxFds, MSG_DONTWAIT);
  proto::MsgHeader req{};
  const bool valid = proto::validate_request(msg, len, &req) == 0;
  const bool want_reply = valid && req.op != proto::kOpSqWakeup;
  if (rc < 0 || m.len == 0) {
    FUZZ_CHECK(!want_reply);
    return;
  }
  FUZZ_CHECK(!m.truncated && !m.ctrunc && m.fds_closed == 0);
  if (want_reply) check_reply(req, buf, m);
  proto::close_fds(m);
  // One reply per request, never more.
  proto::RecvdMsg extra;
  FUZZ_CHECK(proto::recv_msg(sock_[s], buf, sizeof(buf), extra, proto::kMaxFds, MSG_DONTWAIT) ==
                 -EAGAIN ||
             extra.len == 0);
  proto::close_fds(extra);
}

void Consumers::check_reply(const proto::MsgHeader& req, const uint8_t* buf,
                            const proto::RecvdMsg& m) {
  int32_t result = 0;
  FUZZ_CHECK(proto::validate_reply(buf, m.len, req.op, req.seq, &result) == 0);
  if (result < 0) {
    FUZZ_CHECK(m.nfds == 0);
    return;
  }
  const uint8_t* body = buf + sizeof(proto::ReplyHeader);
  struct stat st {};
  switch (req.op) {
    case proto::kOpCreateRing: {
      FUZZ_CHECK(m.nfds == 1);
      proto::CreateRingReply r;
      std::memcpy(&r, body, sizeof(r));
      zcrx::RingRegionLayout l{};
      l.sq_off = r.sq_off;
      l.cq_off = r.cq_off;
      l.sqes_off = r.sqes_off;
      l.sq_entries = r.sq_entries;
      l.cq_entries = r.cq_entries;
      l.size = r.size;
      FUZZ_CHECK(zcrx::validate_ring_region(l, r.size) == 0);
      FUZZ_CHECK(fstat(m.fds[0], &st) == 0 && static_cast<uint64_t>(st.st_size) == r.size);
      const int fd = dup(m.fds[0]);
      if (fd >= 0) keep(rings_, fd);
      break;
    }
    case proto::kOpRegisterIfq: {
      proto::RegisterIfqReply r;
      std::memcpy(&r, body, sizeof(r));
      FUZZ_CHECK(m.nfds == 1 || m.nfds == 2);
      FUZZ_CHECK(zcrx::validate_rq_region(r.reg.offsets, r.reg.rq_entries, r.rq_region_size) == 0);
      FUZZ_CHECK(fstat(m.fds[0], &st) == 0 &&
                 static_cast<uint64_t>(st.st_size) >= r.rq_region_size);
      if (m.nfds == 2) {
        // A clone or an import reads the area and may not write it.
        FUZZ_CHECK((fcntl(m.fds[1], F_GETFL) & O_ACCMODE) == O_RDONLY);
        FUZZ_CHECK(fstat(m.fds[1], &st) == 0 &&
                   r.area.addr + r.area.len <= static_cast<uint64_t>(st.st_size));
      }
      break;
    }
    case proto::kOpExport: {
      FUZZ_CHECK(m.nfds == 1);
      const int fd = dup(m.fds[0]);
      if (fd >= 0) keep(exports_, fd);
      break;
    }
    default:
      FUZZ_CHECK(m.nfds == 0);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fds_before = open_fd_count();
  {
    FuzzInput in(data, size);
    ControlModel model;
    {
      Consumers consumers(model);
      for (uint32_t i = 0; i < kMaxRecords && !in.done(); i++) consumers.step(in);
      // The consumers exit: their descriptors close, zcrxd sees every
      // session and export go.
    }
    model.poll_exports();
    model.shutdown_and_check();
  }
  FUZZ_CHECK(open_fd_count() == fds_before);
  return 0;
}
