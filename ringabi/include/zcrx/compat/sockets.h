/* SPDX-License-Identifier: MIT */
/*
 * The TCP side of libzcrx's liburing compatibility: what lets a kernel-zcrx
 * server's socket(2)/bind(2)/listen(2) reach zcrxd's TCP, so the fd it
 * then names in ACCEPT SQEs is a socket zcrxd serves.
 *
 * libzcrx-uring-sockets.so (LD_PRELOAD it, or link it before libc) calls
 * these from its socket/bind/listen/getsockname/close wrappers for
 * AF_INET/AF_INET6 SOCK_STREAM sockets; a program may call them itself
 * instead. The fd the program holds is a real, never-bound kernel socket
 * (a placeholder: fcntl, setsockopt and the like act on it harmlessly);
 * io_uring_submit turns it into zcrxd's socket handle in every SQE.
 *
 * A socket made before the first io_uring_queue_init (the usual order:
 * socket, bind, listen, then the ring) is created in zcrxd, bound and put
 * to listen when that ring is set up, on that ring; an error zcrxd gives
 * then (-EADDRINUSE, ...) is reported on stderr and the fd's SQEs fail
 * with -EBADF. Later sockets go to zcrxd at once, errors returned.
 * Sockets a multishot or single ACCEPT returns are zcrxd's handles
 * (>= 1024) as they are; IORING_OP_CLOSE closes them, and so does close(2)
 * through the shim when no kernel fd has that number (the ring's exit
 * closes what is left).
 *
 * Every call is thread-safe. Return values: 0 (or what is said) or a
 * negative errno.
 */
#ifndef ZCRX_COMPAT_SOCKETS_H
#define ZCRX_COMPAT_SOCKETS_H

#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Placeholder fds from 0 up to this (exclusive) can stand for sockets. */
#define ZCRX_URING_MAX_SOCKET_FD 4096

/* Adopts `fd` (a fresh placeholder socket of `domain`, AF_INET or
 * AF_INET6) as a zcrxd TCP socket: 0, -EMFILE (fd beyond
 * ZCRX_URING_MAX_SOCKET_FD), -EAFNOSUPPORT (another domain), or zcrxd's
 * SOCKET error. */
int zcrx_uring_socket_adopt(int fd, int domain);
/* 1 when `fd` stands for a zcrxd socket, else 0. */
int zcrx_uring_socket_is_ours(int fd);
/* bind(2) of an adopted fd: AF_INET, or AF_INET6 with the any or a
 * v4-mapped address (-EADDRNOTAVAIL for any other IPv6 address, -EINVAL
 * for a short address, -EAFNOSUPPORT for another family). */
int zcrx_uring_socket_bind(int fd, const struct sockaddr *addr, socklen_t len);
int zcrx_uring_socket_listen(int fd, int backlog);
/* getsockname(2): AF_INET (or AF_INET6 v4-mapped for an AF_INET6 fd). */
int zcrx_uring_socket_name(int fd, struct sockaddr *addr, socklen_t *len);
/* close(2) of an adopted fd: closes zcrxd's socket (as Linux closes a TCP
 * socket: FIN, or RST with unread payload; a listener stops and resets the
 * connections it had not handed out; requests armed on it end with
 * -ECANCELED) and forgets `fd` (the caller then closes the placeholder). */
void zcrx_uring_socket_forget(int fd);
/* close(2) of a socket handle ACCEPT returned (>= 1024) on the ring the
 * sockets live on: 0, or -EBADF (not such a handle, no ring, or the handle
 * of an adopted fd, which only its fd closes). The shim calls it when
 * libc's close finds no kernel fd of that number. */
int zcrx_uring_socket_close_handle(int handle);

#ifdef __cplusplus
}
#endif

#endif /* ZCRX_COMPAT_SOCKETS_H */
