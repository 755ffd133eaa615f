#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`pods status`: the harness's pods as podman sees them, against the plan.

stdin: `podman pod ps --format json` of the harness's pods; the environment
names the plan (PODS_PLAN), the mode (PODS_MODE, "" when none), the netns
and whether it exists, the results directory, and whether to print JSON
(PODS_JSON=1). State: "up" when every planned pod runs with all its
containers and the netns exists, "down" when no pod and no netns are left,
else "partial".
"""
import json
import os
import sys


def load_plan(path):
    try:
        with open(path) as fh:
            return json.load(fh)["pods"]
    except (OSError, ValueError, KeyError):
        return []


def main():
    env = os.environ
    text = sys.stdin.read().strip()
    running = json.loads(text) if text else []
    by_name = {p.get("Name"): p for p in running}
    plan = load_plan(env["PODS_PLAN"])
    netns_up = env["PODS_NETNS_UP"] == "1"
    pods = []
    for want in plan:
        got = by_name.get(want["name"], {})
        cs = {c.get("Names"): c.get("Status") for c in got.get("Containers") or []}
        pods.append({"name": want["name"], "namespace": want["namespace"], "role": want["role"],
                     "ip": want["ip"], "state": got.get("Status", "absent"),
                     "containers": {n: cs.get("%s-%s" % (want["name"], n), "absent")
                                    for n in want["containers"]}})
    extra = sorted(set(by_name) - {p["name"] for p in plan})
    all_up = plan and all(p["state"] == "Running" and
                          all(s == "running" for s in p["containers"].values()) for p in pods)
    state = "up" if all_up and netns_up and not extra else \
        "down" if not running and not netns_up else "partial"
    out = {"state": state, "mode": env.get("PODS_MODE") or None,
           "netns": env["PODS_NETNS"], "subnet": env["PODS_NET"] + ".0/24",
           "results_dir": env["PODS_RESULTS"],
           "controller": {"container": "chaos-controller-0-controller",
                          "metrics_url": "http://%s.2:9100/metrics" % env["PODS_NET"],
                          "ctl": "deploy/pods/pods ctl ARGS..."},
           "pods": pods, "unplanned_pods": extra}
    if env.get("PODS_JSON") == "1":
        print(json.dumps(out, indent=2))
        return 0
    print("pods %s (%s mode)   netns %s   subnet %s   results %s" % (
        state, out["mode"] or "no", out["netns"], out["subnet"], out["results_dir"]))
    print("%-20s %-10s %-12s %-13s %-9s %s" % ("POD", "NAMESPACE", "ROLE", "IP", "STATE", "CONTAINERS"))
    for p in pods:
        print("%-20s %-10s %-12s %-13s %-9s %s" % (
            p["name"], p["namespace"], p["role"] or "-", p["ip"], p["state"],
            " ".join("%s=%s" % kv for kv in p["containers"].items())))
    for name in extra:
        print("%-20s (not in the plan)" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
