"""Object stores: where lazycogs reads COGs from (local, HTTP(S), S3, GCS, Azure).

The option names are obstore's, so habits carry over::

    store = lazycogs.store.from_url("s3://sentinel-cogs", region="us-west-2",
                                    skip_signature=True)
    store = lazycogs.store.S3Store("bucket", endpoint="http://127.0.0.1:9000",
                                   access_key_id="...", secret_access_key="...")
    store = lazycogs.store.HTTPStore.from_url("https://example.com/data")

An obstore store object is accepted wherever a store is (its configuration
is read once; the reads themselves never go through Python). Every store
wraps one C handle of liblazycogs; reads on it from any thread share one
I/O thread, keep-alive connections and retries.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import datetime as _dt
import logging
import re
import threading
from typing import Any, Callable
from urllib.parse import urlparse

from . import _ext

__all__ = [
    "AzureStore",
    "get_ranges",
    "resolve",
    "root_of",
    "store_for",
    "GCSStore",
    "HTTPStore",
    "LocalStore",
    "S3Store",
    "Store",
    "as_store",
    "from_url",
]

# Options whose values never appear in a repr, a log line or an error.
_SECRET = {"secret_access_key", "session_token", "bearer_token", "azure_sas"}



def redact_url(url: str) -> str:
    """url without user:password@ and with its query string and fragment
    replaced by "?REDACTED" (as the C library's messages show URLs)."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url.split("?", 1)[0] + ("?REDACTED" if "?" in url else "")
    end = len(rest)
    for ch in "/?#":
        at = rest.find(ch)
        if at >= 0:
            end = min(end, at)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = "REDACTED@" + authority.rsplit("@", 1)[1]
    cut = min((i for i in (tail.find("?"), tail.find("#")) if i >= 0),
              default=-1)
    if cut >= 0:
        tail = tail[:cut] + "?REDACTED"
    return f"{head}://{authority}{tail}"


# obstore's spellings (config keys, client options) -> ours.
_ALIASES = {
    "aws_region": "region",
    "aws_endpoint": "endpoint",
    "aws_endpoint_url": "endpoint",
    "endpoint_url": "endpoint",
    "aws_access_key_id": "access_key_id",
    "aws_secret_access_key": "secret_access_key",
    "aws_session_token": "session_token",
    "token": "session_token",
    "aws_skip_signature": "skip_signature",
    "aws_request_payer": "request_payer",
    "aws_virtual_hosted_style_request": "virtual_hosted_style_request",
    "virtual_hosted_style": "virtual_hosted_style_request",
    "timeout": "stall_timeout",
    "azure_storage_sas_key": "azure_sas",
    "sas_key": "azure_sas",
    "azure_storage_token": "bearer_token",
    "google_skip_signature": "skip_signature",
}

_BOOL = {"skip_signature", "request_payer", "virtual_hosted_style_request",
         "use_netrc", "insecure", "allow_http"}
_DURATION = {"connect_timeout", "first_byte_timeout", "stall_timeout",
             "retry_base", "retry_max"}
_KNOWN = _BOOL | _DURATION | _SECRET | {
    "region", "endpoint", "access_key_id", "profile", "ca_file",
    "max_attempts", "max_connections_per_host", "max_in_flight",
    "coalesce_gap_nbytes", "bucket"}
# Accepted for compatibility, with no effect here.
_IGNORED = {"allow_http", "imdsv1_fallback", "disable_tagging", "checksum",
            "unsigned_payload", "user_agent", "pool_max_idle_per_host",
            "pool_idle_timeout", "default_content_type", "http1_only",
            "http2_only", "conditional_put", "s3_express"}


def _duration_seconds(value: Any) -> float:
    """'30s', '500ms', '2m', '1h', a number of seconds or a timedelta."""
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", str(value))
    if m is None:
        raise ValueError(f"not a duration: {value!r}")
    scale = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    return float(m.group(1)) * scale


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _normalise(options: dict[str, Any]) -> dict[str, Any]:
    """obstore-style keyword options -> the C store's option dict."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        key = _ALIASES.get(key.lower(), key.lower())
        if key == "client_options":
            out.update(_normalise(dict(value)))
            continue
        if key == "retry_config":
            cfg = dict(value)
            if "max_retries" in cfg:
                out["max_attempts"] = int(cfg["max_retries"]) + 1
            backoff = dict(cfg.get("backoff") or {})
            if "init_backoff" in backoff:
                out["retry_base"] = _duration_seconds(backoff["init_backoff"])
            if "max_backoff" in backoff:
                out["retry_max"] = _duration_seconds(backoff["max_backoff"])
            continue
        if key in _IGNORED:
            continue
        if key not in _KNOWN:
            raise ValueError(f"unknown store option {key!r}")
        if key in _BOOL:
            out[key] = _as_bool(value)
        elif key in _DURATION:
            out[key] = _duration_seconds(value)
        elif key in ("max_attempts", "max_connections_per_host",
                     "max_in_flight", "coalesce_gap_nbytes"):
            out[key] = int(value)
        else:
            out[key] = str(value)
    return out


class Store(_ext.Store):
    """A store for the objects under ``url``, with obstore-style options."""

    def __init__(self, url: str, **options: Any):
        opts = _normalise(options)
        opts.pop("bucket", None)
        super().__init__(url, opts)
        self.url = url
        self.options = opts

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={'***' if k in _SECRET else repr(v)}"
            for k, v in sorted(self.options.items())
        )
        return (f"{type(self).__name__}({redact_url(self.url)!r}"
                f"{', ' if shown else ''}{shown})")

    def __reduce__(self):
        # Pickles as its URL and options, so dask workers rebuild it.
        return (_rebuild, (type(self).__name__, self.url, self.options))

    @classmethod
    def from_url(cls, url: str, **options: Any) -> "Store":
        """A store of this class for url's root (subclasses' constructors
        take a bucket or container instead of a URL)."""
        obj = Store.__new__(cls)
        Store.__init__(obj, url, **options)
        return obj


def _rebuild(kind: str, url: str, options: dict[str, Any]) -> "Store":
    cls = {c.__name__: c for c in (Store, S3Store, GCSStore, AzureStore,
                                   HTTPStore, LocalStore)}[kind]
    obj = Store.__new__(cls)
    Store.__init__(obj, url, **options)
    return obj


class S3Store(Store):
    """An S3 bucket (AWS, or MinIO/moto through ``endpoint``)."""

    def __init__(self, bucket: str | None = None, *, prefix: str | None = None,
                 config: dict[str, Any] | None = None, **options: Any):
        merged = {**(config or {}), **options}
        bucket = bucket or merged.pop("bucket", None) or merged.pop("aws_bucket", None)
        if not bucket:
            raise ValueError("S3Store needs a bucket")
        url = f"s3://{bucket}" + (f"/{prefix.strip('/')}" if prefix else "")
        super().__init__(url, **merged)


class GCSStore(Store):
    """A public Google Cloud Storage bucket (read anonymously over HTTPS)."""

    def __init__(self, bucket: str | None = None, *, prefix: str | None = None,
                 config: dict[str, Any] | None = None, **options: Any):
        merged = {**(config or {}), **options}
        bucket = bucket or merged.pop("bucket", None)
        merged.pop("skip_signature", None)
        if not bucket:
            raise ValueError("GCSStore needs a bucket")
        url = f"gs://{bucket}" + (f"/{prefix.strip('/')}" if prefix else "")
        super().__init__(url, **merged)


class AzureStore(Store):
    """An Azure blob container, read with a SAS token (``azure_sas``)."""

    def __init__(self, container: str | None = None, *,
                 account_name: str | None = None, prefix: str | None = None,
                 config: dict[str, Any] | None = None, **options: Any):
        merged = {**(config or {}), **options}
        account = account_name or merged.pop("account_name", None) or \
            merged.pop("azure_storage_account_name", None)
        container = container or merged.pop("container_name", None) or \
            merged.pop("azure_container_name", None)
        if not account or not container:
            raise ValueError("AzureStore needs account_name and container")
        url = f"https://{account}.blob.core.windows.net/{container}"
        if prefix:
            url += "/" + prefix.strip("/")
        super().__init__(url, **merged)


class HTTPStore(Store):
    """Files served over HTTP(S); ``bearer_token`` or ``use_netrc`` for
    servers that need credentials (NASA Earthdata style)."""


class LocalStore(Store):
    """Files in a local folder."""

    def __init__(self, prefix: str | None = None, **options: Any):
        super().__init__(f"file://{prefix or '/'}", **options)


def from_url(url: str, **options: Any) -> Store:
    """A store for url's root: s3://, gs://, http(s):// (S3 https addresses
    are recognised), file:// or a local path."""
    scheme = urlparse(url).scheme.lower()
    if scheme in ("s3", "s3a"):
        return S3Store.from_url(url, **options)
    if scheme == "gs":
        return GCSStore.from_url(url, **options)
    if scheme in ("http", "https"):
        host = urlparse(url).hostname or ""
        if host.endswith(".amazonaws.com"):
            return S3Store.from_url(url, **options)
        if host.endswith(".blob.core.windows.net"):
            return AzureStore.from_url(url, **options)
        return HTTPStore.from_url(url, **options)
    if scheme in ("", "file"):
        return LocalStore.from_url(url if scheme else f"file://{url}", **options)
    raise ValueError(
        f"unsupported URL scheme {scheme!r} in {redact_url(url)!r}")


