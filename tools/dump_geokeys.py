#!/usr/bin/env python3
"""Dump the three GeoTIFF GeoKey tags of the first IFD of TIFF files."""
# SPDX-License-Identifier: MIT
#
# The C tests of src/tiff/geokeys.c embed the GeoKey directories of real
# files, and the Python oracle test feeds them to the C parser. Both need the
# raw tag values, independent of GDAL: this is a small struct-based reader of
# classic TIFF and BigTIFF, in either byte order, that returns
#
#   GeoKeyDirectoryTag (34735)  SHORT[]
#   GeoDoubleParamsTag (34736)  DOUBLE[]
#   GeoAsciiParamsTag  (34737)  ASCII (bytes, as stored, NUL included)
#
# of the first IFD (the full-resolution image; GDAL also reads them there).
#
# Usage:
#   dump_geokeys.py FILE...             one JSON object per line
#   dump_geokeys.py --numbers FILE...   one line of numbers per file, the
#                                       input of `test_geokeys --stdin`
#   dump_geokeys.py --c NAME=FILE...    C arrays for tests/c/test_geokeys.c
#   dump_geokeys.py --update-c TEST.c   regenerate the fixture block of
#                                       tests/c/test_geokeys.c in place
#                                       (then run clang-format -i on it)
#
# The --numbers line is: ND d1..dND NF f1..fNF NA a1..aNA, i.e. the count
# and values of the directory SHORTs, the doubles (printed so that they read
# back exactly) and the ASCII bytes.
import json
import os
import struct
import sys
from pathlib import Path

TAG_DIRECTORY = 34735
TAG_DOUBLES = 34736
TAG_ASCII = 34737

# TIFF field type -> (struct code, size in bytes)
TYPES = {
    1: ("B", 1), 2: ("c", 1), 3: ("H", 2), 4: ("I", 4), 5: ("II", 8),
    6: ("b", 1), 7: ("B", 1), 8: ("h", 2), 9: ("i", 4), 10: ("ii", 8),
    11: ("f", 4), 12: ("d", 8), 16: ("Q", 8), 17: ("q", 8), 18: ("Q", 8),
}


def read_geokeys(path):
    """Return {"directory": [...], "doubles": [...], "ascii": bytes} of the
    first IFD of a TIFF file (absent tags give empty values)."""
    data = Path(path).read_bytes()
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise ValueError(f"{path}: not a TIFF file")
    magic = struct.unpack_from(order + "H", data, 2)[0]
    if magic == 42:
        ifd = struct.unpack_from(order + "I", data, 4)[0]
        count_fmt, entry_fmt, entry_size, inline = "H", "HHI", 12, 4
    elif magic == 43:
        ifd = struct.unpack_from(order + "Q", data, 8)[0]
        count_fmt, entry_fmt, entry_size, inline = "Q", "HHQ", 20, 8
    else:
        raise ValueError(f"{path}: bad TIFF magic {magic}")
    nentries = struct.unpack_from(order + count_fmt, data, ifd)[0]
    pos = ifd + struct.calcsize(order + count_fmt)
    out = {"directory": [], "doubles": [], "ascii": b""}
    for _ in range(nentries):
        tag, ftype, count = struct.unpack_from(order + entry_fmt, data, pos)
        value_pos = pos + struct.calcsize(order + entry_fmt)
        pos += entry_size
        if tag not in (TAG_DIRECTORY, TAG_DOUBLES, TAG_ASCII):
            continue
        code, size = TYPES[ftype]
        nbytes = count * size
        if nbytes > inline:
            off_fmt = "I" if inline == 4 else "Q"
            value_pos = struct.unpack_from(order + off_fmt, data, value_pos)[0]
        raw = data[value_pos:value_pos + nbytes]
        if tag == TAG_ASCII:
            out["ascii"] = bytes(raw)
            continue
        values = list(struct.unpack(order + code * count, raw))
        if tag == TAG_DIRECTORY:
            out["directory"] = [int(v) for v in values]
        else:
            out["doubles"] = [float(v) for v in values]
    return out


def to_json(keys):
    """One-line JSON; ascii as a list of byte values so any byte survives."""
    return json.dumps({"directory": keys["directory"],
                       "doubles": keys["doubles"],
                       "ascii": list(keys["ascii"])})


def c_string(raw):
    """A C string literal holding raw bytes exactly (octal escapes for
    anything not printable)."""
    parts = []
    for b in raw:
        ch = chr(b)
        if ch in '"\\':
            parts.append("\\" + ch)
        elif b < 32 or b > 126:
            parts.append(f"\\{b:03o}")
        else:
            parts.append(ch)
    return '"' + "".join(parts) + '"'


