#!/usr/bin/env python3
"""Writes the seed datagrams of cn_proc_fuzz into cn_proc_corpus/ (same layout as
cn_proc_builder.h). Re-run after changing it: python3 gen_corpus.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cn_proc_corpus")

NOOP, ERROR, DONE, OVERRUN = 1, 2, 3, 4


def msg(what, words=(0,) * 6, cpu=0, seq=0, ack=0, ts=123456789, comm=None,
        idx=1, val=1, cn_len=40, nl_len=76, nl_type=DONE):
    union = struct.pack("<6I", *words)
    if comm is not None:
        union = union[:8] + comm.encode()[:16].ljust(16, b"\0")
    ev = struct.pack("<IIQ", what, cpu, ts) + union
    cn = struct.pack("<IIIIHH", idx, val, seq, ack, cn_len, 0)
    nl = struct.pack("<IHHII", nl_len, nl_type, 0, seq, 0)
    return nl + cn + ev


def bare(nl_type, payload=0):
    return struct.pack("<IHHII", 16 + payload, nl_type, 0, 0, 0) + b"\0" * payload


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


SEEDS = {
    "fork": msg(0x1, (101, 100, 202, 202, 0, 0), seq=1),
    "fork_thread": msg(0x1, (101, 100, 203, 100, 0, 0), cpu=1, seq=2),
    "exec": msg(0x2, (202, 202, 0, 0, 0, 0), seq=3),
    "uid": msg(0x4, (202, 202, 65534, 65534, 0, 0), seq=4),
    "gid": msg(0x40, (202, 202, 100, 100, 0, 0), seq=5),
    "sid": msg(0x80, (202, 202, 0, 0, 0, 0), seq=6),
    "ptrace": msg(0x100, (202, 202, 1, 1, 0, 0), seq=7),
    "comm": msg(0x200, (202, 202, 0, 0, 0, 0), comm="worker", seq=8),
    "comm_full": msg(0x200, (202, 202, 0, 0, 0, 0), comm="0123456789abcdef", seq=9),
    "coredump": msg(0x40000000, (202, 202, 100, 100, 0, 0), seq=10),
    "exit": msg(0x80000000, (202, 202, 3 << 8, 17, 100, 100), seq=11),
    "ack": msg(0, (0, 0, 0, 0, 0, 0), cpu=0xffffffff, ack=8),
    "ack_eperm": msg(0, (1, 0, 0, 0, 0, 0), cpu=1, ack=8),
    "unknown_what": msg(0x400, seq=12),
    "bad_cn_idx": msg(0x2, idx=2),
    "cn_len_short": msg(0x80000000, cn_len=20),
    "cn_len_long": msg(0x2, cn_len=60),
    "nl_len_long": msg(0x2, nl_len=300),
    "nl_len_tiny": msg(0x2, nl_len=8),
    "truncated": msg(0x80000000)[:50],
    "error": bare(ERROR, 20),
    "noop": bare(NOOP),
    "overrun": bare(OVERRUN),
    "done_short": bare(DONE, 10),
    "two": pad4(msg(0x1, (1, 1, 2, 2, 0, 0), seq=20)) + msg(0x2, (2, 2, 0, 0, 0, 0), seq=21),
    "mixed": bare(NOOP) + msg(0x2, (5, 5, 0, 0, 0, 0)) + bare(ERROR, 4) + bare(OVERRUN),
    "unaligned": pad4(msg(0x2, nl_len=78) + b"xx") + msg(0x2, (7, 7, 0, 0, 0, 0)),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(data)
print(f"wrote {len(SEEDS)} seeds to {OUT}")
