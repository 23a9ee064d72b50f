#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

Each seed is a small valid input in the target's own format (see the comment
at the top of each fuzz_*.cpp): whole request sequences for
fuzz_control_proto, consumer/datapath step sequences for fuzz_ring_memory,
frames for fuzz_frame_parse. Run it again after changing an input format;
the files it writes are committed.

    python3 tests/fuzz/make_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_control_proto ------------------------------------------------------

MAGIC, VERSION = 0x5A435258, 3
OP_CREATE_RING, OP_REGISTER_IFQ, OP_EXPORT, OP_CTRL = 1, 2, 3, 4
OP_OPEN_FLOW, OP_CLOSE_FLOW, OP_REG_EVENTFD, OP_UNREG_EVENTFD, OP_SQ_WAKEUP = 5, 6, 7, 8, 9
CTRL_FLUSH_RQ, CTRL_EXPORT, CTRL_ARM_EVENT = 0, 1, 2
# Descriptor kinds of Consumers::make_fd (low 3 bits; the rest picks a size
# or which kept descriptor).
FD_MEMFD, FD_MEMFD_NOSEAL, FD_PIPE, FD_EVENTFD, FD_RING, FD_EXPORT, FD_SEALED = range(7)


def msg(op, body, seq=1):
    return struct.pack("<IHHII", MAGIC, VERSION, op, 16 + len(body), seq) + body


def create_ring(sq=8, cq=16):
    return msg(OP_CREATE_RING, struct.pack("<IIII", sq, cq, 0, 0))


def register(rxq=0, rq_entries=64, area_off=0, area_len=65536, flags=0, port=0,
             event=None):
    event_desc = 0x1000 if event else 0
    reg = struct.pack("<IIIIQQ32sIIQ16s", 0, rxq, rq_entries, flags, 0, 0, b"", 0, 0,
                      event_desc, b"")
    area = struct.pack("<QQQII16s", area_off, area_len, 0, 0, 0, b"")
    ev = event or bytes(96)
    return msg(OP_REGISTER_IFQ, reg + area + struct.pack("<II", port, 0) + ev)


def event_desc(mask=3, flags=0, stats_offset=0):
    return struct.pack("<QIIQ72s", 0xE7E7, mask, flags, stats_offset, b"")


def ctrl(op, zcrx_id=0, arm_type=0, msg_op=OP_CTRL):
    body = struct.pack("<IIQQ", zcrx_id, op, 0, 0)
    body += struct.pack("<I44s", arm_type if op == CTRL_ARM_EVENT else 0, b"")
    return msg(msg_op, body)


def open_flow(zcrx_id=0, port=5000):
    return msg(OP_OPEN_FLOW, struct.pack("<IBBH16s16sHHI", zcrx_id, 1, 0, 0, b"", b"", 0,
                                         port, 0))


def eventfd_req(op):
    return msg(op, struct.pack("<II", 0, 0))


def send(session, m, fds=(), mode=0, uid=0):
    """A message record (Consumers::send_request)."""
    a = (session << 3) | (uid << 5) | 0
    rec = bytes([a, len(fds), mode]) + struct.pack("<H", len(m)) + m
    return rec + bytes(fds)


def hang_up(session):
    return bytes([(session << 3) | 4])


def close_export(i=0):
    return bytes([5, i])


def datapath(area=0, packets=4, slots=(0, 0, 0, 0)):
    return bytes([6, area | (packets << 4)]) + bytes(slots[:packets])


def rqe(session, zcrx_id=0, niov=0):
    return bytes([(session << 3) | 7, zcrx_id, niov])