def wrap(items, indent="    ", width=80):
    """Comma-separated items wrapped to width columns."""
    lines, line = [], indent
    for i, item in enumerate(items):
        text = item + ("," if i + 1 < len(items) else "")
        if len(line) + len(text) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += text + " "
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def to_c(name, path, keys):
    """C declarations of one file's tags: arrays NAME_dir, NAME_dbl,
    NAME_ascii (only those present) and `struct lc__geokeys_input NAME_in`
    pointing at them with their exact counts."""
    head, _, base = path.rpartition("/")
    if len(path) + 6 <= 80 or not head:
        lines = [f"/* {path} */"]
    else:
        lines = [f"/* {head}/", f" * {base} */"]
    d, dbl, asc = keys["directory"], keys["doubles"], keys["ascii"]
    fields = []
    if d:
        lines.append(f"static const uint16_t {name}_dir[] = {{")
        lines.append(wrap([str(v) for v in d]))
        lines.append("};")
        fields += [f"{name}_dir", str(len(d))]
    else:
        fields += ["NULL", "0"]
    if dbl:
        lines.append(f"static const double {name}_dbl[] = {{")
        lines.append(wrap([repr(float(v)) for v in dbl]))
        lines.append("};")
        fields += [f"{name}_dbl", str(len(dbl))]
    else:
        fields += ["NULL", "0"]
    if asc:
        # The tag's bytes exactly (the literal's own NUL is not counted).
        lines.append(f"static const char {name}_ascii[] =")
        lines.append(f"    {c_string(asc)};")
        fields += [f"{name}_ascii", str(len(asc))]
    else:
        fields += ["NULL", "0"]
    lines.append(f"static const struct lc__geokeys_input {name}_in = {{")
    lines.append(wrap(fields))
    lines.append("};")
    return "\n".join(lines)


def to_numbers(keys):
    """The `test_geokeys --stdin` line for one file."""
    parts = [str(len(keys["directory"]))]
    parts += [str(v) for v in keys["directory"]]
    parts.append(str(len(keys["doubles"])))
    parts += [repr(float(v)) for v in keys["doubles"]]
    parts.append(str(len(keys["ascii"])))
    parts += [str(b) for b in keys["ascii"]]
    return " ".join(parts)


# The real files embedded in tests/c/test_geokeys.c, by C name. Paths are
# relative to the real-data folder (shared/realdata/cog beside the checkout by default,
# or $LAZYCOGS_REALDATA_COG).
FIXTURES = [
    ("nsidc_south", "GeoTIFF-test-data/nt_20201024_f18_nrt_s.tif"),
    ("towgs84_bessel", "GeoTIFF-test-data/GeogToWGS84GeoKey5.tif"),
    ("merc_nad27", "georust-geotiff/merc.tif"),
    ("albers_custom", "rio-cogeo/image_nodata.tif"),
    ("geos_pe_string", "rio-cogeo/image_geos.tif"),
    ("mars_eqc", "rio-tiler/cog_hirise_mars.tif"),
    ("europa_eqc", "rio-tiler/cog_nonearth.tif"),
    ("utm52_projection_code", "rio-tiler/cog_scale.tif"),
    ("laea_area", "georust-geotiff/"
     "austrian_capitals_model_tie_point_and_pixel_scale_pixel_is_area.tif"),
    ("laea_point", "georust-geotiff/"
     "austrian_capitals_model_tie_point_and_pixel_scale_pixel_is_point.tif"),
    ("utm17n", "GeoTIFF-test-data/utm.tif"),
    ("antarctic_ps", "GeoTIFF-test-data/"
     "GA4886_VanderfordGlacier_2022_EGM2008_64m-epsg3031.cog"),
    ("bogota", "image-tiff/geo-5b.tif"),
    ("wgs84_geog", "GeoTIFF-test-data/gfw-azores.tif"),
    ("nad83_towgs84", "async-tiff/geogtowgs_subset_USGS_13_s14w171.tif"),
    ("geog_minor_rev2", "GeoTIFF-test-data/no_pixelscale_or_tiepoints.tiff"),
    ("no_geokeys", "georust-geotiff/zh_dem_25.tif"),
]

BEGIN = "/* BEGIN GENERATED by tools/dump_geokeys.py --update-c */"
END = "/* END GENERATED */"


def update_c(test_path):
    """Rewrite the block between BEGIN and END in test_path."""
    root = Path(os.environ.get("LAZYCOGS_REALDATA_COG",
                               Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cog"))
    text = Path(test_path).read_text()
    head, sep1, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep1 or not sep2:
        raise SystemExit(f"{test_path}: generated-block markers not found")
    blocks = [to_c(name, rel, read_geokeys(root / rel))
              for name, rel in FIXTURES]
    Path(test_path).write_text(
        head + BEGIN + "\n" + "\n\n".join(blocks) + "\n" + END + tail)


def main(argv):
    if argv and argv[0] == "--update-c":
        update_c(argv[1])
        return 0
    if argv and argv[0] == "--numbers":
        for path in argv[1:]:
            print(to_numbers(read_geokeys(path)))
        return 0
    if argv and argv[0] == "--c":
        for spec in argv[1:]:
            name, _, path = spec.partition("=")
            print(to_c(name, path, read_geokeys(path)))
            print()
        return 0
    for path in argv:
        print(to_json(read_geokeys(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
