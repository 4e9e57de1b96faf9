#!/usr/bin/env python3
"""Self-test of the Mender test double's state machine (prints TAP).

Each test class starts its own double (a real process, as the other tests
use it) from a seed written to a temporary directory, and talks HTTP to it.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLE = os.path.join(HERE, "mender_double.py")
M = "/api/management"
TOKEN = "test-pat-0123456789"
TYPES = ["raspberrypi3", "raspberrypi4", "imx8mm-iot-gate"]


class Double:
    def __init__(self, seed, token_file_token=None, yaml_text=None):
        self.dir = tempfile.mkdtemp(prefix="fg-double-test.")
        seed_path = os.path.join(self.dir, "seed.yaml" if yaml_text
                                 else "seed.json")
        with open(seed_path, "w") as f:
            if yaml_text:
                f.write(yaml_text)
            else:
                json.dump(seed, f)
        args = [sys.executable, DOUBLE, "--seed", seed_path,
                "--port-file", os.path.join(self.dir, "port")]
        if token_file_token is not None:
            tf = os.path.join(self.dir, "token")
            with open(tf, "w") as f:
                f.write(token_file_token + "\n")
            args += ["--token-file", tf]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        port_file = os.path.join(self.dir, "port")
        while not (os.path.exists(port_file) and
                   open(port_file).read().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("double did not start: %s" %
                                   self.proc.stderr.read().decode())
            time.sleep(0.05)
        self.port = int(open(port_file).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method, path, body=None, token=TOKEN, headers=None,
             raw=False, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        if raw:
            return r.status, hdrs, payload
        return r.status, hdrs, json.loads(payload) if payload else None

    def ctl(self, method, path, body=None):
        return self.call(method, "/_double/" + path, body, token=None)

    def search(self, body, **kw):
        return self.call("POST", M + "/v2/inventory/filters/search", body, **kw)

    def deploy(self, name, art, devices):
        return self.call("POST", M + "/v1/deployments/deployments",
                         {"name": name, "artifact_name": art,
                          "devices": devices})

    def dep_id(self, hdrs):
        return hdrs["location"].rsplit("/", 1)[1]


def dev(i, dtype="raspberrypi4", art="os-1", branch="production"):
    return {"id": "00000000-0000-4000-8000-%012d" % i, "device_type": dtype,
            "artifact_name": art, "tags": {"subscribed_branch": branch},
            "attributes": {"name": "dev-%d" % i}}


def attr(device, scope, name):
    for a in device["attributes"]:
        if a["scope"] == scope and a["name"] == name:
            return a["value"]
    return None


class DoubleTest(unittest.TestCase):
    seed = {"devices": [dev(i, TYPES[i % 3],
                            "os-1-%s" % TYPES[i % 3],
                            ["production", "canary", "main"][i % 3])
                        for i in range(10)],
            "token": TOKEN, "users": {"ops@example.com": "s3cret"}}

    def setUp(self):
        self.d = Double(self.seed)

    def tearDown(self):
        self.d.stop()


class TestAuth(DoubleTest):
    def test_missing_token_is_401_with_mender_error(self):
        st, h, b = self.d.call("GET", M + "/v1/deployments/deployments",
                               token=None)
        self.assertEqual(st, 401)
        self.assertEqual(set(b), {"error", "request_id"})
        self.assertEqual(b["request_id"], h["x-men-requestid"])

    def test_wrong_token_is_401(self):
        st, _, b = self.d.search({}, token="nope")
        self.assertEqual(st, 401)
        self.assertTrue(b["error"])

    def test_login_issues_a_usable_jwt(self):
        basic = base64.b64encode(b"ops@example.com:s3cret").decode()
        st, h, tok = self.d.call("POST", M + "/v1/useradm/auth/login",
                                 token=None, raw=True,
                                 headers={"Authorization": "Basic " + basic})
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/jwt")
        self.assertEqual(len(tok.split(b".")), 3)
        st, _, _ = self.d.search({}, token=tok.decode())
        self.assertEqual(st, 200)

    def test_login_with_wrong_password_is_401(self):
        basic = base64.b64encode(b"ops@example.com:wrong").decode()
        st, _, b = self.d.call("POST", M + "/v1/useradm/auth/login",
                               token=None,
                               headers={"Authorization": "Basic " + basic})
        self.assertEqual(st, 401)
        self.assertIn("error", b)


class TestTokenFile(unittest.TestCase):
    def test_token_file_token_is_accepted_others_not(self):
        d = Double({"devices": [dev(1)]}, token_file_token="from-file")
        try:
            self.assertEqual(d.search({}, token="from-file")[0], 200)
            self.assertEqual(d.search({}, token=TOKEN)[0], 401)
        finally:
            d.stop()


class TestSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Double({"token": TOKEN, "generate": {
            "count": 1234, "device_types": TYPES,
            "branches": ["production", "canary"]}})

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_paging_covers_every_device_once(self):
        seen, sizes = [], []
        page = 1
        while True:
            st, h, b = self.d.search({"page": page, "per_page": 500})
            self.assertEqual(st, 200)
            self.assertEqual(h["x-total-count"], "1234")
            sizes.append(len(b))
            seen += [x["id"] for x in b]
            if 'rel="next"' not in h["link"]:
                break
            page += 1
        self.assertEqual(sizes, [500, 500, 234])
        self.assertEqual(len(set(seen)), 1234)

    def test_filter_eq_on_tags_and_in_on_inventory(self):
        st, h, b = self.d.search({"per_page": 500, "filters": [
            {"scope": "tags", "attribute": "subscribed_branch",
             "type": "$eq", "value": "canary"},
            {"scope": "inventory", "attribute": "device_type", "type": "$in",
             "value": ["raspberrypi3", "raspberrypi4"]}]})
        self.assertEqual(st, 200)
        # index i: branch i%2, type i%3 -> canary (odd) and type 0 or 1.
        want = sum(1 for i in range(1234) if i % 2 == 1 and i % 3 in (0, 1))
        self.assertEqual(int(h["x-total-count"]), want)
        for x in b:
            self.assertEqual(attr(x, "tags", "subscribed_branch"), "canary")
            self.assertIn(attr(x, "inventory", "device_type"),
                          ("raspberrypi3", "raspberrypi4"))

    def test_attribute_selection(self):
        st, _, b = self.d.search({"per_page": 3, "attributes": [
            {"scope": "inventory", "attribute": "rootfs-image.version"}]})
        self.assertEqual(st, 200)
        for x in b:
            self.assertEqual([(a["scope"], a["name"]) for a in x["attributes"]],
                             [("inventory", "rootfs-image.version")])

    def test_ne_exists_and_device_ids(self):
        st, h, _ = self.d.search({"filters": [
            {"scope": "tags", "attribute": "subscribed_branch", "type": "$ne",
             "value": "canary"}]})
        self.assertEqual(h["x-total-count"], "617")
        st, h, _ = self.d.search({"filters": [
            {"scope": "tags", "attribute": "nothere", "type": "$exists",
             "value": True}]})
        self.assertEqual(h["x-total-count"], "0")
        st, _, all_ = self.d.search({"per_page": 2})
        ids = [x["id"] for x in all_]
        st, h, b = self.d.search({"device_ids": ids + ["unknown"]})
        self.assertEqual([x["id"] for x in b], ids)

    def test_bad_paging_and_filters_are_400(self):
        self.assertEqual(self.d.search({"per_page": 501})[0], 400)
        self.assertEqual(self.d.search({"page": 0})[0], 400)
        st, _, b = self.d.search({"filters": [
            {"scope": "tags", "attribute": "x", "type": "$bogus", "value": 1}]})
        self.assertEqual(st, 400)
        self.assertIn("request_id", b)


class TestDeployments(DoubleTest):
    D0, D1, D2 = (dev(i)["id"] for i in range(3))

    def test_create_then_identical_is_409_until_finished(self):
        st, h, _ = self.d.deploy("prod@abc os-2", "os-2", [self.D0, self.D1])
        self.assertEqual(st, 201)
        self.assertRegex(h["location"],
                         r"^/api/management/v1/deployments/deployments/[0-9a-f-]{36}$")
        st, _, b = self.d.deploy("prod@abc os-2", "os-2", [self.D0, self.D1])
        self.assertEqual(st, 409)
        self.assertEqual(b["error"], "Invalid deployment definition: there "
                         "is already an active deployment with the same "
                         "parameters")
        # Mender compares a checksum of the request: another order differs.
        self.assertEqual(self.d.deploy("prod@abc os-2", "os-2",
                                       [self.D1, self.D0])[0], 201)
        self.d.ctl("POST", "progress", {"devices": [self.D1]})
        # Other devices, same name and artifact: a different deployment.
        self.assertEqual(self.d.deploy("prod@abc os-2", "os-2", [self.D2])[0],
                         201)
        self.d.ctl("POST", "progress", {"status": "success"})
        self.assertEqual(self.d.deploy("prod@abc os-2", "os-2",
                                       [self.D0, self.D1])[0], 201)

    def test_bad_bodies_are_400(self):
        for body in ({"artifact_name": "a", "devices": [self.D0]},
                     {"name": "n", "devices": [self.D0]},
                     {"name": "n", "artifact_name": "a"},
                     {"name": "n", "artifact_name": "a", "devices": [self.D0],
                      "all_devices": True},
                     {"name": "n", "artifact_name": "a",
                      "devices": [self.D0, self.D0]}):
            st, _, b = self.d.call("POST", M + "/v1/deployments/deployments",
                                   body)
            self.assertEqual(st, 400, body)
            self.assertIn("error", b)

    def test_progress_steps_and_success_reports_new_os(self):
        _, h, _ = self.d.deploy("n", "os-2", [self.D0, self.D1])
        dep = self.d.dep_id(h)
        base = M + "/v1/deployments/deployments/" + dep
        self.assertEqual(self.d.call("GET", base)[2]["status"], "pending")
        self.d.ctl("POST", "progress", {"until": "downloading",
                                        "devices": [self.D0]})
        st = self.d.call("GET", base + "/statistics")[2]
        self.assertEqual((st["downloading"], st["pending"]), (1, 1))
        self.assertEqual(self.d.call("GET", base)[2]["status"], "inprogress")
        self.d.ctl("POST", "progress", {"status": "success",
                                        "devices": [self.D0]})
        self.d.ctl("POST", "progress", {"status": "failure",
                                        "devices": [self.D1]})
        st = self.d.call("GET", base + "/statistics")[2]
        self.assertEqual((st["success"], st["failure"], st["pending"]),
                         (1, 1, 0))
        got = self.d.call("GET", base)[2]
        self.assertEqual(got["status"], "finished")
        self.assertIn("finished", got)
        _, _, b = self.d.search({"device_ids": [self.D0, self.D1]})
        by = {x["id"]: x for x in b}
        self.assertEqual(attr(by[self.D0], "inventory", "rootfs-image.version"),
                         "os-2")
        self.assertEqual(attr(by[self.D0], "inventory", "artifact_name"), "os-2")
        self.assertEqual(attr(by[self.D1], "inventory", "artifact_name"),
                         "os-1-" + TYPES[1])
        devs = self.d.call("GET", base + "/devices")[2]
        self.assertEqual({x["id"]: x["status"] for x in devs},
                         {self.D0: "success", self.D1: "failure"})

    def test_device_running_the_artifact_is_already_installed(self):
        _, h, _ = self.d.deploy("n", "os-1-raspberrypi3", [self.D0])
        self.d.ctl("POST", "progress", {})
        st = self.d.call("GET", M + "/v1/deployments/deployments/%s/statistics"
                         % self.d.dep_id(h))[2]
        self.assertEqual(st["already-installed"], 1)

    def test_abort_device(self):
        _, h1, _ = self.d.deploy("a", "os-2", [self.D0, self.D1])
        _, h2, _ = self.d.deploy("b", "os-3", [self.D0])
        st, _, _ = self.d.call("DELETE", M + "/v1/deployments/deployments/"
                               "devices/" + self.D0)
        self.assertEqual(st, 204)
        s1 = self.d.call("GET", M + "/v1/deployments/deployments/%s/statistics"
                         % self.d.dep_id(h1))[2]
        self.assertEqual((s1["aborted"], s1["pending"]), (1, 1))
        d2 = self.d.call("GET", M + "/v1/deployments/deployments/"
                         + self.d.dep_id(h2))[2]
        self.assertEqual(d2["status"], "finished")
        # Aborted: an identical deployment may be created again.
        self.assertEqual(self.d.deploy("b", "os-3", [self.D0])[0], 201)
        # Unknown device: still 204, as Mender answers.
        self.assertEqual(self.d.call("DELETE", M + "/v1/deployments/"
                                     "deployments/devices/nope")[0], 204)
        # Progress never moves aborted devices.
        self.d.ctl("POST", "progress", {})
        _, _, b = self.d.search({"device_ids": [self.D0]})
        self.assertEqual(attr(b[0], "inventory", "artifact_name"), "os-3")

    def test_lists_v1_v2_filters_and_paging(self):
        ids = []
        for i in range(5):
            _, h, _ = self.d.deploy("rollout-%d" % i, "os-%d" % i, [self.D0])
            ids.append(self.d.dep_id(h))
        self.d.ctl("POST", "progress", {"deployment": ids[0]})
        st, h, b = self.d.call("GET", M + "/v1/deployments/deployments"
                               "?status=pending&per_page=2&page=2")
        self.assertEqual(st, 200)
        self.assertEqual(h["x-total-count"], "4")
        self.assertIn('rel="prev"', h["link"])
        self.assertEqual([x["id"] for x in b], [ids[2], ids[1]])  # newest first
        _, h, b = self.d.call("GET", M + "/v1/deployments/deployments"
                              "?search=rollout-3")
        self.assertEqual([x["id"] for x in b], [ids[3]])
        _, h, b = self.d.call("GET", M + "/v2/deployments/deployments"
                              "?name=rollout-0&name=rollout-4&sort=asc")
        self.assertEqual([x["id"] for x in b], [ids[0], ids[4]])
        _, _, b = self.d.call("GET", M + "/v2/deployments/deployments"
                              "?status=finished")
        self.assertEqual([x["id"] for x in b], [ids[0]])
        self.assertEqual(self.d.call("GET", M + "/v1/deployments/deployments"
                                     "?per_page=x")[0], 400)
        self.assertEqual(self.d.call("GET", M + "/v1/deployments/deployments/"
                                     "nope")[0], 404)

    def test_artifact_lists(self):
        _, _, b = self.d.call("GET", M + "/v1/deployments/artifacts"
                              "?name=os-1-raspberrypi4")
        self.assertEqual([(a["name"], a["device_types_compatible"]) for a in b],
                         [("os-1-raspberrypi4", ["raspberrypi4"])])
        st, h, b = self.d.call("GET", M + "/v2/deployments/artifacts"
                               "?name=os-1-*&per_page=2")
        self.assertEqual((st, h["x-total-count"], len(b)), (200, "3", 2))

    def test_configuration_deploy_reports_configuration(self):
        path = M + "/v1/deviceconfig/configurations/device/" + self.D0
        st, _, b = self.d.call("GET", path)
        self.assertEqual((st, b["configured"], b["reported"]), (200, {}, {}))
        self.assertEqual(self.d.call("PUT", path, {"tz": "UTC"})[0], 204)
        self.assertEqual(self.d.call("PUT", path, {"n": 1})[0], 400)
        st, _, b = self.d.call("POST", path + "/deploy", {})
        self.assertEqual(st, 200)
        cfg_dep = b["deployment_id"]
        got = self.d.call("GET", path)[2]
        self.assertEqual((got["configured"], got["reported"],
                          got["deployment_id"]), ({"tz": "UTC"}, {}, cfg_dep))
        self.d.ctl("POST", "progress", {"status": "success"})
        got = self.d.call("GET", path)[2]
        self.assertEqual(got["reported"], {"tz": "UTC"})
        self.assertIn("reported_ts", got)
        d = self.d.call("GET", M + "/v1/deployments/deployments/" + cfg_dep)[2]
        self.assertEqual((d["type"], d["status"]), ("configuration", "finished"))
        self.assertEqual(self.d.call(
            "POST", M + "/v1/deviceconfig/configurations/device/nope/deploy",
            {})[0], 404)

    def test_tags_control_moves_device_between_branches(self):
        f = {"filters": [{"scope": "tags", "attribute": "subscribed_branch",
                          "type": "$eq", "value": "canary"}]}
        before = int(self.d.search(f)[1]["x-total-count"])
        st, _, _ = self.d.ctl("PUT", "devices/%s/tags" % self.D0,
                              {"subscribed_branch": "canary"})
        self.assertEqual(st, 204)
        self.assertEqual(int(self.d.search(f)[1]["x-total-count"]), before + 1)

    def test_requests_are_recorded(self):
        self.d.ctl("POST", "reset-requests")
        self.d.deploy("n", "os-2", [self.D0])
        self.d.call("GET", M + "/v1/deployments/deployments?status=pending")
        _, _, r = self.d.ctl("GET", "requests")
        self.assertEqual([(x["method"], x["path"], x["query"], x["status"])
                          for x in r],
                         [("POST", M + "/v1/deployments/deployments", "", 201),
                          ("GET", M + "/v1/deployments/deployments",
                           "status=pending", 200)])
        self.assertEqual(r[0]["body"]["devices"], [self.D0])
        _, _, r = self.d.ctl("GET", "requests?match=^GET")
        self.assertEqual(len(r), 1)

    def test_body_over_limit_is_413(self):
        big = {"name": "n", "artifact_name": "a",
               "devices": ["%036d" % i for i in range(30000)]}
        self.assertEqual(self.d.call("POST", M + "/v1/deployments/deployments",
                                     big)[0], 413)


class TestStrictArtifacts(unittest.TestCase):
    def test_unknown_artifact_422_incompatible_type_noartifact(self):
        d = Double({"token": TOKEN, "devices": [dev(0, "raspberrypi3"),
                                                dev(1, "raspberrypi4")],
                    "artifacts": [{"name": "os-pi4",
                                   "device_types": ["raspberrypi4"]}]})
        try:
            st, _, b = d.deploy("n", "os-missing", [dev(0)["id"]])
            self.assertEqual(st, 422)
            self.assertIn("artifact", b["error"])
            _, h, _ = d.deploy("n", "os-pi4", [dev(0)["id"], dev(1)["id"]])
            d.ctl("POST", "progress", {})
            s = d.call("GET", M + "/v1/deployments/deployments/%s/statistics"
                       % d.dep_id(h))[2]
            self.assertEqual((s["noartifact"], s["success"]), (1, 1))
        finally:
            d.stop()


class TestFaults(DoubleTest):
    DEPS = M + "/v1/deployments/deployments"

    def fault(self, **f):
        self.assertEqual(self.d.ctl("POST", "faults", f)[0], 204)

    def test_500_for_count_then_normal(self):
        self.fault(match="^GET /api/management/v1/deployments/deployments$",
                   count=2, status=500)
        self.assertEqual(self.d.call("GET", self.DEPS)[0], 500)
        st, _, b = self.d.call("GET", self.DEPS)
        self.assertEqual((st, sorted(b)), (500, ["error", "request_id"]))
        self.assertEqual(self.d.call("GET", self.DEPS)[0], 200)
        _, _, r = self.d.ctl("GET", "requests")
        self.assertEqual([x["status"] for x in r], [500, 500, 200])

    def test_429_with_retry_after_only_on_match(self):
        self.fault(match="filters/search", status=429, retry_after=3)
        self.assertEqual(self.d.call("GET", self.DEPS)[0], 200)
        st, h, _ = self.d.search({})
        self.assertEqual((st, h["retry-after"]), (429, "3"))
        self.assertEqual(self.d.search({})[0], 200)

    def test_delay(self):
        self.fault(match="filters/search", delay=0.6)
        t = time.monotonic()
        self.assertEqual(self.d.search({})[0], 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.6)

    def test_hold_until_released(self):
        self.fault(match="filters/search", hold=True)
        out = []
        t = threading.Thread(target=lambda: out.append(self.d.search({})[0]))
        t.start()
        while self.d.call("GET", "/_double/held")[2]["held"] != 1:
            time.sleep(0.01)
        self.assertEqual(out, [])
        self.assertEqual(self.d.call("POST", "/_double/release")[2],
                         {"released": 1})
        t.join()
        self.assertEqual(out, [200])

    def test_drop_closes_without_answer(self):
        self.fault(match="filters/search", drop=True)
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            self.d.search({})
        self.assertEqual(self.d.search({})[0], 200)

    def test_malformed_json(self):
        self.fault(match="filters/search", malformed=True)
        st, _, raw = self.d.search({}, raw=True)
        self.assertEqual(st, 200)
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_after_drop_mutates_state_and_retry_is_409(self):
        self.fault(match="^POST /api/management/v1/deployments/deployments$",
                   drop=True, after=True)
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            self.d.deploy("n", "os-2", [dev(0)["id"]])
        self.assertEqual(self.d.deploy("n", "os-2", [dev(0)["id"]])[0], 409)

    def test_status_fault_before_does_not_mutate(self):
        self.fault(match="deployments/deployments$", status=503)
        self.assertEqual(self.d.deploy("n", "os-2", [dev(0)["id"]])[0], 503)
        self.assertEqual(self.d.deploy("n", "os-2", [dev(0)["id"]])[0], 201)

    def test_control_api_is_never_faulted(self):
        self.fault(match=".", count=5, status=500)
        self.assertEqual(self.d.ctl("GET", "state")[0], 200)


class TestSeedingControl(unittest.TestCase):
    def test_yaml_seed_and_added_devices_and_artifacts(self):
        try:
            import yaml  # noqa: F401
        except ImportError:
            self.skipTest("PyYAML not installed")
        d = Double(None, yaml_text=(
            "token: %s\ndevices:\n"
            "  - id: 11111111-2222-4333-8444-555555555555\n"
            "    device_type: raspberrypi4\n"
            "    artifact_name: os-yaml\n"
            "    tags: {subscribed_branch: canary}\n" % TOKEN))
        try:
            st, h, b = d.search({})
            self.assertEqual((st, h["x-total-count"]), (200, "1"))
            self.assertEqual(attr(b[0], "tags", "subscribed_branch"), "canary")
            self.assertEqual(d.ctl("POST", "devices", dev(7))[0], 204)
            self.assertEqual(d.ctl("POST", "devices", dev(7))[0], 400)
            self.assertEqual(d.search({})[1]["x-total-count"], "2")
            # Adding an artifact switches to strict artifact checking.
            self.assertEqual(d.deploy("n", "os-unknown", [dev(7)["id"]])[0],
                             201)
            self.assertEqual(d.ctl("POST", "artifacts",
                                   {"name": "os-new",
                                    "device_types": ["raspberrypi4"]})[0], 204)
            self.assertEqual(d.deploy("n2", "os-unknown2",
                                      [dev(7)["id"]])[0], 422)
            self.assertEqual(d.deploy("n", "os-new", [dev(7)["id"]])[0], 201)
        finally:
            d.stop()


class TestScale(unittest.TestCase):
    def test_100k_devices_paged_search(self):
        t0 = time.monotonic()
        d = Double({"token": TOKEN, "generate": {
            "count": 100000, "device_types": TYPES,
            "branches": ["production", "canary", "main"]}})
        try:
            t1 = time.monotonic()
            f = [{"scope": "tags", "attribute": "subscribed_branch",
                  "type": "$eq", "value": "canary"}]
            n, page = 0, 1
            while True:
                st, h, b = d.search({"page": page, "per_page": 500,
                                     "filters": f})
                self.assertEqual(st, 200)
                n += len(b)
                if len(b) < 500:
                    break
                page += 1
            t2 = time.monotonic()
            self.assertEqual(n, 33333)
            self.assertEqual(int(h["x-total-count"]), 33333)
            print("# 100k devices: start %.1fs, %d search pages %.1fs"
                  % (t1 - t0, page, t2 - t1))
        finally:
            d.stop()


class TapResult(unittest.TestResult):
    """Prints one TAP line per test as it finishes."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def line(self, ok, test, extra=""):
        self.n += 1
        name = test.id().split(".", 1)[-1]
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, name, extra))
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.line(True, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.line(True, test, " # SKIP " + reason)

    def _bad(self, test, err):
        self.line(False, test)
        for ln in self._exc_info_to_string(err, test).rstrip().splitlines():
            print("#   " + ln)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._bad(test, err)


def main():
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for cls in (TestAuth, TestTokenFile, TestSearch, TestDeployments,
                TestStrictArtifacts, TestFaults, TestSeedingControl,
                TestScale):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    print("1..%d" % suite.countTestCases())
    sys.stdout.flush()
    suite.run(TapResult())
    return 0


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


if __name__ == "__main__":
    sys.exit(main())
