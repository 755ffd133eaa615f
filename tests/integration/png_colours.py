#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Counts pixels of exact colours in a PNG (stdlib only: zlib + struct).

usage: png_colours.py FILE NAME R,G,B MIN [NAME R,G,B MIN ...]
Exits 1 naming every colour seen in fewer than MIN pixels. Handles 8-bit
RGB and RGBA, non-interlaced, with all five scanline filters.
"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth} type {ctype}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main(argv):
    width, height, bpp, rows = read_png(argv[1])
    want = {}
    for i in range(2, len(argv), 3):
        rgb = bytes(int(v) for v in argv[i + 1].split(","))
        want[rgb] = (argv[i], int(argv[i + 2]))
    seen = dict.fromkeys(want, 0)
    for row in rows:
        for x in range(0, width * bpp, bpp):
            px = row[x:x + 3]
            if px in seen:
                seen[px] += 1
    bad = 0
    for rgb, (name, least) in want.items():
        ok = seen[rgb] >= least
        bad += not ok
        print(f"{'ok' if ok else 'FAIL'}: {name} rgb{tuple(rgb)}: {seen[rgb]} pixels "
              f"(at least {least})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
