#!/usr/bin/env python3
"""Writes K copies of a classic pcap (Ethernet, IPv4 or IPv6, TCP) one after another in time,
each with its client ports shifted so every copy is a new set of connections: a long capture
from a short one, for the memory benchmark. Usage: repeat_pcap.py IN OUT K SERVER_PORT"""
import struct
import sys


def main() -> None:
    src, dst, copies, server_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = open(src, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    header, records = data[:24], []
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, length = struct.unpack(endian + "IIII", data[off:off + 16])
        records.append((sec, frac, length, bytearray(data[off + 16:off + 16 + caplen])))
        off += 16 + caplen
    span = records[-1][0] - records[0][0] + 1
    with open(dst, "wb") as out:
        out.write(header)
        for k in range(copies):
            for sec, frac, length, pkt in records:
                p = bytearray(pkt)
                ethertype = struct.unpack(">H", p[12:14])[0]
                l4 = 14 + (((p[14] & 0x0F) * 4) if ethertype == 0x0800 else 40)
                sport, dport = struct.unpack(">HH", p[l4:l4 + 4])
                shift = lambda port: port if port == server_port else 1024 + (port - 1024 + 97 * k) % 64000
                p[l4:l4 + 4] = struct.pack(">HH", shift(sport), shift(dport))
                out.write(struct.pack(endian + "IIII", sec + k * span, frac, len(p), length))
                out.write(p)
    del nano


if __name__ == "__main__":
    main()
