#!/usr/bin/env python3
"""Mender test double: a small, stateful stand-in for the Mender server.

It serves the Mender management API calls fleetgate uses, with answers shaped
exactly as tests/contract/mender-api/openapi.yaml says (the contract test
tests/contract/t0400-mender-contract.sh checks this through Stoplight Prism),
and a control API under /_double/ that only tests use.  Standard library only
(PyYAML is used for .yaml/.yml seeds when present).

Usage:
    python3 mender_double.py --seed SEED.json --port-file PATH
                             [--log FILE] [--token-file FILE]

Listens on 127.0.0.1 on a free port (bound to port 0) and writes the port
number to PATH (atomically, via rename) only once the socket listens, so a
test can poll for the file.  Exits on SIGTERM/SIGINT.

Seed file (JSON, or YAML when the name ends in .yaml/.yml):
    {"devices": [{"id": "<uuid>", "device_type": "raspberrypi4",
                  "artifact_name": "...",
                  "rootfs_version": "... (optional, default artifact_name)",
                  "status": "accepted (optional)",
                  "tags": {"subscribed_branch": "canary"},
                  "attributes": {"name": "kiosk-1", ...extra inventory},
                  "configuration": {"configured": {}, "reported": {}}}],
     "token": "optional expected Personal Access Token",
     "users": {"user@example.com": "password"},
     "artifacts": [{"name": "...", "device_types": ["raspberrypi4"]}],
     "generate": {"count": 100000, "device_types": [...], "branches": [...],
                  "artifact_prefix": "..."},
     "max_body": 1048576}
  - "artifacts" (optional): when present, only these artifacts exist and
    creating a deployment of an unknown artifact answers 422 as Mender does;
    when absent, the artifact list is derived from what devices run and any
    artifact name is accepted (lenient mode for tests that do not care).
  - "generate" (optional): appends COUNT deterministic devices (ids are
    uuid5 of the index), for benchmarks.
  - Bearer tokens accepted: the seed "token", the content of --token-file,
    and every JWT issued by login.  When none of the first two is set, any
    non-empty Bearer token is accepted (a missing one is still 401).

Mender API served (all under /api/management, Bearer auth, errors as
{"error": "...", "request_id": "..."} with an X-MEN-RequestID header):
    POST   v2/inventory/filters/search        filters $eq $ne $in $nin $exists
           $regex $gt $gte $lt $lte on scopes identity/inventory/system/tags,
           device_ids, text, sort, attributes selection, page/per_page
           (max 500), X-Total-Count and Link headers
    GET    v1/inventory/devices/{id}
    POST   v1/deployments/deployments          201 + Location; 409 when an
           unfinished deployment has the same name, artifact_name, devices
           (same order), all_devices and force_installation;
           422 for an unknown artifact (strict artifact mode); 413 past max_body
    GET    v1/deployments/deployments          status, search, type, page,
           per_page, sort, created_before/after; X-Total-Count, Link
    GET    v2/deployments/deployments          id, name (repeatable), status,
           type, page, per_page, sort, created_before/after
    GET    v1/deployments/deployments/{id}
    GET    v1/deployments/deployments/{id}/statistics
    GET    v1/deployments/deployments/{id}/devices
    GET    v1/deployments/deployments/{id}/devices/list  (status, paging)
    GET    v1/deployments/deployments/{id}/device_list
    DELETE v1/deployments/deployments/devices/{id}  abort active ones, 204
    GET    v1/deployments/deployments/devices/{id}  device's history
    GET    v1/deployments/artifacts            name, device_type filters
    GET    v2/deployments/artifacts            name (repeatable, "x*" prefix),
           device_type, page, per_page, Link
    GET    v1/deviceconfig/configurations/device/{id}
    PUT    v1/deviceconfig/configurations/device/{id}   204
    POST   v1/deviceconfig/configurations/device/{id}/deploy  {"deployment_id"}
    POST   v1/useradm/auth/login               Basic auth -> JWT (application/jwt)

Control API (never used by the client; no auth):
    GET  /_double/requests[?match=REGEX]  JSON list of {method, path, query,
         body, status, fault} of the Mender calls (status 0: dropped; body is
         the parsed JSON, else text); match filters on "METHOD PATH"
    POST /_double/reset-requests
    POST /_double/faults  {"match": REGEX on "METHOD PATH", "count": N,
         "status": 500|429|..., "retry_after": S, "delay": S, "drop": bool,
         "malformed": bool, "after": bool, "body": JSON, "hold": bool,
         "skip": K}
         The next N matching Mender calls (after the first K, with
         "skip") get the fault.  delay sleeps first;
         drop closes the connection without an answer; status answers with a
         Mender error body (429 with Retry-After when retry_after is given);
         malformed answers the real status with a truncated JSON body.  With
         "after": true the request is processed (state changes) before the
         answer is dropped/replaced: "the server did it but the client never
         heard".  "body" answers that JSON (with "status", default 200) instead
         of the real answer.  A fault with only "delay" answers normally
         after the delay.  With "hold": true the matching call is held
         (before any other fault effect) until POST /_double/release.
    GET  /_double/held  {"held": N}: calls held now
    POST /_double/release  releases every held call; {"released": N}
    POST /_double/faults/clear
    POST /_double/progress  {"status": "success"|"failure", "devices": [ids]
         (optional: all), "deployment": id (optional), "until":
         "downloading"|"installing"|"rebooting" (optional: stop there)}
         Moves devices through their unfinished deployments in creation order
         (pending -> downloading -> installing -> rebooting -> final).  A
         device already running the artifact ends "already-installed", one of
         a device type the (strict) artifact does not support "noartifact".
         On success the device reports the artifact as artifact_name and
         rootfs-image.version; a configuration deployment makes the deployed
         configuration the "reported" one.  Answers {"moved": N}.
    PUT  /_double/devices/<id>/tags  {"subscribed_branch": "canary"} replaces
         the device's tags (null value removes a tag)
    POST /_double/devices  {seed device} adds a device
    POST /_double/artifacts {"name": ..., "device_types": [...]} adds an
         artifact (and switches to strict artifact mode)
    GET  /_double/state  devices, deployments, configurations (only those
         set or used so far; others are empty), artifacts
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

MGMT = "/api/management"
ACTIVE = ("pending", "downloading", "installing", "rebooting",
          "pause_before_installing", "pause_before_rebooting",
          "pause_before_committing")
STAT_KEYS = ("success", "pending", "downloading", "rebooting", "installing",
             "failure", "noartifact", "already-installed", "aborted",
             "pause_before_installing", "pause_before_rebooting",
             "pause_before_committing")
STEPS = ("pending", "downloading", "installing", "rebooting")
SCOPES = ("identity", "inventory", "system", "tags", "monitor")


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def int_param(q, name, default, lo=None, hi=None):
    vals = q.get(name)
    if not vals:
        return default
    try:
        v = int(vals[0])
    except ValueError:
        raise ApiError(400, "invalid %s parameter: %r" % (name, vals[0]))
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ApiError(400, "invalid %s parameter: %d out of range" % (name, v))
    return v


class State:
    """Everything Mender would keep, behind one lock."""

    def __init__(self, seed, token_file_token):
        self.lock = threading.RLock()
        self.version = 0
        self.search_cache = {}
        self.devices = []
        self.by_id = {}
        self.deployments = []          # creation order
        self.dep_by_id = {}
        self.configs = {}              # device id -> dict
        self.artifacts = []
        self.strict_artifacts = "artifacts" in seed
        self.max_body = int(seed.get("max_body", 1048576))
        self.tokens = set()
        if seed.get("token"):
            self.tokens.add(seed["token"])
        if token_file_token:
            self.tokens.add(token_file_token)
        self.any_token = not self.tokens
        self.users = dict(seed.get("users") or {})
        self.requests = []
        self.faults = []
        self.held = []  # threading.Event of each request a "hold" fault holds
        for d in seed.get("devices") or []:
            self.add_device(d)
        gen = seed.get("generate")
        if gen:
            self.generate(gen)
        for a in seed.get("artifacts") or []:
            self.add_artifact(a)
        if not self.strict_artifacts:
            seen = {}
            for d in self.devices:
                seen.setdefault(d["artifact_name"], set()).add(d["device_type"])
            for name, types in seen.items():
                self.add_artifact({"name": name, "device_types": sorted(types)})

    # -- seeding -------------------------------------------------------
    def add_device(self, d, ts=None):
        if "id" not in d or "device_type" not in d:
            raise ValueError("seed device needs id and device_type: %r" % d)
        if d["id"] in self.by_id:
            raise ValueError("duplicate device id %s" % d["id"])
        ts = ts or now_iso()
        art = d.get("artifact_name", "")
        dev = {
            "id": d["id"],
            "device_type": d["device_type"],
            "artifact_name": art,
            "rootfs_version": d.get("rootfs_version", art),
            "status": d.get("status", "accepted"),
            "mac": d.get("mac"),            # made up on first use
            "tags": {k: v for k, v in (d.get("tags") or {}).items()
                     if v is not None},
            "tags_ts": ts,
            "attributes": dict(d.get("attributes") or {}),
            "created_ts": ts,
            "updated_ts": ts,
        }
        self.devices.append(dev)
        self.by_id[dev["id"]] = dev
        cfg = d.get("configuration")
        if cfg:
            # Devices without one get an empty record on first use.
            self.configs[dev["id"]] = dict(
                self.empty_config(),
                configured=dict(cfg.get("configured") or {}),
                reported=dict(cfg.get("reported") or {}))
        self.version += 1
        return dev

    @staticmethod
    def mac(dev):
        if not dev["mac"]:
            h = hashlib.sha1(dev["id"].encode()).hexdigest()
            dev["mac"] = ":".join(["02"] + [h[i:i + 2]
                                            for i in range(0, 10, 2)])
        return dev["mac"]

    def config(self, dev_id, create=False):
        """A known device's deviceconfig record; None for unknown ones."""
        cfg = self.configs.get(dev_id)
        if cfg is None and (create or dev_id in self.by_id):
            cfg = self.configs[dev_id] = self.empty_config()
        return cfg

    def generate(self, gen):
        count = int(gen.get("count", 0))
        types = gen.get("device_types") or ["raspberrypi4"]
        branches = gen.get("branches") or ["production"]
        prefix = gen.get("artifact_prefix", "2025-10-10-1056-gitops-")
        ts = now_iso()
        for i in range(count):
            dt = types[i % len(types)]
            self.add_device({
                "id": "f1ee7da7-0000-4000-8000-%012x" % i,
                "device_type": dt,
                "artifact_name": prefix + dt,
                "tags": {"subscribed_branch": branches[i % len(branches)]},
                "attributes": {"name": "bench-%06d" % i},
            }, ts)

    def add_artifact(self, a):
        name = a["name"]
        types = list(a.get("device_types") or a.get("device_types_compatible")
                     or [])
        for art in self.artifacts:
            if art["name"] == name:
                art["device_types_compatible"] = sorted(
                    set(art["device_types_compatible"]) | set(types))
                return art
        art = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "artifact:" + name)),
            "name": name,
            "description": a.get("description", ""),
            "device_types_compatible": types,
            "info": {"format": "mender", "version": 3},
            "signed": False,
            "updates": [{"type_info": {"type": "rootfs-image"},
                         "files": [{"name": name + ".ext4",
                                    "checksum": hashlib.sha256(
                                        name.encode()).hexdigest(),
                                    "size": 123456789,
                                    "date": "2025-10-10T10:56:00Z"}]}],
            "artifact_provides": {"artifact_name": name,
                                  "rootfs-image.version": name},
            "artifact_depends": {"device_type": types},
            "clears_artifact_provides": ["rootfs-image.*"],
            "size": 123456789,
            "modified": now_iso(),
        }
        self.artifacts.append(art)
        return art

    # -- inventory -----------------------------------------------------
    def device_attrs(self, dev):
        """(scope, name, value) triples of one device as Mender shows them."""
        out = [("identity", "mac", self.mac(dev)),
               ("identity", "status", dev["status"]),
               ("inventory", "device_type", dev["device_type"]),
               ("inventory", "artifact_name", dev["artifact_name"]),
               ("inventory", "rootfs-image.version", dev["rootfs_version"])]
        for k, v in dev["attributes"].items():
            out.append(("inventory", k, v))
        out.append(("system", "status", dev["status"]))
        out.append(("system", "created_ts", dev["created_ts"]))
        out.append(("system", "updated_ts", dev["updated_ts"]))
        for k, v in dev["tags"].items():
            out.append(("tags", k, v))
        return out

    def attr_value(self, dev, scope, name):
        if scope == "tags":
            return dev["tags"].get(name)
        if scope == "identity":
            if name == "mac":
                return self.mac(dev)
            return dev["status"] if name == "status" else None
        if scope == "system":
            return {"status": dev["status"], "created_ts": dev["created_ts"],
                    "updated_ts": dev["updated_ts"]}.get(name)
        if scope == "inventory":
            if name == "device_type":
                return dev["device_type"]
            if name == "artifact_name":
                return dev["artifact_name"]
            if name == "rootfs-image.version":
                return dev["rootfs_version"]
            return dev["attributes"].get(name)
        return None

    def device_json(self, dev, select=None):
        attrs = []
        for scope, name, value in self.device_attrs(dev):
            if select is not None and (scope, name) not in select:
                continue
            a = {"name": name, "scope": scope, "value": value}
            if scope == "tags":
                a["timestamp"] = dev["tags_ts"]
            attrs.append(a)
        return {"id": dev["id"], "attributes": attrs,
                "updated_ts": dev["updated_ts"]}

    @staticmethod
    def compile_filter(f):
        if not isinstance(f, dict):
            raise ApiError(400, "filter predicate must be an object")
        for k in ("scope", "attribute", "type"):
            if not isinstance(f.get(k), str):
                raise ApiError(400, "filter predicate: missing %s" % k)
        if "value" not in f:
            raise ApiError(400, "filter predicate: missing value")
        if f["scope"] not in SCOPES:
            raise ApiError(400, "filter predicate: invalid scope %s" % f["scope"])
        op, want = f["type"], f["value"]

        def as_list(v):
            return v if isinstance(v, list) else [v]

        if op == "$eq":
            return lambda v: v is not None and (v == want or (
                isinstance(v, list) and want in v))
        if op == "$ne":
            return lambda v: v != want
        if op in ("$in", "$nin"):
            if not isinstance(want, list):
                raise ApiError(400, "filter predicate: %s needs an array" % op)
            pos = op == "$in"
            return lambda v: (v is not None and any(
                x in want for x in as_list(v))) == pos
        if op == "$exists":
            return lambda v: (v is not None) == bool(want)
        if op == "$regex":
            try:
                rx = re.compile(str(want))
            except re.error:
                return lambda v: False
            return lambda v: isinstance(v, str) and rx.match(v) is not None
        cmp = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
               "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b,
               "$ltne": lambda a, b: a < b}.get(op)
        if cmp is None:
            raise ApiError(400, "filter predicate: invalid type %s" % op)

        def ordered(v):
            try:
                return v is not None and cmp(v, want)
            except TypeError:
                return False
        return ordered

    def search(self, params):
        key = json.dumps([params.get("filters"), params.get("device_ids"),
                          params.get("text"), params.get("sort")],
                         sort_keys=True)
        if self.search_cache.get("version") != self.version:
            self.search_cache = {"version": self.version}
        hit = self.search_cache.get(key)
        if hit is not None:
            return hit
        preds = []
        for f in params.get("filters") or []:
            preds.append((f["scope"], f["attribute"], self.compile_filter(f)))
        ids = params.get("device_ids")
        if ids:
            pool = [self.by_id[i] for i in ids if i in self.by_id]
        else:
            pool = self.devices
        text = params.get("text")
        out = []
        for dev in pool:
            if all(p(self.attr_value(dev, s, a)) for s, a, p in preds):
                if text and not any(text in str(v) for _, _, v in
                                    self.device_attrs(dev)):
                    continue
                out.append(dev)
        for crit in reversed(params.get("sort") or []):
            s, a = crit.get("scope"), crit.get("attribute")
            out.sort(key=lambda d: str(self.attr_value(d, s, a) or ""),
                     reverse=crit.get("order") == "desc")
        self.search_cache[key] = out
        return out

    # -- deployments ---------------------------------------------------
    def find_artifact(self, name):
        for a in self.artifacts:
            if a["name"] == name:
                return a
        return None

    @staticmethod
    def dep_status(dep):
        sts = [dd["status"] for dd in dep["devices"].values()]
        if not sts or all(s not in ACTIVE for s in sts):
            return "finished"
        if all(s == "pending" for s in sts):
            return "pending"
        return "inprogress"

    def refresh(self, dep):
        st = self.dep_status(dep)
        if st == "finished" and dep["status"] != "finished":
            dep["finished"] = now_iso()
        dep["status"] = st

    def stats(self, dep):
        s = {k: 0 for k in STAT_KEYS}
        for dd in dep["devices"].values():
            if dd["status"] in s:
                s[dd["status"]] += 1
        return s

    def new_deployment(self, name, artifact_name, device_ids, kind="software",
                       configuration=None, force=False, all_devices=False):
        dep_id = str(uuid.uuid4())
        ts = now_iso()
        art = self.find_artifact(artifact_name)
        dep = {
            "id": dep_id, "name": name, "artifact_name": artifact_name,
            "created": ts, "finished": None, "status": "pending",
            "type": kind, "configuration": configuration, "force": force,
            "all_devices": all_devices,
            "artifacts": [art["id"]] if art else [],
            "devices": {i: {"status": "pending", "created": ts,
                            "started": None, "finished": None}
                        for i in device_ids},
            "seq": len(self.deployments),
            "constructor": None,
        }
        self.deployments.append(dep)
        self.dep_by_id[dep_id] = dep
        self.refresh(dep)
        self.version += 1
        return dep

    def dep_v1(self, dep, full=False):
        out = {"id": dep["id"], "name": dep["name"],
               "artifact_name": dep["artifact_name"],
               "created": dep["created"], "status": dep["status"],
               "device_count": len(dep["devices"]),
               "artifacts": dep["artifacts"], "type": dep["type"]}
        if dep["finished"]:
            out["finished"] = dep["finished"]
        if dep["type"] == "configuration" and dep["configuration"] is not None:
            out["configuration"] = json.dumps(dep["configuration"],
                                              sort_keys=True)
        if full:
            out["statistics"] = {"status": self.stats(dep), "total_size": 0}
        return out

    def dep_v2(self, dep):
        out = {"id": dep["id"], "name": dep["name"],
               "artifact_name": dep["artifact_name"],
               "created": dep["created"], "status": dep["status"],
               "device_count": len(dep["devices"]),
               "artifacts": dep["artifacts"]}
        if dep["finished"]:
            out["finished"] = dep["finished"]
        return out

    def dev_deployment(self, dep, dev_id):
        dd = dep["devices"][dev_id]
        dev = self.by_id.get(dev_id)
        out = {"id": dev_id, "status": dd["status"], "created": dd["created"],
               "log": False}
        if dd["started"]:
            out["started"] = dd["started"]
        if dd["finished"]:
            out["finished"] = dd["finished"]
        if dev:
            out["device_type"] = dev["device_type"]
        art = self.find_artifact(dep["artifact_name"])
        if art and dep["type"] == "software":
            out["image"] = {"id": art["id"],
                            "meta": {"description": art["description"]},
                            "size": art["size"], "modified": art["modified"]}
        return out

    def abort_device(self, dev_id):
        n = 0
        for dep in self.deployments:
            dd = dep["devices"].get(dev_id)
            if dd and dd["status"] in ACTIVE:
                dd["status"] = "aborted"
                dd["finished"] = now_iso()
                self.refresh(dep)
                n += 1
        if n:
            self.version += 1
        return n

    def progress(self, body):
        status = body.get("status", "success")
        if status not in ("success", "failure"):
            raise ApiError(400, "status must be success or failure")
        until = body.get("until")
        if until is not None and until not in STEPS[1:]:
            raise ApiError(400, "until must be one of %s" % (STEPS[1:],))
        only = body.get("devices")
        only = set(only) if only is not None else None
        dep_filter = body.get("deployment")
        moved = 0
        for dep in list(self.deployments):
            if dep_filter and dep["id"] != dep_filter:
                continue
            if dep["status"] == "finished":
                continue
            for dev_id, dd in dep["devices"].items():
                if dd["status"] not in ACTIVE:
                    continue
                if only is not None and dev_id not in only:
                    continue
                self.step_device(dep, dev_id, dd, status, until)
                moved += 1
            self.refresh(dep)
        self.version += 1
        return moved

    def step_device(self, dep, dev_id, dd, status, until):
        dev = self.by_id.get(dev_id)
        ts = now_iso()
        if dd["started"] is None:
            dd["started"] = ts
        if dep["type"] == "software" and dd["status"] == "pending":
            art = self.find_artifact(dep["artifact_name"])
            if dev is None:
                self.finish(dd, "decommissioned")
                return
            if (self.strict_artifacts and art is not None and
                    dev["device_type"] not in art["device_types_compatible"]):
                self.finish(dd, "noartifact")
                return
            if (not dep["force"] and
                    dev["artifact_name"] == dep["artifact_name"]):
                self.finish(dd, "already-installed")
                return
        if until is not None:
            if STEPS.index(dd["status"]) < STEPS.index(until):
                dd["status"] = until
            return
        self.finish(dd, status)
        if status != "success" or dev is None:
            return
        if dep["type"] == "software":
            dev["artifact_name"] = dep["artifact_name"]
            dev["rootfs_version"] = dep["artifact_name"]
        else:
            cfg = self.config(dev_id, create=True)
            cfg["reported"] = dict(dep["configuration"] or {})
            cfg["reported_ts"] = ts
        dev["updated_ts"] = ts

    @staticmethod
    def finish(dd, status):
        dd["status"] = status
        dd["finished"] = now_iso()

    @staticmethod
    def empty_config():
        return {"configured": {}, "reported": {}, "deployment_id": None,
                "reported_ts": None, "updated_ts": None}

    def dump(self):
        return {
            "devices": [dict(d, tags=dict(d["tags"]),
                             attributes=dict(d["attributes"]))
                        for d in self.devices],
            "deployments": [dict(self.dep_v1(d, full=True),
                                 devices={k: dict(v) for k, v in
                                          d["devices"].items()})
                            for d in self.deployments],
            "configurations": {k: dict(v) for k, v in self.configs.items()},
            "artifacts": [a["name"] for a in self.artifacts],
            "strict_artifacts": self.strict_artifacts,
        }


