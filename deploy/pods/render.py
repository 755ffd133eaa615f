#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Renders the output of `kubectl kustomize` as plain Pods for podman 4.3.

    render.py --in BUILD.yaml --out DIR --state DIR --results DIR
              --secrets DIR --net 10.232.0 --node NAME [--inventory FILE]
    render.py --in BUILD.yaml --net 10.232.0 --node NAME --list

podman 4.3 plays Pods but not every field of them, and no workload kinds,
Services, Secrets or RBAC. This does what the cluster would have done, so
that podman only has to run containers:

- Deployments and StatefulSets become their pods: <name>-0, <name>-1, ...
  (a Deployment's pods get the same stable names, so certificates can name
  them);
- every pod gets a fixed address in NET.0/24 (the controller's pod .2, a
  DaemonSet's pod .3, the others from .11 in name order; StatefulSet pods
  get the statefulset.kubernetes.io/pod-name label), and hostAliases stand
  in for cluster DNS (service, service.ns, service.ns.svc,
  service.ns.svc.cluster.local, and pod.service... for StatefulSets);
- the downward API (fieldRef), secretKeyRef, configMapKeyRef and $(VAR) in
  env, command and args are resolved to their values;
- Secret, ConfigMap and PersistentVolumeClaim volumes, and volumeClaimTemplates,
  become hostPath directories (secrets from --secrets DIR/<ns>/<name>/<key>,
  ConfigMaps from the build, claims under --state, chaos-results under
  --results); fsGroup is applied to them as the kubelet would;
- the pod's runAsUser/runAsGroup go to each container that sets none, and
  a root container under runAsNonRoot is refused, as the kubelet does;
- what podman 4.3 cannot honour here is dropped: probes (podman runs them
  with systemd timers, which these machines lack; the harness checks
  readiness itself), resources (cgroup limits), container ports (podman
  4.3 publishes a containerPort on the host's side even without hostPort;
  each pod has its own address here, as in a cluster), seccompProfile,
  service account settings, tolerations.
Capabilities, users, read-only root filesystems, shareProcessNamespace and
hostPID are kept exactly as declared.

Writes one file per pod (<ns>_<pod>.yaml) and plan.json (pods in the order
to start them, with address, namespace, role and containers), and with
--inventory the controller's inventory (node mode: who the pods a node
agent finds are, by address); --list only prints NAMESPACE/POD per pod (to
make their certificates first).
"""
import argparse
import json
import os
import re
import shutil
import sys

import yaml

HARNESS_LABEL = "chaos.io/harness"
DROP_CONTAINER = ("livenessProbe", "readinessProbe", "startupProbe", "resources", "ports")
KEEP_POD = ("containers", "volumes", "shareProcessNamespace", "hostPID", "restartPolicy",
            "terminationGracePeriodSeconds")
VAR_RE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class RenderError(Exception):
    pass


def expand(text, env):
    """Kubernetes $(VAR) expansion: known names replaced, $$ escapes $."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return VAR_RE.sub(sub, text)