def as_store(store: Any) -> Store | None:
    """None, a lazycogs store, or an obstore store (read by its config)."""
    if store is None or isinstance(store, Store):
        return store
    kind = type(store).__name__
    module = type(store).__module__ or ""
    if not module.startswith("obstore"):
        raise TypeError(f"store must be a lazycogs or obstore store, got {kind}")
    config = dict(getattr(store, "config", None) or {})
    options = {**config, "client_options": dict(getattr(store, "client_options", None) or {})}
    retry = getattr(store, "retry_config", None)
    if retry:
        options["retry_config"] = retry
    prefix = getattr(store, "prefix", None)
    if kind == "S3Store":
        bucket = options.pop("bucket", None) or options.pop("aws_bucket", None)
        return S3Store(bucket, prefix=str(prefix) if prefix else None, **options)
    if kind == "GCSStore":
        bucket = options.pop("bucket", None) or options.pop("google_bucket", None)
        return GCSStore(bucket, prefix=str(prefix) if prefix else None, **options)
    if kind == "AzureStore":
        return AzureStore(prefix=str(prefix) if prefix else None, **options)
    if kind == "HTTPStore":
        return HTTPStore(store.url, **options)
    if kind == "LocalStore":
        return LocalStore(str(prefix) if prefix else None)
    raise TypeError(f"unsupported obstore store {kind}")


