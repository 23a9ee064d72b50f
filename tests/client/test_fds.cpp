// SPDX-License-Identifier: MIT
// SCM_RIGHTS passing over a SOCK_SEQPACKET socketpair.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zcrx/proto.h"

using namespace zcrx::proto;

namespace {

struct Pair {
  int fd[2] = {-1, -1};
  Pair() { REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fd) == 0); }
  ~Pair() {
    close(fd[0]);
    close(fd[1]);
  }
};

bool is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int open_fd_count() {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) n += is_open(fd);
  return n;
}

// The inode behind fd, to check that a passed descriptor names the same file.
bool same_file(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
         sa.st_dev == sb.st_dev;
}

// Sends `n` fds with a raw sendmsg, bypassing send_msg's kMaxFds limit.
void send_raw(int sock, const int* fds, unsigned n) {
  char byte = 'x';
  iovec iov{&byte, 1};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 64)] = {};
  mh.msg_control = ctl;
  mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  std::memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  REQUIRE(sendmsg(sock, &mh, 0) == 1);
}

}  // namespace

TEST_CASE("fds: a message and two fds arrive intact, close-on-exec") {
  Pair p;
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  const char msg[] = "hello";
  CHECK(send_msg(p.fd[0], msg, sizeof(msg), pipefd, 2) == 0);
  char buf[64];
  RecvdMsg m;
  REQUIRE(recv_msg(p.fd[1], buf, sizeof(buf), m) == 0);
  CHECK(m.len == sizeof(msg));
  CHECK(std::memcmp(buf, msg, sizeof(msg)) == 0);
  REQUIRE(m.nfds == 2);
  CHECK(m.fds_closed == 0);
  CHECK_FALSE(m.truncated);
  CHECK_FALSE(m.ctrunc);
  CHECK(same_file(m.fds[0], pipefd[0]));
  CHECK(same_file(m.fds[1], pipefd[1]));
  CHECK((fcntl(m.fds[0], F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((fcntl(m.fds[1], F_GETFD) & FD_CLOEXEC) != 0);
  int a = m.fds[0], b = m.fds[1];
  close_fds(m);
  CHECK(m.nfds == 0);
  CHECK_FALSE(is_open(a));
  CHECK_FALSE(is_open(b));
  close(pipefd[0]);
  close(pipefd[1]);
}

TEST_CASE("fds: more than kMaxFds is refused by send_msg") {
  Pair p;
  int fds[3] = {0, 1, 2};
  CHECK(send_msg(p.fd[0], "x", 1, fds, 3) == -EINVAL);
}

TEST_CASE("fds: surplus fds beyond max_fds are closed on arrival") {
  Pair p;
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  int before = open_fd_count();
  int fds[5] = {pipefd[0], pipefd[1], pipefd[0], pipefd[1], pipefd[0]};
  send_raw(p.fd[0], fds, 5);
  char buf[8];
  RecvdMsg m;
  REQUIRE(recv_msg(p.fd[1], buf, sizeof(buf), m, 1) == 0);
  CHECK(m.len == 1);
  CHECK(m.nfds == 1);
  CHECK(m.fds_closed == 4);
  CHECK(open_fd_count() == before + 1);
  close_fds(m);
  CHECK(open_fd_count() == before);
  close(pipefd[0]);
  close(pipefd[1]);
}

TEST_CASE("fds: a request that carries no fd when max_fds is 0 leaks nothing") {
  Pair p;
  int before = open_fd_count();
  int fds[2] = {0, 0};
  CHECK(send_msg(p.fd[0], "ab", 2, fds, 2) == 0);
  char buf[8];
  RecvdMsg m;
  REQUIRE(recv_msg(p.fd[1], buf, sizeof(buf), m, 0) == 0);
  CHECK(m.nfds == 0);
  CHECK(m.fds_closed == 2);
  CHECK(open_fd_count() == before);
}

TEST_CASE("fds: truncated control data closes every fd that arrived") {
  Pair p;
  int before = open_fd_count();
  int fds[64];
  for (int& f : fds) f = 0;  // stdin, 64 times: far more than the receive room
  send_raw(p.fd[0], fds, 64);
  char buf[8];
  RecvdMsg m;
  REQUIRE(recv_msg(p.fd[1], buf, sizeof(buf), m) == 0);
  CHECK(m.ctrunc);
  CHECK(m.nfds == 0);
  CHECK(m.fds_closed > 0);
  CHECK(open_fd_count() == before);
}

TEST_CASE("fds: a message larger than the buffer is reported truncated, fds closed") {
  Pair p;
  int before = open_fd_count();
  char big[64] = {};
  int fds[1] = {0};
  CHECK(send_msg(p.fd[0], big, sizeof(big), fds, 1) == 0);
  char buf[16];
  RecvdMsg m;
  REQUIRE(recv_msg(p.fd[1], buf, sizeof(buf), m) == 0);
  CHECK(m.truncated);
  CHECK(m.nfds == 0);
  CHECK(m.fds_closed == 1);
  CHECK(open_fd_count() == before);
}

TEST_CASE("fds: peer close reads as a zero-length message; send to it is -EPIPE") {
  Pair p;
  close(p.fd[0]);
  char buf[8];
  RecvdMsg m;
  REQUIRE(recv_msg(p.fd[1], buf, sizeof(buf), m) == 0);
  CHECK(m.len == 0);
  CHECK(send_msg(p.fd[1], "x", 1, nullptr, 0) == -EPIPE);
  p.fd[0] = open("/dev/null", O_RDONLY);  // keep the destructor's close valid
}

TEST_CASE("fds: nonblocking receive on an empty socket is -EAGAIN") {
  Pair p;
  char buf[8];
  RecvdMsg m;
  CHECK(recv_msg(p.fd[1], buf, sizeof(buf), m, kMaxFds, MSG_DONTWAIT) == -EAGAIN);
}