def control_seeds():
    area_fd = FD_MEMFD | (16 << 3)  # a 64 KiB sealable memfd
    # A ring registers, receives, hands buffers back, shares its ifq by
    # export (imported by a second ring) and by clone (a third ring), arms
    # events, takes an eventfd, and goes.
    life = b"".join([
        send(0, create_ring()),
        send(0, register(event=event_desc()), fds=[area_fd]),
        send(0, open_flow()),
        datapath(packets=4),
        rqe(0, 0, 0), rqe(0, 0, 1),
        datapath(packets=0),
        send(0, ctrl(CTRL_FLUSH_RQ)),
        send(0, ctrl(CTRL_EXPORT, msg_op=OP_EXPORT)),
        send(1, create_ring(), uid=1),
        send(1, register(flags=1, rq_entries=0, area_len=0), fds=[FD_EXPORT], uid=1),
        send(2, create_ring()),
        send(2, register(rxq=0, flags=1, rq_entries=0, area_len=0), fds=[FD_RING]),
        datapath(packets=6, slots=(1, 2, 1, 2, 0, 0)),
        rqe(1, 0, 4), rqe(2, 0, 5),
        send(0, ctrl(CTRL_ARM_EVENT, arm_type=0)),
        send(0, eventfd_req(OP_REG_EVENTFD), fds=[FD_EVENTFD]),
        send(0, eventfd_req(OP_UNREG_EVENTFD)),
        close_export(0),
        hang_up(0),
        datapath(packets=2, slots=(1, 2)),
        hang_up(1),
    ])
    write("fuzz_control_proto", "lifecycle", life)
    # Registrations zcrxd must refuse: a pipe, a memfd that cannot be
    # sealed, a write-sealed one, an area past the file, a queue not served,
    # a stats block in a bad place.
    refused = b"".join([
        send(0, create_ring()),
        send(0, register(), fds=[FD_PIPE]),
        send(0, register(), fds=[FD_MEMFD_NOSEAL]),
        send(0, register(), fds=[FD_SEALED]),
        send(0, register(area_len=65536), fds=[FD_MEMFD | (4 << 3)]),
        send(0, register(rxq=9), fds=[area_fd]),
        send(0, register(event=event_desc(flags=1, stats_offset=12)), fds=[area_fd]),
        send(0, register(rxq=1, event=event_desc(flags=1, stats_offset=1088)), fds=[area_fd]),
        send(0, register(rxq=2), fds=[area_fd]),
        send(0, eventfd_req(OP_REG_EVENTFD), fds=[FD_PIPE]),
    ])
    write("fuzz_control_proto", "refusals", refused)
    # Framing: a bare header, a message past the receive buffer with three
    # descriptors, a wrong magic, an SQ_WAKEUP, a request before
    # CREATE_RING, a second CREATE_RING.
    bad_magic = bytearray(create_ring())
    bad_magic[0] ^= 1
    framing = b"".join([
        send(0, ctrl(CTRL_FLUSH_RQ)),
        send(0, eventfd_req(OP_SQ_WAKEUP)),
        send(0, bytes(bad_magic)),
        send(0, create_ring()),
        send(0, create_ring()),
        send(0, msg(OP_CTRL, bytes(380)), fds=[FD_PIPE, FD_EVENTFD, FD_PIPE]),
        send(0, msg(OP_CREATE_RING, b"")),
    ])
    write("fuzz_control_proto", "framing", framing)
    # Limits: a uid's third ring is refused, exports past the per-ring cap.
    limits = b"".join([
        send(0, create_ring()), send(1, create_ring()), send(2, create_ring()),
        send(0, register(), fds=[area_fd]),
        send(0, ctrl(CTRL_EXPORT, msg_op=OP_EXPORT)),
        send(0, ctrl(CTRL_EXPORT, msg_op=OP_EXPORT)),
        send(0, ctrl(CTRL_EXPORT, msg_op=OP_EXPORT)),
        send(1, register(flags=1, rq_entries=0, area_len=0), fds=[FD_EXPORT | (1 << 3)]),
    ])
    write("fuzz_control_proto", "limits", limits)


# ---- fuzz_ring_memory -----------------------------------------------------------

def ring_config(sq_log=3, cq_shift=1, rq_log=4, niovs=16, big_buf=False, stats=False,
                imp=False, burst=False, events=0, idle=0, clone=False):
    a = sq_log | (cq_shift << 3) | (clone << 5)
    b = rq_log | ((niovs - 1) << 3)
    f = (big_buf << 0) | (stats << 1) | (imp << 2) | (burst << 3) | (events << 4) | (idle << 6)
    return bytes([a, b, f])