def link_header(path, q, page, per_page, total):
    def url(p):
        parts = []
        for k, vals in q.items():
            if k in ("page", "per_page"):
                continue
            for v in vals:
                parts.append("%s=%s" % (quote(k), quote(v)))
        parts += ["page=%d" % p, "per_page=%d" % per_page]
        return "<%s?%s>" % (path, "&".join(parts))
    links = ['%s; rel="first"' % url(1)]
    if page > 1:
        links.append('%s; rel="prev"' % url(page - 1))
    if page * per_page < total:
        links.append('%s; rel="next"' % url(page + 1))
    return ", ".join(links)


class Reply:
    def __init__(self, status, body=None, headers=None, ctype=None):
        self.status = status
        self.headers = dict(headers or {})
        if body is None:
            self.data = b""
        elif isinstance(body, (bytes, str)):
            self.data = body.encode() if isinstance(body, str) else body
            self.headers.setdefault("Content-Type", ctype or "text/plain")
        else:
            self.data = json.dumps(body).encode()
            self.headers.setdefault("Content-Type",
                                    ctype or "application/json; charset=utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MenderDouble/1.0"
    sys_version = ""

    def version_string(self):
        return self.server_version

    # -- plumbing ------------------------------------------------------
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def dispatch(self):
        st = self.server.state
        self.request_id = str(uuid.uuid4())
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        q = parse_qs(query, keep_blank_values=True)
        raw = self.read_body()
        if raw is None:
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if path.startswith("/_double/"):
            try:
                reply = self.control(path, body, q)
            except ApiError as e:
                reply = Reply(e.status, {"error": e.message})
            self.send(reply)
            return
        rec = {"method": self.command, "path": path, "query": query,
               "body": body, "status": None, "fault": None}
        with st.lock:
            st.requests.append(rec)
            fault = self.take_fault("%s %s" % (self.command, path))
        if fault:
            rec["fault"] = {k: v for k, v in fault.items() if k != "_rx"}
            if fault.get("delay"):
                time.sleep(float(fault["delay"]))
            if fault.get("hold"):
                # Held until a test releases it: order is proven by
                # synchronisation, never by a clock.
                ev = threading.Event()
                with st.lock:
                    st.held.append(ev)
                ev.wait()
            if not fault.get("after") and self.pre_fault(fault, rec):
                return
        reply = self.mender(path, q, raw, body)
        if fault and fault.get("after") and self.pre_fault(fault, rec):
            return
        if fault and fault.get("malformed") and reply.data:
            cut = max(1, len(reply.data) // 2)
            reply.data = reply.data[:cut] + b"\x00{,"
            reply.headers["Content-Type"] = "application/json"
        rec["status"] = reply.status
        self.send(reply)

    def read_body(self):
        """The request body (Content-Length or chunked); None after a 400."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    break
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(8)
            self.close_connection = True
            self.send(Reply(400, {"error": "bad chunked body",
                                  "request_id": self.request_id}))
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self.send(Reply(400, {"error": "bad Content-Length",
                                  "request_id": self.request_id}))
            return None
        return self.rfile.read(length) if length else b""

    def take_fault(self, key):
        for f in self.server.state.faults:
            if f["count"] > 0 and f["_rx"].search(key):
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1  # let this many matching calls pass
                    continue
                f["count"] -= 1
                return dict(f)
        return None

    def pre_fault(self, fault, rec):
        """Answer per the fault; True when the answer has been dealt with."""
        if fault.get("drop"):
            rec["status"] = 0
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if "body" in fault:
            code = int(fault.get("status") or 200)
            rec["status"] = code
            self.send(Reply(code, fault["body"]))
            return True
        if fault.get("status"):
            code = int(fault["status"])
            hdrs = {}
            if fault.get("retry_after") is not None:
                hdrs["Retry-After"] = str(fault["retry_after"])
            msg = {429: "too many requests", 500: "internal error",
                   502: "bad gateway", 503: "service unavailable",
                   504: "gateway timeout"}.get(code, "injected fault")
            rec["status"] = code
            self.send(Reply(code, {"error": msg,
                                   "request_id": self.request_id}, hdrs))
            return True
        return False

    def send(self, reply):
        try:
            self.send_response(reply.status)
            self.send_header("X-MEN-RequestID", self.request_id)
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(reply.data)))
            self.end_headers()
            if reply.data:
                self.wfile.write(reply.data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        log = self.server.logfile
        if log:
            with self.server.state.lock:
                log.write("%s %s %s %d\n" % (now_iso(), self.command,
                                             self.path, reply.status))
                log.flush()

    def err(self, status, msg, headers=None):
        return Reply(status, {"error": msg, "request_id": self.request_id},
                     headers)

    # -- control API ---------------------------------------------------
    def control(self, path, body, q):
        st = self.server.state
        m = self.command
        with st.lock:
            if m == "GET" and path == "/_double/requests":
                out = st.requests
                if q.get("match"):
                    rx = re.compile(q["match"][0])
                    out = [r for r in out
                           if rx.search("%s %s" % (r["method"], r["path"]))]
                return Reply(200, out)
            if m == "POST" and path == "/_double/reset-requests":
                st.requests = []
                return Reply(204)
            if m == "POST" and path == "/_double/faults":
                if not isinstance(body, dict):
                    raise ApiError(400, "fault must be a JSON object")
                f = dict(body)
                try:
                    f["_rx"] = re.compile(f.get("match", ""))
                except re.error as e:
                    raise ApiError(400, "bad match regex: %s" % e)
                f["count"] = int(f.get("count", 1))
                st.faults.append(f)
                return Reply(204)
            if m == "GET" and path == "/_double/held":
                return Reply(200, {"held": len(st.held)})
            if m == "POST" and path == "/_double/release":
                n = len(st.held)
                for ev in st.held:
                    ev.set()
                st.held = []
                return Reply(200, {"released": n})
            if m == "POST" and path == "/_double/faults/clear":
                st.faults = []
                return Reply(204)
            if m == "POST" and path == "/_double/progress":
                return Reply(200, {"moved": st.progress(body or {})})
            if m == "GET" and path == "/_double/state":
                return Reply(200, st.dump())
            if m == "POST" and path == "/_double/devices":
                try:
                    st.add_device(body or {})
                except ValueError as e:
                    raise ApiError(400, str(e))
                return Reply(204)
            if m == "POST" and path == "/_double/artifacts":
                if not isinstance(body, dict) or not body.get("name"):
                    raise ApiError(400, "artifact needs a name")
                st.add_artifact(body)
                st.strict_artifacts = True
                return Reply(204)
            mt = re.fullmatch(r"/_double/devices/([^/]+)/tags", path)
            if m == "PUT" and mt:
                dev = st.by_id.get(mt.group(1))
                if dev is None:
                    raise ApiError(404, "device not found")
                if not isinstance(body, dict):
                    raise ApiError(400, "tags must be a JSON object")
                dev["tags"] = {k: v for k, v in body.items() if v is not None}
                dev["tags_ts"] = dev["updated_ts"] = now_iso()
                st.version += 1
                return Reply(204)
        raise ApiError(404, "no such control call")

    # -- Mender API ----------------------------------------------------
    def authorized(self):
        st = self.server.state
        h = self.headers.get("Authorization") or ""
        if not h.startswith("Bearer "):
            return False
        tok = h[len("Bearer "):].strip()
        if not tok:
            return False
        return st.any_token or tok in st.tokens

    def mender(self, path, q, raw, body):
        st = self.server.state
        if not path.startswith(MGMT + "/"):
            return self.err(404, "Resource not found")
        if len(raw) > st.max_body:
            return self.err(413, "request body too large")
        rest = path[len(MGMT):]
        if rest == "/v1/useradm/auth/login":
            if self.command != "POST":
                return self.err(405, "Method not allowed")
            return self.login()
        if not self.authorized():
            return self.err(401, "Authorization not present in header"
                            if not self.headers.get("Authorization")
                            else "unauthorized")
        try:
            with st.lock:
                return self.route(rest, q, raw, body)
        except ApiError as e:
            return self.err(e.status, e.message, e.headers)

    def login(self):
        st = self.server.state
        h = self.headers.get("Authorization") or ""
        user = pw = None
        if h.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(
                    h[6:].strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = None
        if user is None:
            return self.err(401, "unauthorized")
        with st.lock:
            if user not in st.users or st.users[user] != pw:
                return self.err(401, "unauthorized")

            def b64(obj):
                return base64.urlsafe_b64encode(
                    json.dumps(obj).encode()).rstrip(b"=").decode()
            tok = "%s.%s.%s" % (
                b64({"alg": "RS256", "typ": "JWT"}),
                b64({"iss": "Mender", "sub": str(uuid.uuid5(
                    uuid.NAMESPACE_URL, user)), "scp": "mender.*",
                    "exp": int(time.time()) + 7 * 86400,
                    "jti": str(uuid.uuid4())}),
                b64(uuid.uuid4().hex))
            st.tokens.add(tok)
        return Reply(200, tok, ctype="application/jwt")

    def route(self, rest, q, raw, body):
        m = self.command
        st = self.server.state
        if rest == "/v2/inventory/filters/search" and m == "POST":
            return self.inv_search(body)
        mt = re.fullmatch(r"/v1/inventory/devices/([^/]+)", rest)
        if mt and m == "GET":
            dev = st.by_id.get(mt.group(1))
            if dev is None:
                raise ApiError(404, "Device not found")
            return Reply(200, st.device_json(dev))
        if rest == "/v1/deployments/deployments":
            if m == "POST":
                return self.create_deployment(body)
            if m == "GET":
                return self.list_deployments(q, v2=False)
        if rest == "/v2/deployments/deployments" and m == "GET":
            return self.list_deployments(q, v2=True)
        mt = re.fullmatch(r"/v1/deployments/deployments/devices/([^/]+)", rest)
        if mt:
            if m == "DELETE":
                st.abort_device(mt.group(1))
                return Reply(204)
            if m == "GET":
                return self.device_history(mt.group(1), q)
        mt = re.fullmatch(
            r"/v1/deployments/deployments/([^/]+)(/statistics|/devices|"
            r"/devices/list|/device_list)?", rest)
        if mt and m == "GET":
            dep = st.dep_by_id.get(mt.group(1))
            if dep is None:
                raise ApiError(404, "Deployment not found")
            sub = mt.group(2)
            if sub is None:
                return Reply(200, st.dep_v1(dep, full=True))
            if sub == "/statistics":
                return Reply(200, st.stats(dep))
            if sub == "/device_list":
                return Reply(200, list(dep["devices"]))
            ids = list(dep["devices"])
            if sub == "/devices":
                return Reply(200, [st.dev_deployment(dep, i) for i in ids])
            return self.deployment_devices_page(dep, ids, q)
        if rest == "/v1/deployments/artifacts" and m == "GET":
            return self.list_artifacts(q, v2=False)
        if rest == "/v2/deployments/artifacts" and m == "GET":
            return self.list_artifacts(q, v2=True)
        mt = re.fullmatch(
            r"/v1/deviceconfig/configurations/device/([^/]+)(/deploy)?", rest)
        if mt:
            dev_id = mt.group(1)
            if mt.group(2) and m == "POST":
                return self.config_deploy(dev_id, body)
            if not mt.group(2) and m == "GET":
                cfg = st.config(dev_id)
                if cfg is None:
                    raise ApiError(404, "configuration not found")
                out = {"id": dev_id, "configured": cfg["configured"],
                       "reported": cfg["reported"]}
                for k in ("deployment_id", "reported_ts", "updated_ts"):
                    if cfg[k]:
                        out[k] = cfg[k]
                return Reply(200, out)
            if not mt.group(2) and m == "PUT":
                if not isinstance(body, dict) or not all(
                        isinstance(v, str) for v in body.values()):
                    raise ApiError(400, "configuration must be an object of "
                                   "string values")
                cfg = st.config(dev_id, create=True)
                cfg["configured"] = dict(body)
                cfg["updated_ts"] = now_iso()
                st.version += 1
                return Reply(204)
        raise ApiError(404, "Resource not found")

    def inv_search(self, body):
        st = self.server.state
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ApiError(400, "failed to parse request body: not an object")
        page = body.get("page", 1)
        per_page = body.get("per_page", 20)
        if not isinstance(page, int) or page < 1:
            raise ApiError(400, "invalid page value")
        if not isinstance(per_page, int) or not 1 <= per_page <= 500:
            raise ApiError(400, "invalid per_page value")
        for f in body.get("filters") or []:
            st.compile_filter(f)
        select = None
        if body.get("attributes"):
            select = {(a.get("scope"), a.get("attribute"))
                      for a in body["attributes"]}
        found = st.search(body)
        chunk = found[(page - 1) * per_page: page * per_page]
        out = [st.device_json(d, select) for d in chunk]
        path = MGMT + "/v2/inventory/filters/search"
        return Reply(200, out, {
            "X-Total-Count": str(len(found)),
            "Link": link_header(path, {}, page, per_page, len(found))})

    def create_deployment(self, body):
        st = self.server.state
        if not isinstance(body, dict):
            raise ApiError(400, "Validating request body: invalid request")
        name, art = body.get("name"), body.get("artifact_name")
        devices = body.get("devices")
        all_dev = bool(body.get("all_devices"))
        if not isinstance(name, str) or not name:
            raise ApiError(400, "Validating request body: name: cannot be blank.")
        if not isinstance(art, str) or not art:
            raise ApiError(400, "Validating request body: artifact_name: "
                           "cannot be blank.")
        if devices is not None and (not isinstance(devices, list) or not all(
                isinstance(d, str) and d for d in devices)):
            raise ApiError(400, "Validating request body: devices: must be "
                           "an array of device identifiers.")
        if devices and all_dev:
            raise ApiError(400, "Validating request body: Invalid deployments "
                           "definition: list of devices provided togheter "
                           "with all_devices flag")
        if not devices and not all_dev:
            raise ApiError(400, "Validating request body: Invalid deployments "
                           "definition: provide list of devices or set "
                           "all_devices flag")
        if all_dev:
            devices = [d["id"] for d in st.devices if d["status"] == "accepted"]
        if len(set(devices)) != len(devices):
            raise ApiError(400, "Validating request body: devices: contains "
                           "duplicates.")
        if st.strict_artifacts and st.find_artifact(art) is None:
            raise ApiError(422, "No artifact for the deployment")
        # Mender keeps a unique index on a checksum of the whole request
        # among unfinished deployments: same name, artifact, device list (in
        # the same order), all_devices and force_installation.
        ctor = json.dumps([name, art, None if all_dev else devices, all_dev,
                           bool(body.get("force_installation"))])
        for dep in st.deployments:
            if (dep["status"] != "finished" and dep["type"] == "software" and
                    dep["constructor"] == ctor):
                raise ApiError(409, "Invalid deployment definition: there is "
                               "already an active deployment with the same "
                               "parameters")
        dep = st.new_deployment(name, art, devices,
                                force=bool(body.get("force_installation")),
                                all_devices=all_dev)
        dep["constructor"] = ctor
        return Reply(201, None, {
            "Location": "%s/v1/deployments/deployments/%s" % (MGMT, dep["id"])})

    def list_deployments(self, q, v2):
        st = self.server.state
        page = int_param(q, "page", 1, lo=1)
        per_page = int_param(q, "per_page", 20, lo=1, hi=500)
        status = (q.get("status") or [None])[0]
        if status not in (None, "inprogress", "finished", "pending"):
            raise ApiError(400, "invalid status query")
        kind = (q.get("type") or [None])[0]
        if kind not in (None, "software", "configuration"):
            raise ApiError(400, "invalid type query")
        before = int_param(q, "created_before", None)
        after = int_param(q, "created_after", None)
        sort = (q.get("sort") or ["desc"])[0]
        if sort not in ("asc", "desc"):
            raise ApiError(400, "invalid sort query")
        res = []
        for dep in st.deployments:
            if status and dep["status"] != status:
                continue
            if kind and dep["type"] != kind:
                continue
            created = datetime.datetime.strptime(
                dep["created"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
            if before is not None and created > before:
                continue
            if after is not None and created < after:
                continue
            if v2:
                if q.get("id") and dep["id"] not in q["id"]:
                    continue
                if q.get("name") and dep["name"] not in q["name"]:
                    continue
            else:
                s = (q.get("search") or [None])[0]
                if s and not (dep["id"] == s or s.lower() in
                              dep["name"].lower()):
                    continue
            res.append(dep)
        res.sort(key=lambda d: d["seq"], reverse=(sort == "desc"))
        chunk = res[(page - 1) * per_page: page * per_page]
        out = [st.dep_v2(d) if v2 else st.dep_v1(d) for d in chunk]
        path = MGMT + ("/v2" if v2 else "/v1") + "/deployments/deployments"
        return Reply(200, out, {
            "X-Total-Count": str(len(res)),
            "Link": link_header(path, q, page, per_page, len(res))})

    def deployment_devices_page(self, dep, ids, q):
        st = self.server.state
        page = int_param(q, "page", 1, lo=1)
        per_page = int_param(q, "per_page", 20, lo=1, hi=500)
        status = (q.get("status") or [None])[0]
        sel = []
        for i in ids:
            s = dep["devices"][i]["status"]
            if status in (None, s) or (status == "active" and s in ACTIVE) or (
                    status == "finished" and s not in ACTIVE) or (
                    status == "pause" and s.startswith("pause_")):
                sel.append(i)
        chunk = sel[(page - 1) * per_page: page * per_page]
        return Reply(200, [st.dev_deployment(dep, i) for i in chunk],
                     {"X-Total-Count": str(len(sel))})

    def device_history(self, dev_id, q):
        st = self.server.state
        page = int_param(q, "page", 1, lo=1)
        per_page = int_param(q, "per_page", 20, lo=1, hi=20)
        status = (q.get("status") or [None])[0]
        res = []
        for dep in reversed(st.deployments):
            dd = dep["devices"].get(dev_id)
            if dd is None:
                continue
            s = dd["status"]
            if status in (None, s) or (status == "active" and s in ACTIVE) or (
                    status == "finished" and s not in ACTIVE):
                res.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                 dep["id"] + dev_id)),
                            "deployment": st.dep_v1(dep),
                            "device": st.dev_deployment(dep, dev_id)})
        return Reply(200, res[(page - 1) * per_page: page * per_page])

    def list_artifacts(self, q, v2):
        st = self.server.state
        names = q.get("name") or []
        dtype = (q.get("device_type") or [None])[0]
        desc = (q.get("description") or [None])[0]

        def match(value, pattern):
            if pattern.endswith("*"):
                return value.startswith(pattern[:-1])
            return value == pattern
        res = []
        for a in sorted(st.artifacts, key=lambda a: a["name"]):
            if names and not any(match(a["name"], n) for n in names):
                continue
            if dtype and not any(match(t, dtype)
                                 for t in a["device_types_compatible"]):
                continue
            if desc and not match(a["description"], desc):
                continue
            res.append(a)
        if not v2:
            return Reply(200, res)
        page = int_param(q, "page", 1, lo=1)
        per_page = int_param(q, "per_page", 20, lo=1, hi=500)
        path = MGMT + "/v2/deployments/artifacts"
        return Reply(200, res[(page - 1) * per_page: page * per_page], {
            "X-Total-Count": str(len(res)),
            "Link": link_header(path, q, page, per_page, len(res))})

    def config_deploy(self, dev_id, body):
        st = self.server.state
        if body is not None and not isinstance(body, dict):
            raise ApiError(400, "Validating request body: expected JSON object")
        cfg = st.config(dev_id)
        if cfg is None or dev_id not in st.by_id:
            raise ApiError(404, "device not found")
        dep = st.new_deployment(
            "configuration-%s" % dev_id, "configuration-%s" % dev_id,
            [dev_id], kind="configuration",
            configuration=dict(cfg["configured"]))
        cfg["deployment_id"] = dep["id"]
        return Reply(200, {"deployment_id": dep["id"]})


def load_seed(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        import yaml  # only needed for YAML seeds
        return yaml.safe_load(text) or {}
    return json.loads(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--token-file")
    args = ap.parse_args(argv)
    seed = load_seed(args.seed)
    tok = None
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            tok = f.read().strip()
    state = State(seed, tok)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.state = state
    srv.logfile = open(args.log, "a", encoding="utf-8") if args.log else None
    port = srv.server_address[1]
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
