/* SPDX-License-Identifier: MIT */
/*
 * libzcrx for C: the consumer side of zcrxd, shaped like liburing.
 * A thin wrapper over zcrx/client.h (see there for the semantics); every
 * int-returning call gives 0/positive on success or a negative errno
 * (the kernel's, or -EPROTO for a malformed reply from zcrxd).
 *
 *   struct zcrx_ring *ring;
 *   struct zcrx_ifq *ifq;
 *   struct zcrx_ifq_params p = ZCRX_IFQ_PARAMS_INIT;
 *   zcrx_ring_new(&ring);
 *   zcrx_connect(ring, NULL);
 *   zcrx_create(ring, 64, 4096);
 *   int id = zcrx_register_ifq(ring, &p, &ifq);
 *   int flow = zcrx_open_udp_flow(ring, id, 9000);
 *   zcrx_prep_recv_zc(zcrx_get_sqe(ring), flow, id, 0, 1, 0);
 *   zcrx_submit(ring);
 *   struct zcrx_cqe32 c[32];
 *   zcrx_wait_cqe(ring, 1, ZCRX_WAIT_BUSY_POLL, -1);
 *   unsigned n = zcrx_peek_cqes(ring, c, 32);
 *   ... zcrx_ifq_data(ifq, &c[i]) ... zcrx_ifq_refill(ifq, &c[i]);
 *   ... zcrx_cqe_is_datagram_end(&c[i]): the datagram is complete ...
 *   zcrx_cq_advance(ring, n);
 *   zcrx_ifq_flush_refills(ifq);
 *   zcrx_ring_free(ring);
 */
#ifndef ZCRX_ZCRX_H
#define ZCRX_ZCRX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of zcrxd's wire protocol this libzcrx speaks (proto.h
 * kVersion; also libzcrx.so's soname version and libzcrx.pc's
 * proto_version). zcrxd refuses another with -EINVAL at the first call. */
#define ZCRX_PROTO_VERSION 4

struct zcrx_ring;
struct zcrx_ifq;
/* An SQE (struct io_uring_sqe layout); fill it with zcrx_prep_*. */
struct zcrx_sqe;

/* A CQE32 of a zcrx ring: struct io_uring_cqe + struct io_uring_zcrx_cqe. */
struct zcrx_cqe32 {
  uint64_t user_data;
  int32_t res;     /* payload bytes, 0 (end) or -errno */
  uint32_t flags;  /* ZCRX_CQE_F_MORE while the request stays armed,
                      ZCRX_CQE_F_DGRAM_END on the last CQE of a datagram */
  uint64_t off;    /* area token | byte offset in the area */
  uint64_t pad;    /* rx timestamp (TSC) when zcrxd runs --rx-timestamp */
};

#define ZCRX_CQE_F_MORE (1u << 1)
/* zcrxd's own: this CQE ends a datagram (UDP flow) or frame (raw flow);
 * one larger than rx_buf_len arrives as several CQEs, only the last with
 * it (zcrx/proto.h kCqeFDatagramEnd: bit 16, above the kernel's flags). */
#define ZCRX_CQE_F_DGRAM_END (1u << 16)

/* 1 when `cqe` carries the last bytes of a datagram or frame, else 0. */
static inline int zcrx_cqe_is_datagram_end(const struct zcrx_cqe32 *cqe) {
  return (cqe->flags & ZCRX_CQE_F_DGRAM_END) != 0;
}

struct zcrx_ifq_params {
  uint32_t port;
  uint32_t queue;
  uint32_t rq_entries;
  uint32_t rx_buf_len; /* 0: zcrxd's default (4096) */
  size_t area_len;     /* rounded up to 4096 (2 MiB with hugetlb) */
  int hugetlb;         /* non-zero: MFD_HUGETLB area */
  int area_fd;         /* -1: create a memfd; ZCRX_AREA_MADE_BY_ZCRXD */
};
/* zcrx_ifq_params.area_fd: zcrxd creates the area itself, with its mbuf
 * headers inside (what net_af_xdp needs to receive into it without a copy),
 * seals it so that nobody but zcrxd can write it (F_SEAL_FUTURE_WRITE: no
 * writable mapping, no write(2), not even through /proc/PID/fd reopened
 * O_RDWR) and sends it back; it is mapped read-only. Not with hugetlb
 * (-EINVAL). zcrx_ifq_shared() is 0 for it. */