def st(op, *bs, ring=0):
    """A step: its op on ring 0 or 1, then its bytes."""
    return bytes([op | (ring << 7)]) + bytes(bs)


def recv_zc(handle=0, zcrx_id=0, limit=None, user=0, ring=0):
    a = (handle + 1) | (zcrx_id << 3)
    b = (user << 5) | (4 if limit else 0)
    out = st(2, a, b, ring=ring)
    return out + struct.pack("<H", limit - 1) if limit else out


def iteration(poll=15, sleep=False, packets=(), budget=63, copy=None):
    """A datapath iteration; `packets` are (handle, data_off/64, len[, ring]), len
    None for a packet that finds no CQ room or no buffer (it reads no length)."""
    a = poll | (sleep << 4) | (len(packets) << 5)
    b = budget | (0x80 if copy is not None else 0)
    out = st(8, a, b)
    for p in packets:
        h, off, ln = p[:3]
        ring = p[3] if len(p) > 3 else 0
        out += bytes([h | (off << 2) | (ring << 7)])
        if ln is not None:
            out += struct.pack("<H", ln - 1)
    if copy is not None:
        out += struct.pack("<H", copy)
    return out


def reap(ring=0):
    return st(5, 0, ring=ring)


def push_rqe(entry=0, niov=0, wrong_token=False, pad=False, sub=0, ring=0):
    a = entry | (sub << 1) | (wrong_token << 4) | (pad << 5)
    return st(6, a, niov, ring=ring)


def ring_seeds():
    pkts = [(0, 0, 1000), (0, 1, 1400), (0, 2, 64)]
    normal = ring_config() + b"".join([
        recv_zc(0), recv_zc(1, limit=1500, user=1),
        iteration(packets=pkts + [(1, 0, 1000), (1, 0, 1000)]),
        reap(),
        push_rqe(0, 0), push_rqe(0, 1), push_rqe(0, 2), push_rqe(0, 0),
        iteration(),
        st(4, 0), st(3, 0, 0), iteration(), reap(),
    ])
    write("fuzz_ring_memory", "deliver_refill", normal)
    # An import entry on the same queue: its RQ, buffers of the other entry.
    imported = ring_config(imp=True, burst=True, events=3, stats=True) + b"".join([
        recv_zc(0, zcrx_id=1), recv_zc(1, zcrx_id=0),
        iteration(packets=[(0, 0, 500), (1, 0, 500), (0, 0, 500)]), reap(),
        push_rqe(1, 0), push_rqe(0, 0), push_rqe(1, 1), push_rqe(0, 2, pad=True),
        push_rqe(1, 9, wrong_token=True),
        iteration(copy=4000), st(10, 1), iteration(), reap(),
    ])
    write("fuzz_ring_memory", "import_entry", imported)
    # A consumer that breaks its indices: SQ tail, CQ head, RQ tail.
    broken = ring_config(rq_log=2) + b"".join([
        recv_zc(0), iteration(packets=[(0, 0, 100)]),
        st(7, 0) + struct.pack("<H", 200), iteration(),
        st(5, 1, 100), iteration(packets=[(0, 0, 100)]),
        st(12, 0, 100), iteration(packets=[(0, 0, 100)]),
        iteration(packets=[(0, 0, 100)]),  # a broken ring receives nothing
    ])
    write("fuzz_ring_memory", "broken_indices", broken)
    # Requests still armed when the ring goes, its CQ full and then its head
    # corrupt: the final CQEs find the CQ broken.
    teardown = ring_config(sq_log=1, cq_shift=0) + b"".join([
        recv_zc(0), recv_zc(1, user=1),
        iteration(packets=[(0, 0, 100), (1, 0, 100)]),
        st(5, 2) + struct.pack("<I", 1000),
    ])
    write("fuzz_ring_memory", "teardown_corrupt_cq", teardown)
    # A second ring clones the ifq; the registering ring goes while the
    # clone keeps receiving and handing buffers back, then the clone goes.
    cloned = ring_config(clone=True, events=1) + b"".join([
        recv_zc(0), recv_zc(0, ring=1), recv_zc(1, ring=1, user=1),
        iteration(packets=[(0, 0, 300), (0, 0, 300, 1), (1, 0, 300, 1), (0, 1, 300, 1)]),
        reap(), reap(ring=1),
        push_rqe(0, 0), push_rqe(0, 0, ring=1), push_rqe(0, 1, ring=1),
        st(13),  # the registering ring closes, holding a buffer
        iteration(packets=[(0, 0, 100, 1), (0, 0, 100, 1)]), reap(ring=1),
        push_rqe(0, 3, ring=1), iteration(),
        st(13, ring=1),
    ])
    write("fuzz_ring_memory", "clone_ring_closes", cloned)
    # A full CQ, buffers run out (ALLOC_FAIL), cancels, the SQ sleeping and
    # woken.
    starved = ring_config(sq_log=1, cq_shift=0, niovs=2, events=1, idle=0) + b"".join([
        recv_zc(0), recv_zc(2),
        iteration(packets=[(0, 0, 100), (0, 0, 100), (0, 0, None)]),
        iteration(sleep=True), iteration(sleep=True), st(9), reap(),
        st(3, 0x10 | 2, 0), st(3, 4, 0), st(11, 0), iteration(), reap(),
        st(10, 1), iteration(),
    ])
    write("fuzz_ring_memory", "starved", starved)


