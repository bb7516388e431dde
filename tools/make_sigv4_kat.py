#!/usr/bin/env python3
"""Prints the S3 known answers of tests/c/test_sigv4.c, computed by botocore.

botocore's S3SigV4Auth (Authorization header) and S3SigV4QueryAuth
(presigned URL) sign a few S3 requests of the kinds lazycogs sends, with
the clock fixed. The output is the body of the S3_KATS table of
tests/c/test_sigv4.c; paste it there and run clang-format:

    .venv/bin/python tools/make_sigv4_kat.py

Keys are URI-encoded as botocore's serializer does for S3 object keys
(quote(key, safe='/~')), and the encoded path is what both botocore and
lc__sigv4_sign see. The first case is the GET example of the AWS S3
documentation ("Signature Calculations for the Authorization Header:
Transferring Payload in a Single Chunk"), whose published signature is
f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import datetime
import json
import sys
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"
         "DExampleToken+With/Slashes=And+Plus==")

# name, url scheme://host, bucket-relative raw key (None: the path is
# given encoded), query, extra headers, token, region, when, presign
# expiry (0: Authorization header)
CASES = [
    dict(name="aws_doc_get_range",
         base="https://examplebucket.s3.amazonaws.com", path="/test.txt",
         query="", headers={"Range": "bytes=0-9"}, token=None,
         region="us-east-1", when=datetime.datetime(2013, 5, 24), expires=0),
    dict(name="get_range",
         base="https://sentinel-cogs.s3.us-west-2.amazonaws.com",
         key="sentinel-s2-l2a-cogs/10/T/ES/2023/7/S2B_10TES_20230701_0_L2A/"
             "B04.tif",
         query="", headers={"Range": "bytes=0-16383"}, token=None,
         region="us-west-2",
         when=datetime.datetime(2024, 2, 29, 23, 59, 59), expires=0),
    dict(name="session_token",
         base="https://my-bucket.s3.eu-central-1.amazonaws.com",
         key="cogs/scene_001.tif", query="",
         headers={"Range": "bytes=1024-2047"}, token=TOKEN,
         region="eu-central-1", when=datetime.datetime(2025, 1, 2, 3, 4, 5),
         expires=0),
    dict(name="requester_pays",
         base="https://usgs-landsat.s3.us-west-2.amazonaws.com",
         key="collection02/level-2/standard/oli-tirs/2021/042/034/"
             "LC08_L2SP_042034_20210101_20210308_02_T1_SR_B4.TIF",
         query="",
         headers={"Range": "bytes=0-65535",
                  "x-amz-request-payer": "requester"},
         token=None, region="us-west-2",
         when=datetime.datetime(2021, 3, 8, 12, 0, 0), expires=0),
    dict(name="custom_endpoint_path_style",
         base="http://localhost:9000",
         key="my-bucket/dir with space/caf\u00e9 \u65e5\u672c+a=b&c;d.tif",
         query="x-id=GetObject&partNumber=1",
         headers={"Range": "bytes=100-199"}, token=TOKEN,
         region="us-east-1", when=datetime.datetime(2024, 6, 1, 8, 30, 0),
         expires=0),
    dict(name="head_custom_endpoint",
         base="http://127.0.0.1:9000", key="bucket/a/b/c.tif", query="",
         headers={}, token=None, region="us-east-1",
         when=datetime.datetime(2024, 6, 1, 8, 30, 0), expires=0,
         method="HEAD"),
    dict(name="presign_get",
         base="https://examplebucket.s3.amazonaws.com", path="/test.txt",
         query="", headers={}, token=None, region="us-east-1",
         when=datetime.datetime(2013, 5, 24), expires=86400),
    dict(name="presign_token_key_needing_encoding",
         base="http://localhost:9000",
         key="my-bucket/dir with space/caf\u00e9+a=b.tif",
         query="versionId=3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
         headers={}, token=TOKEN, region="us-east-1",
         when=datetime.datetime(2024, 6, 1, 8, 30, 0), expires=3600),
]


def c_string(s: str) -> str:
    """A C string literal; non-ASCII bytes as octal escapes."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def sign(case: dict) -> dict:
    path = case.get("path")
    if path is None:
        # What botocore's REST serializer does with an S3 key.
        path = "/" + quote(case["key"], safe="/~")
    url = case["base"] + path
    if case["query"]:
        # Query values are encoded as lazycogs sends them: RFC 3986
        # unreserved characters kept, everything else %XX.
        pairs = [p.partition("=") for p in case["query"].split("&")]
        url += "?" + "&".join(
            quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~")
            for k, _, v in pairs)
    method = case.get("method", "GET")
    req = AWSRequest(method=method, url=url, headers=dict(case["headers"]))
    creds = Credentials(AKID, SECRET, case["token"])
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           return_value=case["when"]):
        if case["expires"]:
            signer = botocore.auth.S3SigV4QueryAuth(
                creds, "s3", case["region"], expires=case["expires"])
        else:
            signer = botocore.auth.S3SigV4Auth(creds, "s3", case["region"])
        signer.add_auth(req)
    parts = urlsplit(url)
    out = dict(name=case["name"], method=method, host=parts.netloc,
               path=parts.path, query=parts.query,
               headers=case["headers"], token=case["token"],
               region=case["region"],
               amz_date=case["when"].strftime("%Y%m%dT%H%M%SZ"),
               expires=case["expires"], key=case.get("key"))
    if case["expires"]:
        out["expected"] = urlsplit(req.url).query
    else:
        out["expected"] = req.headers["Authorization"]
    return out


def main() -> int:
    for case in CASES:
        r = sign(case)
        hdrs = list(r["headers"].items())
        print("    /* %s */" % r["name"])
        print("    {")
        print("        .name = %s," % c_string(r["name"]))
        print("        .method = %s," % c_string(r["method"]))
        print("        .host = %s," % c_string(r["host"]))
        print("        .path = %s," % c_string(r["path"]))
        if r["key"] is not None:
            print("        .raw_key = %s," % c_string(r["key"]))
        print("        .query = %s," % c_string(r["query"]))
        for i, (k, v) in enumerate(hdrs):
            print("        .headers[%d] = {%s, %s}," % (i, c_string(k.lower()),
                                                     c_string(v)))
        print("        .nheaders = %d," % len(hdrs))
        print("        .session_token = %s,"
              % (c_string(r["token"]) if r["token"] else "NULL"))
        print("        .region = %s," % c_string(r["region"]))
        print("        .amz_date = %s," % c_string(r["amz_date"]))
        print("        .expires_seconds = %d," % r["expires"])
        print("        .expected = %s," % c_string(r["expected"]))
        print("    },")
    print("/* botocore %s; inputs: %s */" % (
        botocore.__version__, json.dumps([c["name"] for c in CASES])),
        file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