#define ZCRX_AREA_MADE_BY_ZCRXD (-2)
#define ZCRX_IFQ_PARAMS_INIT {0, 0, 4096, 0, (size_t)64 << 20, 0, -1}

/* Ring lifetime. zcrx_ring_new: 0 or -ENOMEM. zcrx_ring_free ends the
 * session (zcrxd terminates the ring) and unmaps everything. */
int zcrx_ring_new(struct zcrx_ring **out);
void zcrx_ring_free(struct zcrx_ring *ring);

/* path NULL: $XDG_RUNTIME_DIR/zcrx/zcrxd.sock else /run/zcrx/zcrxd.sock. */
int zcrx_connect(struct zcrx_ring *ring, const char *path);
/* Takes over a connected SOCK_SEQPACKET socket instead (0 or -EISCONN). */
int zcrx_attach(struct zcrx_ring *ring, int sock);
int zcrx_create(struct zcrx_ring *ring, uint32_t sq_entries, uint32_t cq_entries);
/* The ring region memfd (for zcrx_clone in another process), -1 before
 * zcrx_create. Owned by the ring. */
int zcrx_ring_fd(const struct zcrx_ring *ring);

/* Return the zcrx id (>= 0) and set *out (owned by the ring). */
int zcrx_register_ifq(struct zcrx_ring *ring, const struct zcrx_ifq_params *p,
                      struct zcrx_ifq **out);

/* zcrx events: the values of the kernel's enum zcrx_event_type
 * (ZCRX_EVENT_ALLOC_FAIL, ZCRX_EVENT_COPY; renamed so this header can sit
 * beside <linux/io_uring/zcrx.h>). */
#define ZCRX_EVT_ALLOC_FAIL 0 /* the queue ran out of buffers in the area */
#define ZCRX_EVT_COPY 1         /* data was copied, not received in place */

/* Event descriptor of zcrx_register_ifq_events (struct zcrx_event_desc).
 * type_mask: (1 << ZCRX_EVT_*) per type wanted; non-zero makes this ring
 * the ifq's master: each event arrives once as a CQE with user_data =
 * user_data, res = the type and flags 0, and fires again only after
 * zcrx_arm_event. Pick a user_data no RECV_ZC SQE uses.
 * stats: non-zero also asks for the shared copy counters
 * (zcrx_ifq_copy_stats). */
struct zcrx_event_params {
  uint64_t user_data;
  uint32_t type_mask;
  int stats;
};

/* zcrx_register_ifq with an event descriptor (ev NULL: none). Errors as
 * zcrx_register_ifq, plus -EINVAL for unknown type bits. */
int zcrx_register_ifq_events(struct zcrx_ring *ring, const struct zcrx_ifq_params *p,
                             const struct zcrx_event_params *ev, struct zcrx_ifq **out);
/* ZCRX_CTRL_ARM_EVENT: 0, -EINVAL (unknown type, or not fired since the
 * last arm), -ENXIO (no such id). */
int zcrx_arm_event(struct zcrx_ring *ring, uint32_t zcrx_id, uint32_t type);
/* The ZCRX_EVT_* an event CQE of this ifq reports, or -1 for any other
 * CQE (a RECV_ZC completion): user_data, flags 0 and a registered type
 * must all match. */
int zcrx_ifq_event(const struct zcrx_ifq *ifq, const struct zcrx_cqe32 *cqe);
/* Copy-fallback counters zcrxd keeps in the RQ region: 0, or -ENOENT when
 * the ifq was registered without stats. */
