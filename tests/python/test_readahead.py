"""Time-series readahead (src/engine/readahead.c), seen from the server: a
point read step after step has the next steps with items read ahead, and
nothing else is (a read alone, another window, readahead=False)."""
from __future__ import annotations

import time

import numpy as np
import pytest

import lazycogs
from lazycogs.store import HTTPStore

# The zone-15 corner of the ci world (as tests/python/test_collection_read):
# five steps, each with an item holding the pixel (100, 100).
BBOX = (495000.0, 5185000.0, 515000.0, 5205000.0)
OPEN = dict(bbox=BBOX, crs="EPSG:32615", resolution=100.0,
            bands=["red", "green"])


def _open(http_world, **kw):
    # A store of its own: the process-wide caches know none of its COGs.
    store = HTTPStore.from_url(http_world.url)
    return lazycogs.open(str(http_world.items_parquet), store=store,
                         **{**OPEN, **kw})


def _quiet_log(srv, quiet_s=0.3, limit_s=10.0):
    """The server's log once nothing was added to it for quiet_s."""
    deadline = time.monotonic() + limit_s
    n, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        log = srv.log
        if len(log) != n:
            n, since = len(log), time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return log
        time.sleep(0.02)
    return srv.log


def _fresh_log(srv):
    """Clears the server's log once the requests made so far are all in it:
    an entry is added after its response is written, so a read that has
    just returned (a reference read, say) may still have one on the way,
    which would land in the cleared log."""
    srv.settled_log()
    srv.clear_log()


def _dates(da):
    return [str(t)[:10].replace("-", "") for t in da.time.values]


def _of(log, date):
    return [e for e in log if f"_{date}T" in e["path"]]


def test_series_is_read_ahead(http_world):
    """Steps 0 then 1 of a point: steps 2 and 3 are fetched before anyone
    asks (headers and tiles of both bands), step 4 is not; their reads then
    ask the server for nothing and return the pixels a collection without
    readahead returns."""
    srv = http_world.server
    da = _open(http_world)
    ref = _open(http_world, readahead=False).isel(x=100, y=100).values
    dates = _dates(da)
    assert len(dates) == 5
    point = da.isel(x=100, y=100)
    _fresh_log(srv)
    got = [point.isel(time=0).values, point.isel(time=1).values]
    log = _quiet_log(srv)
    for t in (2, 3):
        fetched = _of(log, dates[t])
        # Per band: its header, then its tiles.
        assert {e["path"].rsplit("/", 1)[1] for e in fetched} == \
            {"red.tif", "green.tif"}, fetched
        assert len(fetched) >= 4, fetched
    assert not _of(log, dates[4]), log
    _fresh_log(srv)
    got += [point.isel(time=2).values, point.isel(time=3).values]
    log = _quiet_log(srv)
    assert not _of(log, dates[2]) and not _of(log, dates[3]), log
    # The read of step 3 went on: step 4 read ahead.
    assert _of(log, dates[4]), log
    got.append(point.isel(time=4).values)
    np.testing.assert_array_equal(np.stack(got, axis=1), ref)


def test_series_under_dask_reads_each_step_once(http_world):
    """The seed's point time series (.chunk(time=1), dask's threads): the
    pixels of a collection without readahead, and no COG requested twice
    (the reads and the readahead share the headers and tiles in flight)."""
    srv = http_world.server
    da = _open(http_world)
    ref = _open(http_world, readahead=False).isel(x=100, y=100).values
    _fresh_log(srv)
    got = da.isel(x=100, y=100).chunk(time=1).compute().values
    log = _quiet_log(srv)
    np.testing.assert_array_equal(got, ref)
    ranges = [(e["path"], e["range"]) for e in log]
    # The requests of a COG any range of which was asked for twice.
    dup = {e["path"] for e in log
           if ranges.count((e["path"], e["range"])) > 1}
    twice = [f'{e["path"]} {e["range"]} seq {e["seq"]} conn {e["conn"]}'
             for e in log if e["path"] in dup]
    assert not twice, "\n".join(twice)


def test_no_series_no_readahead(http_world):
    """One read, reads of different windows, and readahead=False read
    nothing ahead: the server sees only the steps asked for."""
    srv = http_world.server
    da = _open(http_world)
    dates = _dates(da)
    _fresh_log(srv)
    da.isel(x=100, y=100, time=0).values
    da.isel(x=101, y=100, time=1).values
    da.isel(x=102, y=100, time=2).values
    log = _quiet_log(srv)
    assert log and not _of(log, dates[3]) and not _of(log, dates[4]), log

    off = _open(http_world, readahead=False)
    _fresh_log(srv)
    for t in range(3):
        off.isel(x=100, y=100, time=t).values
    log = _quiet_log(srv)
    assert log and not _of(log, dates[3]) and not _of(log, dates[4]), log


def test_large_windows_are_not_read_ahead(http_world):
    """Reads of a window over 65536 pixels, step after step, read nothing
    ahead."""
    srv = http_world.server
    da = _open(http_world, resolution=50.0)
    dates = _dates(da)
    _fresh_log(srv)
    for t in range(2):
        da.isel(time=t, x=slice(0, 300), y=slice(0, 300)).values  # 90000
    log = _quiet_log(srv)
    assert log and not _of(log, dates[2]), log


def test_readahead_errors_stay_with_their_step(http_world):
    """A step whose COGs fail (404) while read ahead: the readahead drops
    the error, the step read ahead with it is served, and the failing
    step's own read raises the error, naming its item; once the server
    answers again, the step reads (nothing failed was kept)."""
    srv = http_world.server
    da = _open(http_world)
    ref = _open(http_world, readahead=False).isel(x=100, y=100).values
    dates = _dates(da)
    point = da.isel(x=100, y=100)
    srv.set_faults(f"404,path=*_{dates[2]}T*")
    try:
        point.isel(time=0).values
        point.isel(time=1).values
        _quiet_log(srv)
        np.testing.assert_array_equal(point.isel(time=3).values, ref[:, 3])
        with pytest.raises(lazycogs.ChunkReadError) as e:
            point.isel(time=2).values
        assert dates[2] in str(e.value) and "404" in str(e.value)
    finally:
        srv.set_faults(None)
    np.testing.assert_array_equal(point.isel(time=2).values, ref[:, 2])


def test_readahead_keeps_two_steps_ahead(http_world):
    """The readahead leads the reads by two steps, not by two more for
    every read: steps 0, 1, 0, 1 read, steps 2 and 3 fetched ahead, step 4
    not (a series that ends costs two steps fetched in vain, no more)."""
    srv = http_world.server
    da = _open(http_world)
    dates = _dates(da)
    point = da.isel(x=100, y=100)
    _fresh_log(srv)
    for t in (0, 1, 0, 1):
        point.isel(time=t).values
    log = _quiet_log(srv)
    assert _of(log, dates[2]) and _of(log, dates[3]), log
    assert not _of(log, dates[4]), log