# ---- fuzz_frame_parse -------------------------------------------------------------

def eth(ethertype, tags=()):
    out = bytes(12)
    for t in tags:
        out += struct.pack(">HH", t, 100)
    return out + struct.pack(">H", ethertype)


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(src, dst, l4, proto=17, frag=0, ihl=5):
    total = 4 * ihl + len(l4)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, total, 0, frag, 64, proto, 0,
                      bytes(src), bytes(dst))
    return hdr + bytes(4 * ihl - 20) + l4


def ipv6(src_last, dst_last, l4, nxt=17, ext=b""):
    src = bytes([0xFD] + [0] * 14 + [src_last])
    dst = bytes([0xFD] + [0] * 14 + [dst_last])
    payload = ext + l4
    return struct.pack(">IHBB", 0x60000000, len(payload), nxt, 64) + src + dst + payload


def frame_seed(frame, table=0, avail=None, extra=0, raw_len=None):
    flags = table | (4 if raw_len is not None else 0)
    length = raw_len if raw_len is not None else extra
    return bytes([flags]) + struct.pack("<HI", len(frame) if avail is None else avail,
                                        length) + frame


def frame_seeds():
    pay = b"x" * 32
    v4 = eth(0x0800) + ipv4([10, 0, 0, 1], [10, 0, 0, 2], udp(12345, 5000, pay))
    write("fuzz_frame_parse", "ipv4_udp_tuple", frame_seed(v4))
    write("fuzz_frame_parse", "ipv4_udp_port_table", frame_seed(v4, table=1))
    # The payload continues in a second segment.
    write("fuzz_frame_parse", "ipv4_udp_split", frame_seed(v4, table=2, avail=50, extra=0))
    hop = bytes([17, 0]) + bytes(6)  # hop-by-hop, next header UDP
    v6 = eth(0x86DD, tags=(0x88A8, 0x8100)) + ipv6(1, 2, udp(12345, 6000, pay), nxt=0,
                                                    ext=hop)
    write("fuzz_frame_parse", "qinq_ipv6_hopbyhop", frame_seed(v6))
    frag = eth(0x0800) + ipv4([10, 0, 0, 1], [10, 0, 0, 2], udp(1, 7000, pay), frag=0x2000)
    write("fuzz_frame_parse", "ipv4_fragment", frame_seed(frag, table=1))
    opts = eth(0x8100)[:-2] + struct.pack(">HH", 0x8100, 5) + struct.pack(">H", 0x0800)
    opts += ipv4([10, 0, 0, 9], [10, 0, 0, 2], udp(9, 5000, pay), ihl=6)
    write("fuzz_frame_parse", "vlan_ipv4_options", frame_seed(opts, table=3, raw_len=0xFFFFFFFF))


if __name__ == "__main__":
    control_seeds()
    ring_seeds()
    frame_seeds()