int zcrx_ifq_copy_stats(const struct zcrx_ifq *ifq, uint64_t *copy_count, uint64_t *copy_bytes);
int zcrx_import(struct zcrx_ring *ring, int export_fd, struct zcrx_ifq **out);
int zcrx_clone(struct zcrx_ring *ring, int src_ring_fd, uint32_t src_zcrx_id,
               uint32_t rq_entries, struct zcrx_ifq **out);
/* A new export fd (caller closes) or -errno. */
int zcrx_export(struct zcrx_ring *ring, uint32_t zcrx_id);
int zcrx_flush_rq(struct zcrx_ring *ring, uint32_t zcrx_id);

/* Flows (OPEN_FLOW; zcrx/proto.h has every rule). A flow handle (>= 0)
 * goes in the RECV_ZC SQE's fd, or -errno: -EINVAL (unknown zcrx id, or a
 * spec the rules below refuse), -EMFILE (zcrxd's per-ring flow limit),
 * -EEXIST (this ring has it open already, or it belongs to the flow group
 * of another real ifq).
 *
 * Flow groups: rings whose ifqs share one real ifq (a registration and its
 * clones and imports) may each open the same flow; they form its group and
 * zcrxd spreads the group's flows (not packets) over their rings, each
 * packet reaching exactly one of them. */
#define ZCRX_FLOW_UDP_PORT 1   /* UDP to dst_port, any address */
#define ZCRX_FLOW_FIVE_TUPLE 2 /* UDP with exactly these addresses and ports */
#define ZCRX_FLOW_RAW 3        /* every packet of the queue no other flow claims */

struct zcrx_flow_spec {
  uint8_t kind;        /* ZCRX_FLOW_* */
  uint8_t ip_version;  /* UDP_PORT: 0 (either), 4 or 6; FIVE_TUPLE: 4 or 6; RAW: 0 */
  uint16_t src_port;   /* host byte order; FIVE_TUPLE only (non-zero) */
  uint16_t dst_port;   /* host byte order; non-zero except RAW */
  uint8_t src_addr[16]; /* network byte order, IPv4 in the first 4 bytes */
  uint8_t dst_addr[16]; /* (the rest 0); FIVE_TUPLE only */
};

/* UDP to `port`; ip_version 0 (IPv4 and IPv6), 4 or 6. */
static inline struct zcrx_flow_spec zcrx_flow_udp(uint16_t port, uint8_t ip_version) {
  struct zcrx_flow_spec f;
  unsigned i;
  f.kind = ZCRX_FLOW_UDP_PORT;
  f.ip_version = ip_version;
  f.src_port = 0;
  f.dst_port = port;
  for (i = 0; i < 16; i++) f.src_addr[i] = f.dst_addr[i] = 0;
  return f;
}

/* One UDP 5-tuple: ip_version 4 (addresses: 4 bytes each) or 6 (16),
 * addresses in network byte order, ports in host byte order. */
static inline struct zcrx_flow_spec zcrx_flow_five_tuple(uint8_t ip_version, const void *src_addr,
                                                         uint16_t src_port, const void *dst_addr,
                                                         uint16_t dst_port) {
  struct zcrx_flow_spec f;
  const uint8_t *s = (const uint8_t *)src_addr, *d = (const uint8_t *)dst_addr;
  const unsigned n = ip_version == 6 ? 16u : 4u;
  unsigned i;
  f.kind = ZCRX_FLOW_FIVE_TUPLE;
  f.ip_version = ip_version;
  f.src_port = src_port;
  f.dst_port = dst_port;
  for (i = 0; i < 16; i++) {
    f.src_addr[i] = i < n ? s[i] : 0;
    f.dst_addr[i] = i < n ? d[i] : 0;
  }
  return f;
}

int zcrx_open_flow(struct zcrx_ring *ring, uint32_t zcrx_id, const struct zcrx_flow_spec *flow);
/* Shorthands: zcrx_flow_udp(port, 0), and a ZCRX_FLOW_RAW flow. */
int zcrx_open_udp_flow(struct zcrx_ring *ring, uint32_t zcrx_id, uint16_t port);
int zcrx_open_raw_flow(struct zcrx_ring *ring, uint32_t zcrx_id);
/* CLOSE_FLOW: 0, -ENOENT (no such handle). */
int zcrx_close_flow(struct zcrx_ring *ring, uint32_t handle);

