// SPDX-License-Identifier: MIT
// The fake server's TCP socket ops: enough of zcrxd's control side for the
// client library's calls to be checked message by message (every request
// is recorded as received); no connection ever forms.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "fake_server.h"

namespace fake {

using namespace zcrx::proto;

int Server::handle_socket_op(Session* s, const MsgHeader& h, const unsigned char* body,
                             zcrx::proto::RecvdMsg& m) {
  SocketOp rec;
  rec.op = h.op;
  rec.len = h.len - sizeof(MsgHeader);
  std::memcpy(rec.body, body, rec.len < sizeof(rec.body) ? rec.len : sizeof(rec.body));
  auto find = [&](uint32_t handle) -> Session::Socket* {
    for (auto& k : s->sockets)
      if (k.handle == handle) return &k;
    return nullptr;
  };
  auto answer = [&]() -> int {
    if (!tcp) return -EAFNOSUPPORT;
    switch (h.op) {
      case kOpSocket: {
        SocketReq req;
        std::memcpy(&req, body, sizeof(req));
        if (req.domain != 2 /* AF_INET */) return -EAFNOSUPPORT;
        const uint32_t handle = kSocketHandleBase + static_cast<uint32_t>(s->sockets.size());
        s->sockets.push_back(Session::Socket{handle});
        const SocketReply rep{handle, 0};
        std::memcpy(scratch_, &rep, sizeof(rep));
        scratch_len_ = sizeof(rep);
        return 0;
      }
      case kOpBind: {
        BindReq req;
        std::memcpy(&req, body, sizeof(req));
        Session::Socket* k = find(req.handle);
        if (!k) return -EBADF;
        if (k->bound) return -EINVAL;
        k->addr = req.addr;
        k->port = req.port ? req.port : 40000;
        k->bound = true;
        return 0;
      }
      case kOpListen: {
        ListenReq req;
        std::memcpy(&req, body, sizeof(req));
        Session::Socket* k = find(req.handle);
        if (!k) return -EBADF;
        if (!k->bound) {  // as Linux: an ephemeral port first
          k->port = 40001;
          k->bound = true;
        }
        k->listening = true;
        return 0;
      }
      case kOpSockName: {
        SockNameReq req;
        std::memcpy(&req, body, sizeof(req));
        Session::Socket* k = find(req.handle);
        if (!k) return -EBADF;
        SockNameReply rep{};
        rep.local_addr = k->addr;
        rep.local_port = k->port;
        rep.state = k->listening ? 1 : 0;  // zcrx::tcp::State::listen, closed
        std::memcpy(scratch_, &rep, sizeof(rep));
        scratch_len_ = sizeof(rep);
        return 0;
      }
      case kOpRegisterTx: {
        TxRegionReq req;
        std::memcpy(&req, body, sizeof(req));
        if (s->tx_map) return -EBUSY;
        struct stat st;
        if (fstat(m.fds[0], &st) != 0) return -EBADF;
        if (static_cast<uint64_t>(st.st_size) < req.len) return -EFAULT;
        if (fcntl(m.fds[0], F_ADD_SEALS, F_SEAL_SHRINK) != 0) return -EINVAL;
        void* p = mmap(nullptr, req.len, PROT_READ, MAP_SHARED, m.fds[0], 0);
        if (p == MAP_FAILED) return -ENOMEM;
        s->tx_map = static_cast<const uint8_t*>(p);
        s->tx_base = req.base;
        s->tx_len = req.len;
        return 0;
      }
    }
    return -EINVAL;
  };
  rec.result = answer();
  socket_ops_.push_back(rec);
  return rec.result;
}

std::vector<uint8_t> Server::tx_bytes(size_t si, uint64_t addr, uint32_t len) {
  std::lock_guard lk(mu_);
  Session& s = *sessions_.at(si);
  if (!s.tx_map || addr < s.tx_base || len > s.tx_len || addr - s.tx_base > s.tx_len - len)
    return {};
  const uint8_t* p = s.tx_map + (addr - s.tx_base);
  return std::vector<uint8_t>(p, p + len);
}

}  // namespace fake