def get_ranges(store: Any, path: str, *, starts: list[int],
               ends: list[int] | None = None,
               lengths: list[int] | None = None) -> list[bytes]:
    """Byte ranges of one object, fetched together (obstore's signature:
    ``ends`` are exclusive). ``path`` is a full URL or relative to the
    store's root; store may be None for a full URL."""
    if (ends is None) == (lengths is None):
        raise ValueError("give exactly one of ends= or lengths=")
    if lengths is None:
        lengths = [e - s for s, e in zip(starts, ends)]
    if len(lengths) != len(starts):
        raise ValueError("starts and ends/lengths differ in length")
    return _ext.read_ranges(path, list(zip(starts, lengths)),
                            store=as_store(store))


_log = logging.getLogger("lazycogs.store")

# Stores made for hrefs without one, by root: the same bucket or host gives
# the same store (and so the same C handle, connections and statistics).
_cache: dict[str, Store] = {}
_cache_lock = threading.Lock()


def root_of(href: str) -> str:
    """``scheme://host`` of an href; ``file:///`` for file URLs and local
    paths. The scheme is lower-cased."""
    parsed = urlparse(href)
    scheme = parsed.scheme.lower()
    if scheme in ("", "file") or len(scheme) == 1:  # "C:" is a drive
        return "file:///"
    return f"{scheme}://{parsed.netloc}"


def resolve(href: str, store: Any = None,
            path_from_href: Callable[[str], str] | None = None
            ) -> tuple[Any, str]:
    """The store an asset href is read from, and its path in that store.

    The path is ``path_from_href(href)`` when given, else the URL path
    without query string and leading ``/`` (``s3://b/p/f.tif`` ->
    ``p/f.tif``); file URLs and local paths keep their absolute path. A
    ``store`` given is returned unchanged; otherwise the store of the
    href's root, made once per process for that root (thread-safe).
    """
    parsed = urlparse(href)
    scheme = parsed.scheme.lower()
    if path_from_href is not None:
        path = path_from_href(href)
    elif scheme in ("", "file") or len(scheme) == 1:
        path = parsed.path if scheme == "file" else href
    else:
        path = parsed.path.lstrip("/")
    if store is not None:
        return store, path
    root = root_of(href)
    with _cache_lock:
        cached = _cache.get(root)
        if cached is None:
            cached = _cache[root] = from_url(root)
    return cached, path


def _region_in_host(root: str) -> bool:
    """Whether an https S3 address names its region in the host name (the
    store then takes it from there; a second one would be a duplicate)."""
    host = urlparse(root).hostname or ""
    return re.search(r"(^|\.)s3[.-]([a-z0-9-]+)\.amazonaws\.com$", host) \
        is not None and not host.startswith("s3.amazonaws.com")


def store_for(href: str, *, asset: str | None = None, **options: Any) -> Store:
    """A store for the assets of the catalogue at ``href``, from its first
    item.

    The asset is ``asset`` (``KeyError`` when the item lacks it), else the
    first whose roles contain ``"data"`` or whose media type contains
    ``"image/tiff"``, else the first. The store's root is that asset's
    ``scheme://host``. Options come from the item's STAC Storage Extension
    (v1: region and requester pays for AWS; v2: region, requester pays and,
    for ``custom-s3``, the endpoint), overridden by ``options`` (e.g.
    ``skip_signature=True`` for a public bucket). Raises ``ValueError`` when
    the catalogue has no item. The store is made anew (not cached).
    """
    info = _ext.catalog_store_info(href, asset)
    if info is None:
        raise ValueError(f"No STAC items found in {redact_url(href)!r}")
    if not info["found_asset"]:
        if asset is not None:
            raise KeyError(f"asset {asset!r} is not present on item "
                           f"{info['item_id']!r} of {redact_url(href)!r}")
        raise ValueError(f"item {info['item_id']!r} of {redact_url(href)!r} "
                         "has no asset with an href")
    inferred: dict[str, Any] = {}
    if info["storage_malformed"]:
        _log.warning("ignoring the storage extension of item %r: %s",
                     info["item_id"], info["storage_problem"])
    else:
        if info["region"] is not None:
            inferred["region"] = info["region"]
        if info["request_payer"]:
            inferred["request_payer"] = True
        if info["endpoint"] is not None:
            inferred["endpoint"] = info["endpoint"]
    root = info["root"]
    if _region_in_host(root):
        inferred.pop("region", None)
    return from_url(root, **{**inferred, **options})