/* Wakeups: an eventfd registered with zcrxd (REGISTER_EVENTFD) lets
 * zcrx_wait_cqe sleep. 0 or -errno. */
int zcrx_enable_eventfd(struct zcrx_ring *ring);
/* UNREGISTER_EVENTFD, and closes it. 0 or -errno. */
int zcrx_disable_eventfd(struct zcrx_ring *ring);
/* The registered eventfd (to poll with others), -1 without one. */
int zcrx_event_fd(const struct zcrx_ring *ring);
/* How long ZCRX_WAIT_ADAPTIVE spins before it sleeps (default 50 us). */
void zcrx_set_spin_ns(struct zcrx_ring *ring, int64_t ns);
/* How long a control call waits for zcrxd (default 30000 ms; < 0: forever).
 * One that times out returns -ETIMEDOUT, and so does every later one. */
void zcrx_set_control_timeout(struct zcrx_ring *ring, int ms);
/* 1 while zcrxd keeps the session, 0 once it closed it (one poll(2): not
 * for the datapath). */
int zcrx_session_alive(const struct zcrx_ring *ring);
/* The session's socket (the ring owns it), -1 before connect/attach. */
int zcrx_socket_fd(const struct zcrx_ring *ring);

/* TCP sockets in zcrxd (zcrx/proto.h "TCP sockets" has every rule and
 * errno). Addresses and ports are in host byte order. A server:
 *
 *   int ls = zcrx_socket(ring);            // -EAFNOSUPPORT: zcrxd has no --ip
 *   zcrx_bind(ring, ls, 0, 8000);          // 0: any of zcrxd's addresses
 *   zcrx_listen(ring, ls, 128);
 *   zcrx_prep_accept(zcrx_get_sqe(ring), ls, 1, TAG_ACCEPT);
 *   // CQE TAG_ACCEPT: res is the new socket (zcrx_accept_peer: who)
 *   zcrx_prep_recv_zc(zcrx_get_sqe(ring), res, id, 0, 1, TAG_DATA);
 *   // CQEs TAG_DATA: zcrx_ifq_data + zcrx_ifq_refill as for a flow; res 0
 *   // without ZCRX_CQE_F_MORE: the peer closed; then zcrx_prep_close
 *
 * and a client sends from its TX region:
 *
 *   zcrx_register_tx_region(ring, 1 << 20);
 *   int s = zcrx_socket(ring);
 *   zcrx_prep_connect(zcrx_get_sqe(ring), s, ip, 8000, TAG_CONNECT);
 *   memcpy(zcrx_tx_region(ring), msg, n);
 *   zcrx_prep_send(zcrx_get_sqe(ring), s, zcrx_tx_region(ring), n, TAG_SEND);
 *   zcrx_prep_shutdown(zcrx_get_sqe(ring), s, SHUT_WR, TAG_SHUT);
 */

/* SOCKET(AF_INET, SOCK_STREAM): a socket handle (>= 1024, for the SQEs'
 * fd) or -errno: -EAFNOSUPPORT when zcrxd serves no TCP address, -EMFILE,
 * -ENFILE. */
int zcrx_socket(struct zcrx_ring *ring);
/* BIND: ip 0 is any of zcrxd's addresses, port 0 an ephemeral one. 0,
 * -EBADF, -EINVAL (bound already), -EADDRNOTAVAIL, -EADDRINUSE. */
int zcrx_bind(struct zcrx_ring *ring, int sock, uint32_t ip, uint16_t port);
/* LISTEN (backlog clamped to 1..1024 by zcrxd; an unbound socket gets an
 * ephemeral port). 0, -EBADF, -EINVAL, -EADDRINUSE. */
int zcrx_listen(struct zcrx_ring *ring, int sock, uint32_t backlog);

/* What zcrx_sockname reports (host byte order). state: zcrxd's TCP state
 * as a number, 0 closed. */
