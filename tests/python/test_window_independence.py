"""A pixel's value does not depend on the window it is read in (issue 7).

The same pixels are read through different windows of one collection grid:
one large read, 1024 x 1024 blocks, 333 x 257 blocks (edges anywhere in
the approximate transformer's 128-pixel lattice, and past it), and 200
single pixels (half of them where data meets nodata, or items meet, in the
large read). Every read must give the same bits. Before the transformer's
cells were anchored on the collection grid and the overview chosen per
COG rather than at the window centre, a few hundred pixels in a few
million differed, by a neighbouring source pixel (or a level), between a
whole-grid read and 333 x 257 blocks of the cross-CRS cases here.

Cases: the ci world (UTM zones 14-16) in EPSG:5070 at 300 m, at 100 m and
at 360 m (the COGs' overview resolution: where the reference's rule
flips between levels), and in the items' own EPSG:32615 at 20 m (same CRS:
the affine map); nearest and bilinear; first and mean; and cubic, average
and mode at 300 m.
"""
# SPDX-License-Identifier: MIT
import numpy as np
import pytest

from lazycogs import _ext

# Most of the ci world in EPSG:5070; where four zone-15 tiles overlap in
# EPSG:32615 (as in test_collection_read.py).
WORLD_5070 = (150000.0, 2540000.0, 560000.0, 2740000.0)
CORNER_32615 = (495000.0, 5185000.0, 515000.0, 5205000.0)

METHODS = {"first": 0, "mean": 3}
BANDS = ["red", "swir16"]  # 180 m and 360 m sources

# name -> (open options, region (x0, y0, width, height) or None: all)
GRIDS = {
    "5070-300m": (dict(crs="EPSG:5070", bbox=WORLD_5070, resolution=300.0),
                  None),
    # A region that starts on no multiple of 128 or 1024.
    "5070-100m": (dict(crs="EPSG:5070", bbox=WORLD_5070, resolution=100.0),
                  (1037, 403, 2600, 1300)),
    "5070-360m": (dict(crs="EPSG:5070", bbox=WORLD_5070, resolution=360.0),
                  None),
    "32615-20m": (dict(crs="EPSG:32615", bbox=CORNER_32615, resolution=20.0),
                  None),
}


def _open(world, grid, resampling, method):
    opts, region = GRIDS[grid]
    coll = _ext.Collection(str(world / "items.parquet"),
                           dict(opts, bands=BANDS, resampling=resampling,
                                mosaic_method=METHODS[method]))
    info = coll.info()
    if region is None:
        region = (0, 0, info["width"], info["height"])
    return coll, info, region


def _times(coll):
    """Three steps with the most items (several overlapping items each)."""
    n = [t.get("nitems", 0) for t in coll.times()]
    if not any(n):
        return [0, len(n) // 2, len(n) - 1]
    return sorted(np.argsort(n)[::-1][:3].tolist())


def _read(coll, info, times, x0, y0, w, h):
    out = np.empty((len(BANDS), len(times), h, w), dtype=info["dtype"])
    out.fill(0)
    coll.read(list(range(len(BANDS))), times, x0, y0, w, h, out)
    return out


def _tiled(coll, info, times, region, bw, bh):
    x0, y0, w, h = region
    out = np.empty((len(BANDS), len(times), h, w), dtype=info["dtype"])
    for y in range(0, h, bh):
        for x in range(0, w, bw):
            ww, hh = min(bw, w - x), min(bh, h - y)
            out[:, :, y:y + hh, x:x + ww] = _read(coll, info, times, x0 + x,
                                                  y0 + y, ww, hh)
    return out


def _bits(a):
    """The array's bytes per value, so NaN payloads and -0.0 count."""
    return a.view(f"u{a.dtype.itemsize}")


def _assert_same(what, got, want):
    diff = _bits(got) != _bits(want)
    n = int(diff.sum())
    if n:
        b, t, y, x = (int(v) for v in np.argwhere(diff)[0])
        pytest.fail(f"{what}: {n} of {diff.size} values differ; first at "
                    f"band {BANDS[b]}, step {t}, row {y}, col {x}: "
                    f"{got[b, t, y, x]!r} != {want[b, t, y, x]!r}")


def _interesting(big, valid, n=2000):
    """The n pixels (row, col) where validity changes next door, or else
    the value changes most (seams between items, nodata wedges)."""
    v = valid.any(axis=(0, 1))
    score = np.zeros(v.shape)
    g = np.nan_to_num(big.astype(np.float64), nan=-1.0)
    score[:, 1:] = np.abs(np.diff(g, axis=3)).max(axis=(0, 1))
    score[1:, :] = np.maximum(score[1:, :],
                              np.abs(np.diff(g, axis=2)).max(axis=(0, 1)))
    score[:, 1:] += 1e9 * (v[:, 1:] != v[:, :-1])
    score[1:, :] += 1e9 * (v[1:, :] != v[:-1, :])
    best = np.argsort(score, axis=None)[::-1][:n]
    return np.column_stack(np.unravel_index(best, v.shape))


@pytest.mark.parametrize("method", ["first", "mean"])
@pytest.mark.parametrize("resampling", ["nearest", "bilinear"])
@pytest.mark.parametrize("grid", list(GRIDS))
def test_reads_agree_whatever_the_window(ci_world, grid, resampling, method):
    coll, info, region = _open(ci_world, grid, resampling, method)
    times = _times(coll)
    x0, y0, w, h = region
    big = _read(coll, info, times, x0, y0, w, h)

    # The comparison means something only over real data: much of the
    # region is valid, with both sources.
    if big.dtype.kind == "f":
        valid = ~np.isnan(big)
    else:
        valid = big != 0
    for b, band in enumerate(BANDS):
        frac = valid[b].mean()
        assert frac > 0.2, f"{grid}: only {frac:.1%} of {band} is valid"

    _assert_same(f"{grid} {resampling} {method}: 1024 x 1024 blocks",
                 _tiled(coll, info, times, region, 1024, 1024), big)
    _assert_same(f"{grid} {resampling} {method}: 333 x 257 blocks",
                 _tiled(coll, info, times, region, 333, 257), big)

    rng = np.random.default_rng(7)
    edges = _interesting(big, valid)
    picks = [(int(rng.integers(h)), int(rng.integers(w))) for _ in range(100)]
    picks += [tuple(int(v) for v in edges[i])
              for i in rng.choice(len(edges), 100, replace=False)]
    for y, x in picks:
        one = _read(coll, info, times, x0 + x, y0 + y, 1, 1)
        _assert_same(f"{grid} {resampling} {method}: pixel (col {x0 + x}, "
                     f"row {y0 + y})", one, big[:, :, y:y + 1, x:x + 1])


@pytest.mark.parametrize("resampling", ["cubic", "average", "mode"])
def test_other_kernels_agree_whatever_the_window(ci_world, resampling):
    """Cubic's 4 x 4 pixels, and the footprint kernels' scale (measured at
    each COG's reference point, not across the block)."""
    coll, info, region = _open(ci_world, "5070-300m", resampling, "first")
    times = _times(coll)
    big = _read(coll, info, times, *region)
    assert (big != 0).mean() > 0.2
    _assert_same(f"{resampling}: 333 x 257 blocks",
                 _tiled(coll, info, times, region, 333, 257), big)
    _assert_same(f"{resampling}: 128 x 128 blocks",
                 _tiled(coll, info, times, region, 128, 128), big)
