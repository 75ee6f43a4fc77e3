#!/usr/bin/env python3
"""Keep one GPU architecture's machine code in a CUDA shared library, to make it small enough to travel.

Usage: python3 bench/gpu/prune-fatbin.py SRC.so DST.so [--keep-sm 90]

Why: ORT 1.29.0's libonnxruntime_providers_cuda.so (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9) is
230 MB, of which 166 MB is the .nv_fatbin section: SASS cubins for sm_75, 80, 86, 89, 90 and 120, and no PTX.
Compressed whole, it is about 165 MB: three times what one device call can carry (64 MiB). The H100 and H200 are
sm_90, and a GPU runs SASS only of its own major architecture (no PTX here to JIT), so the driver loads nothing but
the sm_90 cubins there. This script zeroes the payload of every other cubin IN PLACE: the file keeps its size, every
offset, every fatbin and entry header (the driver still sees all entries and picks the sm_90 one), and the zeroed
bytes compress to nothing (about 38 MB xz'd instead of 165 MB).

It refuses to write if the fatbin layout is not the one it understands (magic, entry sizes adding up to the section),
and prints per-architecture counts. A device on which pruned kernels are needed would fail with "no kernel image is
available for execution on the device": use the full provider then (bench/gpu/prepare.sh --full-provider).
"""
import argparse
import collections
import struct
import sys

FATBIN_MAGIC = 0xBA55ED50
KIND = {1: "ptx", 2: "cubin"}


def sections(data):
    """ELF64 section headers by name: name -> (offset, size)."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise SystemExit("not an ELF64 file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx][4]
    out = {}
    for h in headers:
        start = strtab + h[0]
        out[data[start:data.index(b"\0", start)].decode()] = (h[4], h[5])
    return out


def entries(data, offset, size):
    """Every fatbin entry in the section: (payload offset, payload size, kind, sm)."""
    pos, end, found = offset, offset + size, []
    while pos < end:
        magic, _version, header_size, fat_size = struct.unpack_from("<IHHQ", data, pos)
        if magic != FATBIN_MAGIC:
            pos += 8  # fatbins are 8-byte aligned; zero padding between them
            continue
        entry, fat_end = pos + header_size, pos + header_size + fat_size
        while entry < fat_end:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, entry)
            (sm,) = struct.unpack_from("<I", data, entry + 28)
            if kind not in KIND or entry_header < 64 or entry + entry_header + payload > fat_end:
                raise SystemExit(f"unexpected fatbin entry at {entry:#x} (kind {kind}, header {entry_header}); not pruning")
            found.append((entry + entry_header, payload, KIND[kind], sm))
            entry += entry_header + payload
        if entry != fat_end:
            raise SystemExit(f"fatbin at {pos:#x}: entries overrun its size; not pruning")
        pos = fat_end
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--keep-sm", type=int, default=90)
    args = parser.parse_args()
    data = bytearray(open(args.src, "rb").read())
    found = entries(data, *sections(data)[".nv_fatbin"])
    kept, zeroed = collections.Counter(), collections.Counter()
    for offset, size, kind, sm in found:
        if kind == "cubin" and sm != args.keep_sm:
            data[offset:offset + size] = bytes(size)
            zeroed[sm] += size
        else:
            kept[(kind, sm)] += size
    if not any(kind == "cubin" and sm == args.keep_sm for kind, sm in kept):
        raise SystemExit(f"no sm_{args.keep_sm} cubin in {args.src}; not pruning")
    with open(args.dst, "wb") as out:
        out.write(data)
    mb = lambda n: f"{n / 1e6:.1f} MB"
    print(f"prune-fatbin: {len(found)} entries; kept " + ", ".join(f"{k} sm_{s} {mb(n)}" for (k, s), n in sorted(kept.items()))
          + "; zeroed " + ", ".join(f"sm_{s} {mb(n)}" for s, n in sorted(zeroed.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