struct zcrx_sockinfo {
  uint32_t local_ip;
  uint32_t remote_ip; /* 0: no peer */
  uint16_t local_port;
  uint16_t remote_port;
  uint8_t state;
};
int zcrx_sockname(struct zcrx_ring *ring, int sock, struct zcrx_sockinfo *out);
/* close(2) of a socket, outside the ring: no CQE, unlike zcrx_prep_close.
 * Requests it has armed end with -ECANCELED; a listener stops listening
 * and connections it had not handed out are reset; a connection closes in
 * the background (FIN after what was queued, RST with unread payload), as
 * Linux closes a TCP socket. 0, -EBADF (not a socket of this ring: another
 * ring's, a flow, closed already), -errno. */
int zcrx_close_socket(struct zcrx_ring *ring, int sock);

/* Creates the ring's TX region (len rounded up to 4096, at most 1 GiB),
 * mapped read-write here, and registers it (REGISTER_TX). SEND SQEs name
 * bytes inside it by pointer. 0, -EBUSY (one per ring), -EINVAL, -ENOTCONN,
 * -errno. */
int zcrx_register_tx_region(struct zcrx_ring *ring, size_t len);
/* The TX region (NULL before zcrx_register_tx_region) and its length. */
void *zcrx_tx_region(const struct zcrx_ring *ring);
size_t zcrx_tx_region_len(const struct zcrx_ring *ring);

/* NULL when the SQ is full. */
struct zcrx_sqe *zcrx_get_sqe(struct zcrx_ring *ring);
void zcrx_prep_recv_zc(struct zcrx_sqe *sqe, int flow, uint32_t zcrx_id, uint32_t len,
                       int multishot, uint64_t user_data);
void zcrx_prep_nop(struct zcrx_sqe *sqe, uint64_t user_data);
void zcrx_prep_cancel(struct zcrx_sqe *sqe, uint64_t target_user_data, uint64_t user_data);
/* IORING_ASYNC_CANCEL_* flags of the two calls below. */
#define ZCRX_ASYNC_CANCEL_ALL (1u << 0) /* every match; res: how many (0: none) */
#define ZCRX_ASYNC_CANCEL_ANY (1u << 2) /* every request of the ring */
/* ASYNC_CANCEL with flags (ZCRX_ASYNC_CANCEL_ALL/_ANY): a cancelled
 * request (RECV_ZC, ACCEPT, CONNECT, SEND) completes with -ECANCELED
 * without ZCRX_CQE_F_MORE (a SEND that copied part of its bytes: that
 * count); the cancel: 0 (with ALL/ANY: how many), -ENOENT for none. */
void zcrx_prep_cancel_flags(struct zcrx_sqe *sqe, uint64_t target_user_data, uint32_t flags,
                            uint64_t user_data);
/* ASYNC_CANCEL of the first request on a flow or socket handle (with
 * ZCRX_ASYNC_CANCEL_ALL: every one). */
void zcrx_prep_cancel_fd(struct zcrx_sqe *sqe, int fd, uint32_t flags, uint64_t user_data);
/* SQEs on sockets. zcrx_prep_recv_zc takes a socket handle as `flow` too:
 * res is the bytes of one buffer, 0 without ZCRX_CQE_F_MORE at EOF. */
/* IORING_OP_ACCEPT on a listening socket; multishot non-zero: one CQE per
 * connection (res = its handle) while ZCRX_CQE_F_MORE says it stays armed. */
void zcrx_prep_accept(struct zcrx_sqe *sqe, int sock, int multishot, uint64_t user_data);
/* The peer of an ACCEPT completion (host byte order): 1, or 0 for an error
 * CQE (res < 0), which carries none. */
int zcrx_accept_peer(const struct zcrx_cqe32 *cqe, uint32_t *ip, uint16_t *port);
/* IORING_OP_CONNECT to ip:port (host byte order), the address inline in the
 * SQE. res 0 once established, or -ECONNREFUSED, -ETIMEDOUT, ... */