class Renderer:
    def __init__(self, args, docs):
        self.a = args
        self.docs = docs
        self.configmaps = {(d["metadata"].get("namespace"), d["metadata"]["name"]): d
                           for d in docs if d.get("kind") == "ConfigMap"}
        self.pods = []  # dicts: name, namespace, labels, spec, owner, service

    # ---- pods from workloads ----

    def expand_workloads(self):
        for d in self.docs:
            kind = d.get("kind")
            if kind == "Pod":
                self.add_pod(d["metadata"]["name"], d["metadata"], d["spec"], None, None)
            elif kind in ("Deployment", "StatefulSet"):
                n = d["spec"].get("replicas", 1)
                t = d["spec"]["template"]
                for i in range(n):
                    self.add_pod("%s-%d" % (d["metadata"]["name"], i), d["metadata"], t["spec"],
                                 t.get("metadata", {}), d)
            elif kind == "DaemonSet":
                # One node here: one pod of the template.
                t = d["spec"]["template"]
                self.add_pod("%s-%s" % (d["metadata"]["name"], self.a.node), d["metadata"],
                             t["spec"], t.get("metadata", {}), d)
        self.pods.sort(key=lambda p: (p["name"] != "chaos-controller-0", p["namespace"], p["name"]))
        # The controller .2, a DaemonSet's pod from .3, the rest from .11:
        # a workload's address is the same in both modes.
        daemon = [p for p in self.pods if (p["owner"] or {}).get("kind") == "DaemonSet"]
        rest = [p for p in self.pods if p["name"] != "chaos-controller-0" and p not in daemon]
        for first, group in ((3, daemon), (11, rest)):
            for i, p in enumerate(group):
                p["ip"] = "%s.%d" % (self.a.net, first + i)
        for p in self.pods:
            p.setdefault("ip", "%s.2" % self.a.net)
            if p["spec"].get("hostNetwork"):
                raise RenderError("%s: hostNetwork is not run by the harness" % p["name"])

    def add_pod(self, name, owner_meta, spec, tmeta, owner):
        ns = owner_meta.get("namespace") or "default"
        labels = dict((tmeta or owner_meta).get("labels") or {})
        if owner and owner["kind"] == "StatefulSet":
            labels["statefulset.kubernetes.io/pod-name"] = name  # as the controller sets it
        self.pods.append({"name": name, "namespace": ns, "labels": labels,
                          "annotations": dict((tmeta or {}).get("annotations") or {}),
                          "spec": spec, "owner": owner})

    # ---- DNS ----

    def aliases_for(self, pod):
        """hostAliases: Services (and StatefulSet pods) of the build."""
        names = {}
        for d in self.docs:
            if d.get("kind") != "Service":
                continue
            svc, ns = d["metadata"]["name"], d["metadata"].get("namespace", "default")
            sel = d["spec"].get("selector") or {}
            members = [p for p in self.pods if p["namespace"] == ns and sel and
                       all(p["labels"].get(k) == v for k, v in sel.items())]
            if not members:
                continue
            full = ["%s.%s" % (svc, ns), "%s.%s.svc" % (svc, ns), "%s.%s.svc.cluster.local" % (svc, ns)]
            short = [svc] if ns == pod["namespace"] else []
            names.setdefault(members[0]["ip"], []).extend(short + full)
            for m in members:
                owner = m["owner"]
                if owner and owner["kind"] == "StatefulSet" and owner["spec"].get("serviceName") == svc:
                    sub = ["%s.%s" % (m["name"], n) for n in full]
                    if ns == pod["namespace"]:
                        sub.insert(0, "%s.%s" % (m["name"], svc))
                    names.setdefault(m["ip"], []).extend(sub)
        return [{"ip": ip, "hostnames": sorted(set(h))} for ip, h in sorted(names.items())]

    # ---- env ----

    def secret_value(self, ns, name, key, optional):
        f = os.path.join(self.a.secrets, ns, name, key)
        if os.path.isfile(f):
            with open(f) as fh:
                return fh.read()
        if optional:
            return None
        raise RenderError("Secret %s/%s has no key %s (%s)" % (ns, name, key, f))

    def configmap_value(self, ns, name, key, optional):
        cm = self.configmaps.get((ns, name))
        if cm and key in (cm.get("data") or {}):
            return cm["data"][key]
        if optional:
            return None
        raise RenderError("ConfigMap %s/%s has no key %s" % (ns, name, key))

    def field_value(self, pod, path):
        m = re.match(r"^metadata\.(labels|annotations)\['([^']+)'\]$", path)
        if m:
            return pod[m.group(1)].get(m.group(2), "")
        values = {"metadata.name": pod["name"], "metadata.namespace": pod["namespace"],
                  "spec.nodeName": self.a.node, "status.podIP": pod["ip"],
                  "status.hostIP": pod["ip"], "spec.serviceAccountName":
                  pod["spec"].get("serviceAccountName", "default")}
        if path not in values:
            raise RenderError("%s: fieldRef %s is not supported" % (pod["name"], path))
        return values[path]

    def resolve_env(self, pod, c):
        env, out = {}, []
        for e in c.get("env") or []:
            if "value" in e:
                v = expand(str(e["value"]), env)
            elif "valueFrom" in e:
                src = e["valueFrom"]
                if "fieldRef" in src:
                    v = self.field_value(pod, src["fieldRef"]["fieldPath"])
                elif "secretKeyRef" in src:
                    r = src["secretKeyRef"]
                    v = self.secret_value(pod["namespace"], r["name"], r["key"], r.get("optional"))
                elif "configMapKeyRef" in src:
                    r = src["configMapKeyRef"]
                    v = self.configmap_value(pod["namespace"], r["name"], r["key"], r.get("optional"))
                else:
                    raise RenderError("%s: env %s: unsupported valueFrom" % (pod["name"], e["name"]))
                if v is None:
                    continue
            else:
                v = ""
            env[e["name"]] = v
            out.append({"name": e["name"], "value": v})
        return env, out

    # ---- volumes ----

    def fs_group(self, path, gid, writable):
        """What the kubelet does with fsGroup: the group owns the volume and
        may read it (and write it, and new files keep the group, when the
        volume is writable: claims, not Secrets or ConfigMaps)."""
        for root, dirs, files in os.walk(path):
            for n in [root] + [os.path.join(root, f) for f in dirs + files]:
                os.chown(n, -1, gid)
                st = os.stat(n).st_mode & 0o7777
                if os.path.isdir(n):
                    st |= 0o2070 if writable else 0o050
                else:
                    st |= 0o060 if writable else 0o040
                os.chmod(n, st)

    def write_files(self, d, items, mode):
        """The volume's files, rewritten in place: a running pod has the
        directory itself mounted, so it is never replaced."""
        os.makedirs(d, exist_ok=True)
        for old in set(os.listdir(d)) - {rel.split("/")[0] for rel, _ in items}:
            p = os.path.join(d, old)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        for rel, content in items:
            f = os.path.join(d, rel)
            os.makedirs(os.path.dirname(f), exist_ok=True)
            with open(f, "w") as fh:
                fh.write(content)
            os.chmod(f, mode)

    def secret_volume(self, pod, v):
        s = v["secret"]
        src = os.path.join(self.a.secrets, pod["namespace"], s["secretName"])
        if not os.path.isdir(src) and not s.get("optional"):
            raise RenderError("%s: Secret %s/%s is missing (%s)" % (pod["name"], pod["namespace"],
                                                                   s["secretName"], src))
        keys = sorted(os.listdir(src)) if os.path.isdir(src) else []
        items = [(it.get("path", it["key"]), it["key"]) for it in s.get("items", [])] or \
            [(k, k) for k in keys]
        content = []
        for rel, key in items:
            with open(os.path.join(src, key)) as fh:
                content.append((rel, fh.read()))
        return content, s.get("defaultMode", 0o644)

    def configmap_volume(self, pod, v):
        c = v["configMap"]
        cm = self.configmaps.get((pod["namespace"], c["name"]))
        if cm is None:
            if c.get("optional"):
                return [], c.get("defaultMode", 0o644)
            raise RenderError("%s: ConfigMap %s is not in the build" % (pod["name"], c["name"]))
        data = cm.get("data") or {}
        items = [(it.get("path", it["key"]), it["key"]) for it in c.get("items", [])] or \
            [(k, k) for k in sorted(data)]
        return [(rel, data[key]) for rel, key in items], c.get("defaultMode", 0o644)

    def host_dir(self, path, pod_sc, writable):
        os.makedirs(path, exist_ok=True)
        if "fsGroup" in pod_sc:
            self.fs_group(path, pod_sc["fsGroup"], writable)
        return {"hostPath": {"path": path, "type": "Directory"}}

    def volume(self, pod, v):
        base = os.path.join(self.a.state, "volumes", pod["namespace"], pod["name"], v["name"])
        sc = pod["spec"].get("securityContext") or {}
        if "secret" in v or "configMap" in v:
            files, mode = (self.secret_volume if "secret" in v else self.configmap_volume)(pod, v)
            self.write_files(base, files, mode)
            return dict(name=v["name"], **self.host_dir(base, sc, False))
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            root = self.a.results if claim == "chaos-results" else \
                os.path.join(self.a.state, "claims", pod["namespace"], claim)
            return dict(name=v["name"], **self.host_dir(root, sc, True))
        if "emptyDir" in v or "hostPath" in v:
            return v
        raise RenderError("%s: volume %s: only secret, configMap, persistentVolumeClaim, "
                          "emptyDir and hostPath are run by the harness" % (pod["name"], v["name"]))

    def volumes(self, pod):
        out = [self.volume(pod, v) for v in pod["spec"].get("volumes") or []]
        owner = pod["owner"]
        for t in (owner or {}).get("spec", {}).get("volumeClaimTemplates") or []:
            claim = t["metadata"]["name"]
            d = os.path.join(self.a.state, "claims", pod["namespace"], "%s-%s" % (claim, pod["name"]))
            out.append(dict(name=claim, **self.host_dir(d, {}, True)))
        return out

    # ---- containers ----

    def security(self, pod, c):
        psc = pod["spec"].get("securityContext") or {}
        sc = dict(c.get("securityContext") or {})
        for k in ("runAsUser", "runAsGroup"):
            if k not in sc and k in psc:
                sc[k] = psc[k]
        non_root = sc.pop("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root and sc.get("runAsUser") == 0:
            raise RenderError("%s/%s: runAsUser 0 under runAsNonRoot; the kubelet refuses it"
                              % (pod["name"], c["name"]))
        sc.pop("seccompProfile", None)
        return sc

    def container(self, pod, c):
        env, env_list = self.resolve_env(pod, c)
        out = {k: v for k, v in c.items() if k not in DROP_CONTAINER}
        out["env"] = env_list
        for k in ("command", "args"):
            if k in c:
                out[k] = [expand(str(s), env) for s in c[k]]
        out["imagePullPolicy"] = "Never"
        out["securityContext"] = self.security(pod, c)
        return out

    def render_pod(self, pod):
        spec = {k: v for k, v in pod["spec"].items() if k in KEEP_POD}
        spec["restartPolicy"] = "Always"
        spec["containers"] = [self.container(pod, c) for c in pod["spec"]["containers"]]
        spec["volumes"] = self.volumes(pod)
        spec["hostAliases"] = self.aliases_for(pod)
        labels = dict(pod["labels"], **{HARNESS_LABEL: "pods"})
        meta = {"name": pod["name"], "namespace": pod["namespace"], "labels": labels}
        if pod["annotations"]:
            meta["annotations"] = pod["annotations"]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    def list_pods(self):
        self.expand_workloads()
        for pod in self.pods:
            print("%s/%s" % (pod["namespace"], pod["name"]))

    def run(self):
        self.expand_workloads()
        os.makedirs(self.a.out, exist_ok=True)
        plan = []
        for pod in self.pods:
            doc = self.render_pod(pod)
            f = os.path.join(self.a.out, "%s_%s.yaml" % (pod["namespace"], pod["name"]))
            with open(f, "w") as fh:
                yaml.safe_dump(doc, fh, sort_keys=False)
            plan.append({"name": pod["name"], "namespace": pod["namespace"], "ip": pod["ip"],
                         "role": pod["labels"].get("chaos.io/role",
                                                   "controller" if pod["name"].startswith("chaos-controller")
                                                   else None),
                         "file": f, "containers": [c["name"] for c in pod["spec"]["containers"]],
                         "host_pid": bool(pod["spec"].get("hostPID"))})
        with open(os.path.join(self.a.out, "plan.json"), "w") as fh:
            json.dump({"pods": plan}, fh, indent=2)
        if self.a.inventory:
            self.write_inventory(self.a.inventory)

    def write_inventory(self, path):
        """What the Kubernetes API would tell a controller about the pods a
        node agent finds (controller/inventory.h): the pods with a
        chaos.io/role, by address."""
        pods = [{"name": p["name"], "namespace": p["namespace"], "role": p["labels"]["chaos.io/role"],
                 "labels": p["labels"], "ip": p["ip"]}
                for p in self.pods if "chaos.io/role" in p["labels"]]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as fh:
            json.dump({"pods": pods}, fh, indent=2)
        os.chmod(path + ".tmp", 0o644)
        os.replace(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--in", required=True)
    p.add_argument("--net", required=True)
    p.add_argument("--node", required=True)
    p.add_argument("--list", action="store_true", help="print NAMESPACE/POD of each pod and stop")
    for flag in ("out", "state", "results", "secrets"):
        p.add_argument("--" + flag)
    p.add_argument("--inventory", help="also write the inventory of the pods with a role here")
    a = p.parse_args()
    if not a.list and not all((a.out, a.state, a.results, a.secrets)):
        p.error("--out, --state, --results and --secrets are needed unless --list")
    with open(getattr(a, "in")) as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    try:
        r = Renderer(a, docs)
        r.list_pods() if a.list else r.run()
    except (RenderError, OSError, KeyError) as e:
        print("render: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
