// SPDX-License-Identifier: MIT
// Control protocol between zcrxd and its consumers.
//
// Transport: a unix SOCK_SEQPACKET socket. One connection (session) is one
// consumer ring (the io_uring ctx): closing it, or the death of the process
// holding it, terminates the ring. Memory and capabilities travel only as
// file descriptors (SCM_RIGHTS), never as numbers the peer could forge.
//
// Every message starts with a MsgHeader; `len` is the size of the whole
// message and must equal the number of bytes received. A request is
// MsgHeader + the op's fixed request struct (Request<Body>). A reply repeats
// the request's op and seq, then carries an i32 result (0/positive or a
// kernel -errno) and, on success only, the op's fixed reply struct
// (Reply<Body>). An error reply is a bare ReplyHeader with no fds. Up to
// kMaxFds fds ride on a message.
//
// zcrxd validates everything (validate_request): a bad magic, version, op or
// length, or a non-zero reserved field is answered with -EINVAL; a message
// that is not even a header may close the session. The consumer validates
// every reply the same way (validate_reply). Both treat every byte received
// as untrusted.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "zcrx/ring_layout.h"
#include "zcrx/uapi.h"

namespace zcrx::proto {

inline constexpr uint32_t kMagic = 0x5a435258;  // 'ZCRX'
/// 2: REGISTER_IFQ carries a zcrx_event_desc, CTRL carries
/// ZCRX_CTRL_ARM_EVENT. 3: SQ_WAKEUP, and zcrxd stops polling an idle SQ
/// (IORING_SQ_NEED_WAKEUP). 4: TCP sockets (SOCKET, BIND, LISTEN,
/// SOCKNAME, REGISTER_TX and their SQEs). A peer speaking another version
/// gets -EINVAL.
inline constexpr uint16_t kVersion = 4;
/// Most fds one message carries (REGISTER_IFQ replies: RQ region + area).
inline constexpr unsigned kMaxFds = 2;

/// Operations. Values are part of the ABI; never renumber.
enum Op : uint16_t {
  kOpCreateRing = 1,
  kOpRegisterIfq = 2,
  kOpExport = 3,
  kOpCtrl = 4,
  kOpOpenFlow = 5,
  kOpCloseFlow = 6,
  kOpRegisterEventfd = 7,
  kOpUnregisterEventfd = 8,
  kOpSqWakeup = 9,
  kOpSocket = 10,
  kOpBind = 11,
  kOpListen = 12,
  kOpSockName = 13,
  kOpRegisterTx = 14,
  kOpCloseSocket = 15,
};
inline constexpr uint16_t kOpFirst = kOpCreateRing;
inline constexpr uint16_t kOpLast = kOpCloseSocket;

/// Bit 0 of the ring's cq_off.flags word: set by the consumer before it
/// sleeps on its eventfd (it then re-checks the CQ); zcrxd writes the
/// eventfd at most once per burst and only while the bit is set, and clears
/// it (with kCqWakeTarget) when it does. Both sides use a store-then-load
/// (Dekker) order so a wakeup is never lost: the consumer sets the bit
/// (seq_cst RMW) and then re-reads the CQ tail (seq_cst load); zcrxd
/// publishes the CQ tail (release), issues a seq_cst fence (or, where
/// ThreadSanitizer must follow it, a seq_cst RMW of the tail word), then
/// reads the bit (acquire) and, when set and the wake target (below) is
/// reached, clears it (atomic RMW) and writes the eventfd.
inline constexpr uint32_t kCqNeedWakeup = 1u << 0;

/// Bit 1 of the cq_off.flags word, set together with kCqNeedWakeup (one
/// RMW): the wake target word holds the CQ tail value the sleeper waits
/// for, like io_uring_wait_cqes(wait_nr) (head + wait_nr). zcrxd then
/// writes the eventfd only once (int32_t)(tail - target) >= 0, or the CQ
/// is full, or events wait for CQ room (a target the CQ cannot reach, or a
/// stalled queue, must not keep the sleeper asleep); the sleeper's own
/// timeout bounds everything else. Without this bit the target is ignored
/// (any published CQE wakes), so a consumer that never writes the word
/// keeps the one-wakeup-per-burst behaviour.
///
/// The target word is at the offset zcrxd reports in CreateRingReply
/// cq_off.resv1 (the kernel's reserved word, 0 from a zcrxd without it:
/// then the consumer sets kCqNeedWakeup alone). It is written only by the
/// consumer, with a relaxed store sequenced before the flags RMW, which
/// releases it: zcrxd's acquire load of the flags word that sees the bit
/// therefore sees the target stored with it. Any value is harmless: the
/// worst a wrong one does is keep its own consumer asleep until the CQ is
/// full or its timeout.
inline constexpr uint32_t kCqWakeTarget = 1u << 1;

/// A RECV_ZC completion flag of zcrxd's own: this CQE carries the last
/// bytes of a datagram (UDP flow) or frame (raw flow). Set on every CQE
/// that ends one, also when one CQE is the whole datagram; a datagram
/// larger than rx_buf_len (or reassembled from fragments, or copied into
/// several buffers) arrives as several CQEs of which only the last has it.
/// When a len-limited request reaches its limit inside a datagram, the CQE
/// that reaches it ends what the consumer gets of that datagram and has
/// the flag; the request's final CQE (res 0) follows.
///
/// Bit 16: the kernel's CQE flags live in the lower 16 bits (BUFFER,
/// MORE, SOCK_NONEMPTY, NOTIF, BUF_MORE, SKIP, ..., F_32 = bit 15) because
/// the upper 16 are the buffer id when IORING_CQE_F_BUFFER is set; RECV_ZC
/// never sets F_BUFFER (its buffers are named by zcqe.off), so the upper
/// bits are unused on its CQEs and no kernel flag can take this one.
inline constexpr uint32_t kCqeFDatagramEnd = 1u << 16;
static_assert(kCqeFDatagramEnd >> uapi::kCqeBufferShift != 0, "outside the kernel's flag bits");
static_assert((kCqeFDatagramEnd & (uapi::kCqeFBuffer | uapi::kCqeFMore | uapi::kCqeFSockNonempty |
                                   uapi::kCqeFNotif | uapi::kCqeFBufMore | uapi::kCqeFSkip |
                                   uapi::kCqeF32)) == 0);

/// Flow kinds of OPEN_FLOW.
enum FlowKind : uint8_t {
  kFlowUdpPort = 1,   // UDP to dst_port, any address (ip_version 0, 4 or 6)
  kFlowFiveTuple = 2, // UDP with exactly these addresses and ports
  kFlowRaw = 3,       // every packet of the queue no other flow claims
};

// ---- framing -----------------------------------------------------------

struct MsgHeader {
  uint32_t magic;    // kMagic
  uint16_t version;  // kVersion
  uint16_t op;       // Op
  uint32_t len;      // total message bytes, header included
  uint32_t seq;      // chosen by the consumer, echoed in the reply
};

struct ReplyHeader {
  MsgHeader hdr;   // op and seq of the request
  int32_t result;  // 0/positive or -errno (kernel values)
  uint32_t resv;   // must be 0
};

// ---- CREATE_RING (exactly once per session) -------------------------------
// Request: entries are rounded up to powers of two. sq_entries must be in
// [1, kMaxSqEntries]; cq_entries 0 means 2 * sq_entries, otherwise it must
// be in [sq_entries, kMaxCqEntries] (then rounded). Anything else -EINVAL;
// a second CREATE_RING on a session -EEXIST; ops other than CREATE_RING
// before it -EBADFD.
// Reply: the region geometry + fd[0]: the ring region memfd (map it RW,
// MAP_SHARED, `size` bytes at offset 0). The layout must pass
// validate_ring_region(). The memfd also names the ring for CLONE.

struct CreateRingReq {
  uint32_t sq_entries;
  uint32_t cq_entries;
  uint32_t flags;  // must be 0 (CQE32 and NO_SQARRAY are implied)
  uint32_t resv;   // must be 0
};

struct CreateRingReply {
  uapi::io_sqring_offsets sq_off;
  uapi::io_cqring_offsets cq_off;  // resv1: wake target word (kCqWakeTarget), 0: none
  uint32_t sqes_off;  // byte offset of the SQE array
  uint32_t sq_entries;
  uint32_t cq_entries;
  uint32_t resv;      // 0
  uint64_t size;      // region bytes
};

// ---- REGISTER_IFQ --------------------------------------------------------
// Request + fd[0], one of:
//  * register (reg.flags 0): the area memfd. `port` is the DPDK port id,
//    reg.if_rxq the queue. area.addr is the byte offset of the area in the
//    memfd and area.len its length (both multiples of 4096, len > 0);
//    area.flags must be 0 (no dmabuf). The memfd must accept F_SEAL_SHRINK
//    (created with MFD_ALLOW_SEALING): zcrxd seals it so the consumer cannot
//    truncate the area under the NIC; a memfd that refuses is -EINVAL.
//  * clone (reg.flags kZcrxIfqRegClone, fd = another session's ring region
//    memfd, matched by (st_dev, st_ino)): reg.if_rxq = source zcrx id.
//    Same ring -EBADFD, no such ifq -EINVAL.
//  * import (reg.flags kZcrxRegImport, fd = an EXPORT fd): if_rxq,
//    rq_entries and the whole area struct must be 0, else -EINVAL.
//  * device-less register (reg.flags ZCRX_REG_NODEV): as register, with
//    `port` and reg.if_rxq 0 (else -EINVAL) and rx_buf_len 0 or 4096
//    (else -EOPNOTSUPP). No queue is bound: the ifq has an area and an RQ
//    and can be exported, imported and cloned, but OPEN_FLOW on it is
//    -EINVAL (no queue delivers to it; the kernel fills such an ifq only
//    through the copy path of a socket receive, which zcrxd has not yet).
//  An fd that is neither a live ring region nor an export fd, with flags 1,
//  gives -EBADF (after the import field checks, -EINVAL); a missing fd
//  -EBADF.
//  * zcrxd-made area (register with area.flags kAreaFlagZcrxdMade, no fd):
//    zcrxd creates the area memfd itself (area.addr must be 0, area.len its
//    length), lays an in-area mempool over it (mbuf headers and data in
//    the area: what net_af_xdp needs to use it as its UMEM and receive
//    without a copy), seals it with F_SEAL_FUTURE_WRITE before anyone else
//    sees it and answers with it read-only as fd[1], as for clone/import.
//    Nobody but zcrxd can write it, the registering ring included.
// Always: reg.if_idx is ignored (the kernel's ifindex/fd number means
// nothing across processes: `port` and the passed fd are used);
// reg.flags must be 0, 1 or 2; reg.area_ptr, reg.region_ptr, reg.zcrx_id and
// reg.__resv must be 0; reg.offsets and area.rq_area_token are outputs and
// ignored; area.dmabuf_fd and area.__resv2 must be 0; resv must be 0.
// Events (register only): `event` is the zcrx_event_desc itself, by value.
// reg.event_desc says whether there is one, as in the kernel: 0 = none
// (then `event` must be all zero), any other value = use `event` (the
// value is the consumer's pointer and means nothing to zcrxd). Clone and
// import: reg.event_desc and `event` must be 0 (-EINVAL). zcrxd checks the
// descriptor as the kernel does (unknown type bits or flags, stats_offset
// without ZCRX_EVENT_DESC_FLAG_STATS, __resv2: -EINVAL; a stats block
// misaligned -EINVAL, overlapping the RQ or past the RQ region -ERANGE;
// stats_offset_for() gives a valid place). The registering ring is the
// ifq's master ctx; for the types in event.type_mask, event CQEs
// (user_data = event.user_data, res = zcrx_event_type, flags 0, big-CQE
// half 0) land on this ring's CQ, each type once until re-armed with
// CTRL / ZCRX_CTRL_ARM_EVENT.
// rq_entries (not import) is rounded up to a power of two, [1,
// kMaxRqEntries]; reg.rx_buf_len 0 means 4096.
// Reply: reg with zcrx_id, offsets (of the RQ region), rq_entries and
// rx_buf_len filled; area with rq_area_token and, for clone/import, the
// shared area's addr (offset in fd[1]) and len; rq_region_size (a
// zcrxd-made area: area.flags kAreaFlagZcrxdMade, addr 0, fd[1] too).
// fd[0]: the RQ region memfd (map RW, rq_region_size bytes; must pass
// validate_rq_region()). fd[1] (clone/import only): the area memfd,
// read-only, to map at area.addr for area.len bytes.

/// area.flags bit of a fresh registration: zcrxd creates the area (see
/// above). Above the kernel's area flags (IORING_ZCRX_AREA_DMABUF is 1).
inline constexpr uint32_t kAreaFlagZcrxdMade = 1u << 31;

struct RegisterIfqReq {
  uapi::io_uring_zcrx_ifq_reg reg;
  uapi::io_uring_zcrx_area_reg area;
  uint32_t port;
  uint32_t resv;  // must be 0
  uapi::zcrx_event_desc event;  // used when reg.event_desc != 0 (version 2)
};

struct RegisterIfqReply {
  uapi::io_uring_zcrx_ifq_reg reg;
  uapi::io_uring_zcrx_area_reg area;
  uint64_t rq_region_size;
  uint64_t resv;  // 0
};

// ---- EXPORT / CTRL ---------------------------------------------------------
// EXPORT: ctrl.op must be ZCRX_CTRL_EXPORT; ctrl.__resv and
// zc_export (zcrx_fd included) must be 0. Reply: no body; fd[0] is the
// export fd (it stands for the box until every copy of it is closed).
// CTRL: ctrl.op must be ZCRX_CTRL_FLUSH_RQ or ZCRX_CTRL_ARM_EVENT
// (EXPORT through CTRL, or an unknown op, -EINVAL); reserved words must be
// 0 (FLUSH_RQ: the whole payload; ARM_EVENT: zc_arm_event.__resv). Reply:
// no body. An unknown zcrx_id gives the engine's error (the kernel's
// -ENXIO); ARM_EVENT of a type >= __ZCRX_EVENT_TYPE_LAST or one that has
// not fired since it was last armed: -EINVAL.

struct CtrlReq {
  uapi::zcrx_ctrl ctrl;
};

// ---- OPEN_FLOW / CLOSE_FLOW ------------------------------------------------
// Addresses are in network byte order (IPv4 in the first 4 bytes, the other
// 12 zero); ports in host byte order.
//  * kFlowUdpPort: dst_port != 0; ip_version 0 (any), 4 or 6; addresses and
//    src_port 0.
//  * kFlowFiveTuple: ip_version 4 or 6; ports non-zero.
//  * kFlowRaw: ip_version, addresses and ports all 0.
// Reply: the flow handle to put in the RECV_ZC SQE's fd. -EEXIST when this
// ring already has the flow open, or it belongs to a flow group of another
// real ifq (rings whose ifqs share one real ifq join its group); -EINVAL
// for an unknown zcrx_id; -EMFILE past zcrxd's per-ring flow limit.
//
// RECV_ZC completions (not replies, CQEs): a handle not open -EBADF, an
// unknown zcrx id or a missing IORING_RECV_MULTISHOT -EINVAL, a second
// RECV_ZC on a handle that has one armed -EBUSY; a flow closed under an
// armed request ends it with a final CQE of res 0 (no F_MORE).

struct OpenFlowReq {
  uint32_t zcrx_id;
  uint8_t kind;        // FlowKind
  uint8_t ip_version;  // 0, 4 or 6
  uint16_t resv0;      // must be 0
  uint8_t src_addr[16];
  uint8_t dst_addr[16];
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t resv1;  // must be 0
};

struct OpenFlowReply {
  uint32_t handle;
  uint32_t resv;  // 0
};

/// Reply: no body. Unknown handle -ENOENT.
struct CloseFlowReq {
  uint32_t handle;
  uint32_t resv;  // must be 0
};

// ---- REGISTER_EVENTFD / UNREGISTER_EVENTFD ---------------------------------
// REGISTER_EVENTFD carries fd[0], an eventfd (missing -EBADF, not an eventfd
// -EINVAL, one already registered -EBUSY as io_uring does).
// UNREGISTER_EVENTFD: none registered -ENXIO. Replies: no body.

struct EventfdReq {
  uint32_t flags;  // must be 0
  uint32_t resv;   // must be 0
};

// ---- SQ_WAKEUP (no reply) ----------------------------------------------------
// zcrxd's datapath polls a ring's SQ only while it is in use, as an io_uring
// SQPOLL thread does: once the SQ has stayed empty for zcrxd's --sq-idle-ms,
// zcrxd sets IORING_SQ_NEED_WAKEUP (uapi::kSqNeedWakeup) in the ring's
// sq_off.flags word and stops reading the SQ tail. A consumer that publishes
// SQEs then reads the flags word with a seq_cst RMW (fetch_or(0)) after its
// tail store and, when the bit is set, sends SQ_WAKEUP, as a liburing
// program calls io_uring_enter(IORING_ENTER_SQ_WAKEUP); zcrxd clears the bit
// when it polls the SQ again. zcrxd sets the bit with a seq_cst RMW and then
// re-reads the tail, so one side always sees the other. RECV_ZC requests
// already armed keep completing while the SQ is not polled.
// The only request without a reply (nothing to wait for, as with
// io_uring_enter's wakeup); a malformed one is ignored.

struct SqWakeupReq {
  uint32_t flags;  // must be 0
  uint32_t resv;   // must be 0
};

// ---- TCP sockets (version 4) --------------------------------------------------
// zcrxd terminates TCP itself (docs/ARCHITECTURE.md "TCP"), on the addresses
// given with --ip; without one, SOCKET is -EAFNOSUPPORT. A socket is a
// handle in the ring's own table (values from kSocketHandleBase, so they
// never collide with flow handles), named in the `fd` of the SQEs below.
// A ring's sockets live on the queue of the ring's entries (as its flows);
// a socket made before any entry fixes the ring to the first queue.
//
// SOCKET: AF_INET, SOCK_STREAM (SOCK_NONBLOCK and SOCK_CLOEXEC accepted and
// meaningless), protocol 0 or IPPROTO_TCP. -EAFNOSUPPORT (another domain,
// or no --ip), -ESOCKTNOSUPPORT (another type), -EPROTONOSUPPORT, -EMFILE
// (the ring's socket table is full), -ENFILE (zcrxd's). Reply: the handle.
// BIND: addr (network byte order) one of zcrxd's --ip addresses or 0
// (INADDR_ANY), port in host byte order (0: an ephemeral one). -EBADF (no
// such socket), -EINVAL (bound already), -EADDRNOTAVAIL, -EADDRINUSE.
// LISTEN: backlog (clamped to 1..1024; 0 is 1). An unbound socket is bound
// to an ephemeral port first, as Linux does. -EBADF, -EINVAL (connected or
// connecting), -EADDRINUSE.
// SOCKNAME: the socket's local and peer addresses and its TCP state.
// CLOSE_SOCKET: close(2) of a socket, with no CQE of its own (a program
// closing a socket outside its ring must not find a completion it never
// asked for): what IORING_OP_CLOSE does below. Requests the socket has
// armed end with -ECANCELED, a listener stops (connections it had not
// handed out are reset), a connection closes in the background (FIN, or
// RST with unread payload). -EBADF: not a socket of this ring (another
// ring's, a flow handle, closed already). Added after version 4 without a
// version change: a zcrxd that predates it answers -EINVAL.
// REGISTER_TX + fd[0]: the ring's TX region, a sealable memfd of `len`
// bytes the consumer maps at `base` (its own address, used to translate
// the pointers of SEND SQEs: zcrxd reads [addr - base, + len) of its own
// mapping). zcrxd seals it against shrinking and maps it read-only. One per
// ring (-EBUSY); len a non-zero multiple of 4096 up to 1 GiB (-EINVAL); a
// file shorter than len or not writable by its owner (-EFAULT); a memfd that
// refuses the seal (-EINVAL).
//
// SQEs on sockets (the kernel's opcodes and fields; zcrxd writes no
// consumer memory, so what the kernel would write through a pointer comes
// in the completion instead):
//  * IORING_OP_ACCEPT: fd = a listening socket; ioprio
//    IORING_ACCEPT_MULTISHOT for one CQE per connection (F_MORE while
//    armed). res = the new socket's handle; the big CQE half carries the
//    peer (accept_peer()). addr/addr2 (sockaddr pointers) are ignored.
//  * IORING_OP_CONNECT: fd = a socket; the peer inline: addr 0, off 0,
//    addr3 = IPv4 (network byte order) | port (host order) << 32. res 0
//    once established, or -ECONNREFUSED, -ETIMEDOUT, -ENETUNREACH,
//    -EISCONN, -EALREADY.
//  * IORING_OP_SEND: fd = a connected socket; addr = a pointer inside the
//    TX region (as the consumer maps it), len bytes. zcrxd copies them into
//    the socket's send buffer and completes with res = len once all are
//    copied (the region may then be reused), waiting for send-buffer room
//    as a blocking send(2) does. -EFAULT (not inside the TX region, or no
//    TX region), -EPIPE, -ECONNRESET, -ENOTCONN.
//  * IORING_OP_RECV_ZC: fd = a connected socket, zcrx_ifq_idx an entry of
//    the socket's queue (-EINVAL otherwise, as the kernel's rule that
//    RECV_ZC's ifq be the one bound to the socket's queue); multishot;
//    res = bytes of one buffer; EOF: res 0 without F_MORE; -ECONNRESET,
//    -ETIMEDOUT end it.
//  * IORING_OP_SHUTDOWN: fd, len = SHUT_RD / SHUT_WR / SHUT_RDWR.
//  * IORING_OP_CLOSE: fd = a socket: the handle goes at once, the
//    connection closes in the background (FIN), as close(2) does.

inline constexpr uint32_t kSocketHandleBase = 1024;

struct SocketReq {
  uint32_t domain;    // AF_INET
  uint32_t type;      // SOCK_STREAM (| SOCK_NONBLOCK | SOCK_CLOEXEC)
  uint32_t protocol;  // 0 or IPPROTO_TCP
  uint32_t resv;      // must be 0
};

struct SocketReply {
  uint32_t handle;
  uint32_t resv;  // 0
};

struct BindReq {
  uint32_t handle;
  uint32_t addr;   // network byte order; 0: any of zcrxd's
  uint16_t port;   // host byte order; 0: ephemeral
  uint16_t resv0;  // must be 0
  uint32_t resv1;  // must be 0
};

struct ListenReq {
  uint32_t handle;
  uint32_t backlog;
};

struct SockNameReq {
  uint32_t handle;
  uint32_t resv;  // must be 0
};

struct SockNameReply {
  uint32_t local_addr;   // network byte order
  uint32_t remote_addr;  // network byte order (0: none)
  uint16_t local_port;   // host byte order
  uint16_t remote_port;
  uint8_t state;         // zcrx::tcp::State as a number (0: closed)
  uint8_t resv[3];       // 0
};

struct CloseSocketReq {
  uint32_t handle;
  uint32_t resv;  // must be 0
};

struct TxRegionReq {
  uint64_t base;   // where the consumer maps the region
  uint64_t len;    // bytes, a multiple of 4096
  uint32_t flags;  // must be 0
  uint32_t resv;   // must be 0
};

// ---- whole messages --------------------------------------------------------

template <class Body>
struct Request {
  MsgHeader hdr;
  Body body;
};

template <class Body>
struct Reply {
  ReplyHeader rh;
  Body body;
};

static_assert(sizeof(MsgHeader) == 16);
static_assert(sizeof(ReplyHeader) == 24);
static_assert(offsetof(ReplyHeader, result) == 16);
static_assert(sizeof(CreateRingReq) == 16);
static_assert(sizeof(CreateRingReply) == 104);
static_assert(offsetof(CreateRingReply, sqes_off) == 80);
static_assert(offsetof(CreateRingReply, size) == 96);
static_assert(sizeof(RegisterIfqReq) == 248);
static_assert(offsetof(RegisterIfqReq, area) == 96);
static_assert(offsetof(RegisterIfqReq, port) == 144);
static_assert(offsetof(RegisterIfqReq, event) == 152);
static_assert(sizeof(RegisterIfqReply) == 160);
static_assert(offsetof(RegisterIfqReply, rq_region_size) == 144);
static_assert(sizeof(CtrlReq) == 72);
static_assert(sizeof(OpenFlowReq) == 48);
static_assert(offsetof(OpenFlowReq, src_addr) == 8);
static_assert(offsetof(OpenFlowReq, src_port) == 40);
static_assert(sizeof(OpenFlowReply) == 8);
static_assert(sizeof(CloseFlowReq) == 8);
static_assert(sizeof(EventfdReq) == 8);
static_assert(sizeof(SqWakeupReq) == 8);
static_assert(sizeof(SocketReq) == 16);
static_assert(sizeof(SocketReply) == 8);
static_assert(sizeof(BindReq) == 16);
static_assert(sizeof(ListenReq) == 8);
static_assert(sizeof(SockNameReq) == 8);
static_assert(sizeof(SockNameReply) == 16);
static_assert(sizeof(TxRegionReq) == 24);
static_assert(sizeof(CloseSocketReq) == 8);
static_assert(sizeof(Request<CreateRingReq>) == 32);
static_assert(sizeof(Request<RegisterIfqReq>) == 264);
static_assert(sizeof(Request<CtrlReq>) == 88);
static_assert(sizeof(Request<OpenFlowReq>) == 64);
static_assert(sizeof(Reply<CreateRingReply>) == 128);
static_assert(sizeof(Reply<RegisterIfqReply>) == 184);
static_assert(sizeof(Reply<OpenFlowReply>) == 32);

/// Largest message of the protocol: a receive buffer of this size holds
/// any valid message (receive into one a little larger to detect
/// oversized ones by length rather than by truncation).
inline constexpr size_t kMaxMsgSize = 320;
static_assert(sizeof(Request<RegisterIfqReq>) <= kMaxMsgSize);
static_assert(sizeof(Reply<RegisterIfqReply>) <= kMaxMsgSize);

// ---- validation (both sides) ------------------------------------------------

/// Size of the request message for `op` (header included), 0 for an
/// unknown op.
size_t request_size(uint16_t op);
/// Size of a successful reply for `op` (ReplyHeader included; ops without
/// reply data: sizeof(ReplyHeader)), 0 for an unknown op or one without a
/// reply (SQ_WAKEUP).
size_t reply_size(uint16_t op);
/// Fds a request for `op` must carry (REGISTER_IFQ, REGISTER_EVENTFD and
/// REGISTER_TX: 1, others 0). Surplus fds are closed by the receiver; a missing one is
/// -EBADF.
unsigned request_fds(uint16_t op);

/// Checks magic, version, a known op and that hdr.len == `received`.
/// Returns 0 or -EINVAL.
int validate_header(const MsgHeader& hdr, size_t received);

/// Checks a whole request of `n` bytes at `buf` (any alignment): header as
/// validate_header, len == request_size(op), every reserved field zero and
/// the op's field rules that need no server state (see each op above).
/// Returns 0 or -EINVAL. `hdr_out`, when given, receives the header copy
/// whenever at least sizeof(MsgHeader) bytes arrived (to echo op/seq in
/// the -EINVAL reply).
int validate_request(const void* buf, size_t n, MsgHeader* hdr_out = nullptr);

/// Checks a reply of `n` bytes at `buf` to request (`op`, `seq`): header,
/// same op and seq, result in [-4095, INT32_MAX], resv 0; an error reply
/// must be a bare ReplyHeader, a success reply exactly reply_size(op).
/// Returns 0 (and the result in `*result`) or -EINVAL.
int validate_reply(const void* buf, size_t n, uint16_t op, uint32_t seq,
                   int32_t* result);

/// Where a zcrx_stats block fits in the RQ region zcrxd creates for a
/// registration asking for `rq_entries` (rounded and capped as zcrxd
/// does): the value for zcrx_event_desc.stats_offset with
/// ZCRX_EVENT_DESC_FLAG_STATS. 0 when rq_entries is 0 or the region has
/// no room. The first 64-byte boundary after the RQE array.
uint64_t stats_offset_for(uint32_t rq_entries);
/// The same for a region laid out as `l` (zcrxd and zcrx_core use it).
uint64_t stats_offset(const RqRegionLayout& l);

/// Fills a request header for `op` (len = request_size(op)).
MsgHeader make_header(uint16_t op, uint32_t seq);
/// Fills a reply header answering `req` (len = sizeof(ReplyHeader) when
/// result < 0 or `body_len` is 0, else sizeof(ReplyHeader) + body_len).
ReplyHeader make_reply_header(const MsgHeader& req, int32_t result, size_t body_len);

/// Default control socket: $XDG_RUNTIME_DIR/zcrx/zcrxd.sock when that
/// variable is set and non-empty, else /run/zcrx/zcrxd.sock.
std::string default_socket_path();

// ---- fd passing -------------------------------------------------------------

/// Sends one message with `nfds` (<= kMaxFds) fds attached. The fds stay
/// owned by the caller. Retries EINTR; MSG_NOSIGNAL (a closed peer is
/// -EPIPE, not SIGPIPE). Returns 0 or -errno (-EINVAL when nfds > kMaxFds,
/// -EMSGSIZE when the socket took less than the whole message).
int send_msg(int sock, const void* buf, size_t len, const int* fds, unsigned nfds);

/// What recv_msg got.
struct RecvdMsg {
  size_t len = 0;              // message bytes; 0 = peer closed
  int fds[kMaxFds] = {-1, -1}; // received fds (close-on-exec), owned by caller
  unsigned nfds = 0;
  unsigned fds_closed = 0;     // fds closed on arrival (surplus or truncated)
  bool truncated = false;      // message larger than the buffer (MSG_TRUNC)
  bool ctrunc = false;         // control data did not fit (MSG_CTRUNC)
  // When truncated or ctrunc is set, every fd that arrived was closed.
};

/// Receives one message into `buf` (`cap` bytes) keeping at most `max_fds`
/// (<= kMaxFds) fds, with MSG_CMSG_CLOEXEC; surplus fds are closed and
/// counted. Retries EINTR. `flags` is passed to recvmsg (e.g. MSG_DONTWAIT).
/// Returns 0 or -errno from recvmsg (-EAGAIN...). A truncated message or
/// control part is reported in `out`, not as an error: the caller answers
/// it (-EINVAL).
int recv_msg(int sock, void* buf, size_t cap, RecvdMsg& out,
             unsigned max_fds = kMaxFds, int flags = 0);

/// Closes every fd in `m` and marks them gone.
void close_fds(RecvdMsg& m);

}  // namespace zcrx::proto