void zcrx_prep_connect(struct zcrx_sqe *sqe, int sock, uint32_t ip, uint16_t port,
                       uint64_t user_data);
/* IORING_OP_SEND of len bytes at buf, which must lie inside the TX region;
 * res = len once zcrxd copied them all (buf may then be reused). */
void zcrx_prep_send(struct zcrx_sqe *sqe, int sock, const void *buf, uint32_t len,
                    uint64_t user_data);
/* IORING_OP_SHUTDOWN; how: SHUT_RD, SHUT_WR or SHUT_RDWR (<sys/socket.h>). */
void zcrx_prep_shutdown(struct zcrx_sqe *sqe, int sock, int how, uint64_t user_data);
/* IORING_OP_CLOSE: the handle goes at once, the connection closes in the
 * background (FIN), as close(2). */
void zcrx_prep_close(struct zcrx_sqe *sqe, int sock, uint64_t user_data);
/* Publishes the SQEs taken since the last submit; returns how many. */
unsigned zcrx_submit(struct zcrx_ring *ring);

/* How zcrx_wait_cqe waits (its `mode`). */
#define ZCRX_WAIT_BUSY_POLL 0 /* spin on the CQ tail */
#define ZCRX_WAIT_EVENTFD 1   /* sleep on the eventfd (zcrx_enable_eventfd) */
#define ZCRX_WAIT_ADAPTIVE 2  /* spin for zcrx_set_spin_ns, then sleep */

/* Waits until min (1..CQ size, io_uring_wait_cqes' wait_nr) completions
 * are ready. mode: ZCRX_WAIT_*. timeout_ns < 0: forever. A sleeping wait
 * is woken by zcrxd once min are ready (or the CQ is full), not after
 * every burst: with min > 1 give a timeout, which bounds the latency of a
 * quiet spell's last completions (-ETIME with fewer ready). Number ready,
 * -ETIME, -EPROTO (corrupt CQ) or -EINVAL (bad min or mode, or a sleeping
 * mode without an eventfd). */
int zcrx_wait_cqe(struct zcrx_ring *ring, unsigned min, int mode, int64_t timeout_ns);
unsigned zcrx_cq_ready(struct zcrx_ring *ring);
/* Copies up to max ready completions (not consumed). */
unsigned zcrx_peek_cqes(struct zcrx_ring *ring, struct zcrx_cqe32 *dst, unsigned max);
void zcrx_cq_advance(struct zcrx_ring *ring, unsigned n);
/* The CQ's overflow counter as zcrxd last wrote it: completions it could
 * not post because the CQ was full (size the CQ, see docs/OPERATIONS.md). */
uint32_t zcrx_cq_overflow(const struct zcrx_ring *ring);

/* 1 when `cqe` is an event CQE of a registration whose event user_data is
 * `user_data` (zcrx_ifq_event without the ifq at hand), else 0. */
int zcrx_is_event_cqe(const struct zcrx_cqe32 *cqe, uint64_t user_data);

/* The ifq with this zcrx id on the ring, or NULL. */
struct zcrx_ifq *zcrx_ring_ifq(const struct zcrx_ring *ring, uint32_t zcrx_id);
uint32_t zcrx_ifq_id(const struct zcrx_ifq *ifq);
/* The area (mapped read-only), its length, the size of its rx buffers, the
 * refill queue's entries; shared: 1 for a clone or import (the area is
 * another ring's ifq's). */
const void *zcrx_ifq_area(const struct zcrx_ifq *ifq);
size_t zcrx_ifq_area_len(const struct zcrx_ifq *ifq);
uint32_t zcrx_ifq_rx_buf_len(const struct zcrx_ifq *ifq);
uint32_t zcrx_ifq_rq_entries(const struct zcrx_ifq *ifq);
int zcrx_ifq_shared(const struct zcrx_ifq *ifq);
/* The token zcrxd puts in the high bits of every CQE/RQE `off` of this
 * ifq; the event types it was registered for (0: none, or a clone/import)
 * and their CQEs' user_data. */
