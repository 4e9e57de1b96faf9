#!/usr/bin/env python3
"""Generates a valid fleet repository of N devices for the benchmarks.

usage: bench/gen-fleet.py N OUTDIR [--sites S] [--git]

Writes OUTDIR/fleet.yaml, OUTDIR/schemas/configuration.schema.json and N
device files spread over S site folders (devices/site-NNN/<uuid>.yaml; S=0
puts them all directly in devices/). Device ids are deterministic UUIDs, so
two runs produce the same tree. With --git, OUTDIR becomes a git repository
with one commit on branches main, canary and production.
"""
import argparse
import json
import os
import subprocess
import sys
import uuid

FLEET = """version: 1
default_branch: production
os_images:
  pi3-v3-arm64: 2025-10-09-1716-pi3-gitops-trixie-arm64
  pi4-arm64: 2025-11-02-pi4-gitops-trixie-arm64
configuration:
  playbook_url: edge-playbook
  playbook_version: "1.5.0"
"""

SCHEMA = {
    "type": "object",
    "required": ["playbook_url", "playbook_version"],
    "properties": {
        "playbook_version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"},
        "kiosk_enabled": {"enum": ["true", "false"]},
        "kiosk_url": {"type": "string", "format": "uri"},
    },
}

BRANCHES = ["production", "canary", "main"]


def device_yaml(i):
    return (
        "name: device-%d\n"
        "subscribed_branch: %s\n"
        "configuration:\n"
        "  kiosk_enabled: \"%s\"\n"
        "  kiosk_url: https://intranet.example.com/board/%d\n"
        "  gharunner_access_token: { secret: RUNNER_TOKEN_%d }\n"
        % (i, BRANCHES[i % 3], "true" if i % 2 else "false", i, i % 10)
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("outdir")
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--git", action="store_true")
    a = ap.parse_args()
    if a.n < 0 or a.sites < 0:
        ap.error("N and --sites must be >= 0")
    os.makedirs(os.path.join(a.outdir, "schemas"), exist_ok=True)
    os.makedirs(os.path.join(a.outdir, "devices"), exist_ok=True)
    with open(os.path.join(a.outdir, "fleet.yaml"), "w") as f:
        f.write(FLEET)
    with open(os.path.join(a.outdir, "schemas", "configuration.schema.json"), "w") as f:
        json.dump(SCHEMA, f, indent=2)
    ns = uuid.UUID("6f1c0d52-8d0e-4a55-9a55-2f8c2f5c0e01")
    for i in range(a.n):
        dev = str(uuid.uuid5(ns, str(i)))
        sub = "site-%03d" % (i % a.sites) if a.sites else ""
        d = os.path.join(a.outdir, "devices", sub)
        if sub and not os.path.isdir(d):
            os.makedirs(d)
        with open(os.path.join(d, dev + ".yaml"), "w") as f:
            f.write(device_yaml(i))
    if a.git:
        env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
        run = lambda *cmd: subprocess.run(cmd, cwd=a.outdir, env=env, check=True,
                                          stdout=subprocess.DEVNULL)
        run("git", "init", "-q", "-b", "main", ".")
        run("git", "add", "-A")
        run("git", "commit", "-q", "-m", "fleet of %d devices" % a.n)
        run("git", "branch", "canary")
        run("git", "branch", "production")
    return 0


if __name__ == "__main__":
    sys.exit(main())
