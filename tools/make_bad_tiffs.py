"""Writes the corpus of hostile TIFFs in tests/data/bad/ and its EXPECTED table.

Each file breaks one rule a reader must not trust; EXPECTED lists, per
file, the status lc_cog_open must return and (when open succeeds) the status
of reading its first pixel. Re-run after changing a case:

    python tools/make_bad_tiffs.py tests/data/bad
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

SHORT, LONG, LONG8, ASCII, UNDEFINED = 3, 4, 16, 2, 7
TYPE_SIZE = {SHORT: 2, LONG: 4, LONG8: 8, ASCII: 1, UNDEFINED: 1}


def classic_tiff(ifds: list[list[tuple]], data: bytes = b"",
                 first_ifd: int | None = None,
                 next_overrides: dict[int, int] | None = None) -> bytes:
    """A little-endian classic TIFF: header, `data` at offset 8, then IFDs.

    Each IFD is a list of (tag, type, values) where values is a list of
    ints or a bytes object. Values that do not fit in 4 bytes are placed
    after the IFD. next_overrides maps an IFD index to a forced next offset.
    """
    out = bytearray(b"II*\x00\x00\x00\x00\x00") + data
    offsets = []
    for i, entries in enumerate(ifds):
        ifd_at = len(out)
        offsets.append(ifd_at)
        entries = sorted(entries, key=lambda e: e[0])
        ifd_size = 2 + 12 * len(entries) + 4
        extra = bytearray()
        body = bytearray(struct.pack("<H", len(entries)))
        for tag, typ, values in entries:
            if isinstance(values, (bytes, bytearray)):
                raw, count = bytes(values), len(values)
            else:
                fmt = {SHORT: "H", LONG: "I", LONG8: "Q"}[typ]
                raw, count = struct.pack("<" + fmt * len(values), *values), len(values)
            if len(raw) <= 4:
                field = raw.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", ifd_at + ifd_size + len(extra))
                extra += raw
            body += struct.pack("<HHI", tag, typ, count) + field
        body += b"\x00\x00\x00\x00"  # next IFD, patched below
        out += body + extra
    for i, at in enumerate(offsets):
        nxt = offsets[i + 1] if i + 1 < len(offsets) else 0
        if next_overrides and i in next_overrides:
            nxt = next_overrides[i]
        n = struct.unpack_from("<H", out, at)[0]
        struct.pack_into("<I", out, at + 2 + 12 * n, nxt)
    first = offsets[0] if first_ifd is None else first_ifd
    struct.pack_into("<I", out, 4, first)
    return bytes(out)


def tiled_ifd(width=16, height=16, tile=16, offsets=(8,), counts=(256,),
              compression=1, bits=8, extra=()):
    return [
        (256, LONG, [width]), (257, LONG, [height]),
        (258, SHORT, [bits]), (259, SHORT, [compression]),
        (262, SHORT, [1]), (277, SHORT, [1]),
        (322, SHORT, [tile]), (323, SHORT, [tile]),
        (324, LONG, list(offsets)), (325, LONG, list(counts)),
        *extra,
    ]


def cases() -> dict[str, tuple[bytes, str, str]]:
    """name -> (file bytes, expected open status, expected read status)."""
    pixels = bytes(range(256))
    c: dict[str, tuple[bytes, str, str]] = {}
    good = classic_tiff([tiled_ifd()], pixels)
    c["good_control.tif"] = (good, "LC_OK", "LC_OK")
    c["empty.tif"] = (b"", "LC_ECORRUPT", "-")
    c["truncated_header.tif"] = (b"II*\x00", "LC_ECORRUPT", "-")
    c["bad_byte_order.tif"] = (b"IM*\x00\x08\x00\x00\x00", "LC_ECORRUPT", "-")
    c["bad_magic.tif"] = (b"II\x29\x00\x08\x00\x00\x00", "LC_ECORRUPT", "-")
    c["bigtiff_bad_header.tif"] = (
        b"II+\x00\x04\x00\x00\x00" + b"\x10" + b"\x00" * 7, "LC_ECORRUPT", "-")
    c["ifd_inside_header.tif"] = (
        classic_tiff([tiled_ifd()], pixels, first_ifd=4), "LC_ECORRUPT", "-")
    c["ifd_offset_past_eof.tif"] = (
        classic_tiff([tiled_ifd()], pixels, first_ifd=10_000_000),
        "LC_ECORRUPT", "-")
    loop = classic_tiff([tiled_ifd(), tiled_ifd()], pixels)
    first = struct.unpack_from("<I", loop, 4)[0]
    c["ifd_loop.tif"] = (
        classic_tiff([tiled_ifd(), tiled_ifd()], pixels,
                     next_overrides={1: first}), "LC_ECORRUPT", "-")
    c["ifd_self_loop.tif"] = (
        classic_tiff([tiled_ifd()], pixels, next_overrides={0: first}),
        "LC_ECORRUPT", "-")
    many = [tiled_ifd() for _ in range(300)]
    c["too_many_ifds.tif"] = (classic_tiff(many, pixels), "LC_ELIMIT", "-")
    zero = bytearray(good)
    struct.pack_into("<H", zero, struct.unpack_from("<I", zero, 4)[0], 0)
    c["ifd_zero_entries.tif"] = (bytes(zero), "LC_ECORRUPT", "-")
    c["ifd_truncated.tif"] = (good[:len(good) - 60], "LC_ECORRUPT", "-")
    c["absurd_dimensions.tif"] = (
        classic_tiff([tiled_ifd(width=1 << 31, height=1 << 31)], pixels),
        "LC_ELIMIT", "-")
    # One 65520 x 65520 tile: 4 GiB once decoded, over the block limit.
    c["absurd_tile_size.tif"] = (
        classic_tiff([tiled_ifd(tile=65520, width=65520, height=65520)],
                     pixels), "LC_OK", "LC_ELIMIT")
    huge_count = bytearray(good)
    # BitsPerSample claims 2**30 values: far more than any real file.
    ifd_at = struct.unpack_from("<I", huge_count, 4)[0]
    n = struct.unpack_from("<H", huge_count, ifd_at)[0]
    for i in range(n):
        e = ifd_at + 2 + 12 * i
        if struct.unpack_from("<H", huge_count, e)[0] == 258:
            struct.pack_into("<I", huge_count, e + 4, 1 << 30)
    c["huge_tag_count.tif"] = (bytes(huge_count), "LC_ELIMIT", "-")
    c["offsets_count_mismatch.tif"] = (
        classic_tiff([tiled_ifd(offsets=(8, 8), counts=(256, 256))], pixels),
        "LC_ECORRUPT", "-")
    c["tile_offset_past_eof.tif"] = (
        classic_tiff([tiled_ifd(offsets=(1 << 30,))], pixels),
        "LC_OK", "LC_ECORRUPT")
    c["tile_bytecount_past_eof.tif"] = (
        classic_tiff([tiled_ifd(counts=(1 << 20,))], pixels),
        "LC_OK", "LC_ECORRUPT")
    c["tile_short_uncompressed.tif"] = (
        classic_tiff([tiled_ifd(counts=(100,))], pixels), "LC_OK", "LC_ECORRUPT")
    bomb = zlib.compress(b"\x00" * (64 << 20), 9)
    c["deflate_bomb.tif"] = (
        classic_tiff([tiled_ifd(offsets=(8,), counts=(len(bomb),),
                                compression=8)], bomb),
        "LC_OK", "LC_ECORRUPT")
    garbage = b"\xff\xd8\xff\xdb\x00\x43" + bytes(range(40))
    c["jpeg_bad_tables.tif"] = (
        classic_tiff([tiled_ifd(offsets=(8,), counts=(len(garbage),),
                                compression=7,
                                extra=[(347, UNDEFINED, garbage)])], garbage),
        "LC_OK", "LC_ECORRUPT")
    c["complex_samples.tif"] = (
        classic_tiff([tiled_ifd(bits=32, extra=[(339, SHORT, [6])],
                                counts=(1024,))], pixels * 4),
        "LC_EUNSUPPORTED", "-")
    c["unknown_compression.tif"] = (
        classic_tiff([tiled_ifd(compression=12345)], pixels), "LC_OK",
        "LC_EUNSUPPORTED")
    c["no_offsets.tif"] = (
        classic_tiff([[e for e in tiled_ifd() if e[0] != 324]], pixels),
        "LC_ECORRUPT", "-")
    return c


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# file  open-status  read-status (of pixel 0,0; - when open fails)"]
    for name, (data, open_status, read_status) in sorted(cases().items()):
        (out / name).write_bytes(data)
        lines.append(f"{name} {open_status} {read_status}")
    (out / "EXPECTED").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines) - 1} files to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/bad")