uint64_t zcrx_ifq_area_token(const struct zcrx_ifq *ifq);
uint32_t zcrx_ifq_event_mask(const struct zcrx_ifq *ifq);
uint64_t zcrx_ifq_event_user_data(const struct zcrx_ifq *ifq);
/* Payload of a data CQE, NULL unless inside this ifq's area. */
const void *zcrx_ifq_data(const struct zcrx_ifq *ifq, const struct zcrx_cqe32 *cqe);
/* 1 queued, 0 refused (not this ifq's buffer, or RQ full). */
int zcrx_ifq_refill(struct zcrx_ifq *ifq, const struct zcrx_cqe32 *cqe);
/* Queues one RQE as is (off = token | byte offset, len advisory), for a
 * consumer that kept only the offset: 1 queued, 0 RQ full. zcrxd checks
 * it (a buffer this ifq does not hold is refused and counted there). */
int zcrx_ifq_refill_off(struct zcrx_ifq *ifq, uint64_t off, uint32_t len);
void zcrx_ifq_flush_refills(struct zcrx_ifq *ifq);
/* RQ slots free now (reads zcrxd's head when the ones known free ran
 * out): what zcrx_ifq_refill can queue before a flush lets zcrxd drain. */
uint32_t zcrx_ifq_rq_free(struct zcrx_ifq *ifq);
/* Refills queued and not yet published by zcrx_ifq_flush_refills. */
uint32_t zcrx_ifq_refills_queued(const struct zcrx_ifq *ifq);

/* 0 while the ring's SQ and CQ (zcrx_ifq_rq_state: the ifq's RQ) are
 * sane, -EPROTO once zcrxd moved an index the ring cannot hold (the view
 * then moves nothing). */
int zcrx_ring_state(const struct zcrx_ring *ring);
int zcrx_ifq_rq_state(const struct zcrx_ifq *ifq);

/* Areas of your own (zcrx_ifq_params.area_fd): the size unit, 4096 or
 * 2 MiB with hugetlb; a sealable memfd of `len` bytes (a non-zero multiple
 * of the unit, else -EINVAL), not mapped: the fd (the caller closes it
 * after registering) or -errno (-ENOMEM without reserved huge pages). */
size_t zcrx_area_granule(int hugetlb);
int zcrx_create_area_fd(size_t len, int hugetlb);

/* Passing descriptors to another process (SCM_RIGHTS over a connected
 * unix socket, SOCK_SEQPACKET best: one message each): the ring fd for
 * zcrx_clone, an export fd for zcrx_import.
 *
 *   master:   int fds[2] = {zcrx_ring_fd(ring), zcrx_export(ring, id)};
 *             zcrx_send_fds(sock, &id, sizeof(id), fds, 2);
 *   follower: uint32_t id; int fds[2]; unsigned n;
 *             zcrx_recv_fds(sock, &id, sizeof(id), fds, 2, &n);  // == 4, n == 2
 *             zcrx_clone(ring, fds[0], id, 4096, &ifq);          // or
 *             zcrx_import(ring, fds[1], &ifq);
 *             close(fds[0]); close(fds[1]);
 */
#define ZCRX_MAX_PASS_FDS 2
/* Sends `len` bytes at `buf` (len > 0) with `nfds` descriptors (at most
 * ZCRX_MAX_PASS_FDS; they stay the caller's). No SIGPIPE. 0, -EINVAL
 * (too many fds), -EMSGSIZE (sent short), -errno of sendmsg. */
int zcrx_send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned nfds);
/* Receives one message into `buf` (`cap` bytes) and up to `max_fds`
 * descriptors into `fds` (close-on-exec, the caller's; *nfds says how
 * many); any beyond are closed. Returns the message's length, 0 when the
 * peer closed, -EMSGSIZE when the message or its descriptors did not fit
 * (none kept), -errno of recvmsg. */
int zcrx_recv_fds(int sock, void *buf, size_t cap, int *fds, unsigned max_fds, unsigned *nfds);

#ifdef __cplusplus
}
#endif

#endif /* ZCRX_ZCRX_H */
