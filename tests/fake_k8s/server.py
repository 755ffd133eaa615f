#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fake Kubernetes API server for the controller's Kubernetes driver tests.

It speaks the pieces of the real API that the driver uses, with the real JSON
shapes and status codes: PodList (in a namespace, or of every namespace at
/api/v1/pods) with limit/continue paging and the field selectors a node
agent's controller uses (spec.nodeName, status.podIP, metadata.name,
metadata.namespace), the Ready
condition, DELETE with DeleteOptions (grace period, uid precondition), Status
objects for 401/403/404/409/410/5xx, bearer token checks. ReplicaSet-like
workloads re-create a deleted pod under a new name and uid, Pending, then
Running with Ready False for a start-up delay, then Ready True.

State changes are computed from timestamps whenever a request arrives, so the
timeline does not depend on a ticking thread.

It can also play an API server that is slow or unreachable:
  stalled  accepts connections and reads requests (after the TLS handshake)
           but answers none of the API requests until switched back or until
           the --stall-for bound passes; held requests are then answered.
  delayed  answers every API request after N ms.
The test controls below are never stalled or delayed, so a test can always
switch a stall off and read the stats.

Flags:
  --port N              listen on 127.0.0.1:N (0, the default: any free port)
  --token T             bearer token the API accepts ("" accepts any request)
  --user U              user named in 403 messages
  --namespace NS        namespace of the --workload pods
  --workload NAME:LABELS:REPLICAS
                        a ReplicaSet-like workload, Ready from the start, e.g.
                        coordinator:app=coordinator:2 (repeatable)
  --startup-delay S     Running-but-not-Ready time of a re-created pod
  --pending-delay S     Pending time of a re-created pod
  --tls-cert F --tls-key F
                        serve https with this certificate
  --stall               start stalled (see above)
  --stall-for S         bound of a stall: it ends by itself S seconds after it
                        began (with --stall, SIGUSR1 or the control); default
                        none: until switched back (or --max-lifetime)
  --delay-ms N          answer every API request N ms late
  --max-lifetime S      exit after S seconds (default 600)
  --verbose             log requests and handler errors to stderr

Run-time switches:
  SIGUSR1               stall (for --stall-for seconds when given)
  SIGUSR2               stop stalling; held requests are answered

Test controls (no token needed, loopback only):
  POST /_fake/config     {"startup_delay": s, "pending_delay": s, "token": t,
                          "user": u, "expire_continue": n,
                          "faults": [{"method": "DELETE"|"GET"|"*",
                                      "status": 403|401|429|500|503, "count": n|-1}],
                          "stall": true|false, "stall_for": s, "delay_ms": n}
  POST /_fake/workloads  {"namespace", "name", "labels": {}, "replicas", "ready": true}
  POST /_fake/pods       {"namespace", "name", "labels": {}, "phase", "ready",
                          "podIP", "nodeName", "uid", "hostNetwork"}
                         (a bare pod: never re-created; answers its uid)
  DELETE /_fake/pods     {"namespace", "name"}  (gone at once, no grace)
  GET  /_fake/stats      {"requests": [{"method", "path", "query", "status", "body"}],
                          "stalled": bool, "held": n (API requests waiting now),
                          "delay_ms": n}
  (a request is listed in "requests" once it has been answered)

Python's standard library rather than C: this is a test stand-in, the JSON
shapes are easiest to keep identical to the real API as literal dicts, and a
fake in the same language as the driver could share its mistakes.

Listens on 127.0.0.1 only and prints the port on the first line of stdout.
Exits by itself when its parent dies or after --max-lifetime seconds.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import signal
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_USER = "system:serviceaccount:chaos:chaos-controller"


def rfc3339(t):
    """The API's metav1.Time: whole seconds, UTC, 'Z'."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def status_obj(code, reason, message, details=None):
    """A metav1.Status as the API server sends it on failure."""
    obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        obj["details"] = details
    obj["code"] = code
    return obj


def parse_selector(text):
    """Equality- and existence-based label selectors ("a=b,c!=d,e,!f").
    Returns a list of (key, op, value); raises ValueError like the API."""
    reqs = []
    if not text:
        return reqs
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError("unable to parse requirement: found '', expected: identifier")
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                reqs.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            if " in " in part or " notin " in part or "(" in part:
                raise ValueError("unable to parse requirement: set-based selectors are not "
                                 "supported by this fake: " + part)
            if part.startswith("!"):
                reqs.append((part[1:].strip(), "!exists", ""))
            else:
                reqs.append((part, "exists", ""))
    for key, _, _ in reqs:
        if not key or any(c in key for c in " ()!=<>"):
            raise ValueError("unable to parse requirement: invalid label key \"%s\"" % key)
    return reqs


FIELDS = ("spec.nodeName", "status.podIP", "metadata.name", "metadata.namespace")


def parse_field_selector(text):
    """Equality field selectors ("spec.nodeName=n1,status.podIP!=x") on the
    fields the real API indexes for pods; others are refused as it does."""
    reqs = []
    for part in (text.split(",") if text else []):
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                break
        else:
            raise ValueError("invalid field selector: '%s'" % part)
        if key.strip() not in FIELDS:
            raise ValueError('field label not supported: %s' % key.strip())
        reqs.append((key.strip(), op == "!=", value.strip()))
    return reqs


def fields_match(reqs, pod, now):
    _, _, node, ip = pod.state(now)
    have = {"spec.nodeName": node, "status.podIP": ip, "metadata.name": pod.name,
            "metadata.namespace": pod.ns}
    return all((have[k] != v) if neg else (have[k] == v) for k, neg, v in reqs)


def selector_matches(reqs, labels):
    for key, op, value in reqs:
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!exists" and key in labels:
            return False
    return True


class Pod:
    def __init__(self, ns, name, labels, created, owner=None):
        self.ns = ns
        self.name = name
        self.uid = str(uuid.uuid4())
        self.labels = dict(labels)
        self.created = created
        self.owner = owner
        self.node = "node-%d" % random.randint(1, 3)
        self.ip = "10.244.%d.%d" % (random.randint(0, 3), random.randint(2, 250))
        self.scheduled_at = created
        self.running_at = created
        self.ready_at = created
        self.deletion_at = None
        self.deletion_grace = None
        self.fixed = None  # bare pods: {"phase", "ready", "podIP", "nodeName"}
        self.host_network = False
        self.rv = 0

    def state(self, now):
        """(phase, ready, node, ip) at time now."""
        if self.fixed is not None:
            f = self.fixed
            return f["phase"], f["ready"], f["nodeName"], f["podIP"]
        if now < self.scheduled_at:
            return "Pending", False, "", ""
        if now < self.running_at:
            return "Pending", False, self.node, ""
        ready = now >= self.ready_at and self.deletion_at is None
        return "Running", ready, self.node, self.ip

    def conditions(self, now, phase, ready, node):
        if not node:
            return []
        sched = rfc3339(self.scheduled_at)
        if ready:
            ready_t = rfc3339(self.ready_at if self.fixed is None else self.created)
        elif self.deletion_at is not None:
            ready_t = rfc3339(self.deletion_at - self.deletion_grace)
        else:
            ready_t = sched
        not_ready = {"reason": "ContainersNotReady",
                     "message": "containers with unready status: [app]"}
        conds = [
            {"type": "Initialized", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": sched},
            dict({"type": "Ready", "status": "True" if ready else "False",
                  "lastProbeTime": None, "lastTransitionTime": ready_t},
                 **({} if ready else not_ready)),
            dict({"type": "ContainersReady", "status": "True" if ready else "False",
                  "lastProbeTime": None, "lastTransitionTime": ready_t},
                 **({} if ready else not_ready)),
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": sched},
        ]
        return conds

    def to_json(self, now, with_kind=False):
        phase, ready, node, ip = self.state(now)
        meta = {
            "name": self.name,
            "namespace": self.ns,
            "uid": self.uid,
            "resourceVersion": str(self.rv),
            "creationTimestamp": rfc3339(self.created),
            "labels": self.labels,
        }
        if self.owner is not None:
            meta["generateName"] = self.owner.rs_name + "-"
            meta["ownerReferences"] = [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": self.owner.rs_name,
                "uid": self.owner.uid, "controller": True, "blockOwnerDeletion": True}]
        if self.deletion_at is not None:
            meta["deletionTimestamp"] = rfc3339(self.deletion_at)
            meta["deletionGracePeriodSeconds"] = self.deletion_grace
        spec = {
            "containers": [{"name": "app", "image": "registry.local/app:1",
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {}, "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "schedulerName": "default-scheduler",
        }
        if node:
            spec["nodeName"] = node
        if self.host_network:
            spec["hostNetwork"] = True
        status = {"phase": phase, "qosClass": "BestEffort"}
        conds = self.conditions(now, phase, ready, node)
        if conds:
            status["conditions"] = conds
        if node:
            status["hostIP"] = "192.168.0.%d" % (int(node.rsplit("-", 1)[-1]) + 10
                                                  if node.rsplit("-", 1)[-1].isdigit() else 10)
            status["startTime"] = rfc3339(self.scheduled_at)
        if ip:
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        if phase == "Running":
            status["containerStatuses"] = [{
                "name": "app", "ready": ready, "restartCount": 0, "started": True,
                "image": "registry.local/app:1", "imageID": "", "containerID":
                "containerd://" + hashlib.sha256(self.uid.encode()).hexdigest(),
                "state": {"running": {"startedAt": rfc3339(self.running_at)}},
                "lastState": {}}]
        obj = {"metadata": meta, "spec": spec, "status": status}
        if with_kind:
            obj = dict({"kind": "Pod", "apiVersion": "v1"}, **obj)
        return obj


class Workload:
    """A Deployment's ReplicaSet: keeps `replicas` pods that are not being deleted."""

    def __init__(self, ns, name, labels, replicas):
        self.ns = ns
        self.name = name
        self.labels = dict(labels)
        self.replicas = replicas
        self.uid = str(uuid.uuid4())
        tmpl_hash = hashlib.sha256(name.encode()).hexdigest()[:9]
        self.tmpl_hash = "".join(c if c.isalpha() else "bcdfghjklm"[int(c)] for c in tmpl_hash)
        self.rs_name = "%s-%s" % (name, self.tmpl_hash)


class Holdback:
    """Stalls and delays of API answers. A stall holds each API request until
    it is switched off or its bound passes; the wait is in short slices so a
    switch is seen at once and no thread sleeps unbounded."""

    def __init__(self):
        self.cond = threading.Condition()
        self.until = 0.0  # stalled while time.time() < until
        self.delay_ms = 0
        self.held = 0

    def stall(self, on, bound_s=None):
        with self.cond:
            if not on:
                self.until = 0.0
            elif bound_s:
                self.until = time.time() + float(bound_s)
            else:
                self.until = float("inf")
            self.cond.notify_all()

    def stalled(self):
        return time.time() < self.until

    def hold(self):
        """Called by a request thread before it answers an API request."""
        with self.cond:
            self.held += 1
            try:
                while self.stalled():
                    self.cond.wait(min(self.until - time.time(), 0.5))
            finally:
                self.held -= 1
            delay = self.delay_ms
        if delay > 0:
            time.sleep(delay / 1000.0)

    def stats(self):
        with self.cond:
            return {"stalled": self.stalled(), "held": self.held, "delay_ms": self.delay_ms}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    verbose = False

    def handle_error(self, request, client_address):
        # A client that rejects our certificate or hangs up is part of the
        # tests, not a server bug worth a traceback.
        if self.verbose:
            super().handle_error(request, client_address)


class Cluster:
    def __init__(self, token, startup_delay, pending_delay, user):
        self.lock = threading.Lock()
        self.token = token
        self.startup_delay = startup_delay
        self.pending_delay = pending_delay
        self.user = user
        self.rv = 1000
        self.pods = {}  # (ns, name) -> Pod
        self.workloads = []
        self.faults = []  # [{"method", "status", "count"}]
        self.expire_continue = 0
        self.requests = []
        self.holdback = Holdback()

    def bump(self, pod):
        self.rv += 1
        pod.rv = self.rv

    def new_name(self, wl):
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        while True:
            name = "%s-%s" % (wl.rs_name, "".join(random.choice(alphabet) for _ in range(5)))
            if (wl.ns, name) not in self.pods:
                return name

    def create_for(self, wl, now, ready_now):
        labels = dict(wl.labels, **{"pod-template-hash": wl.tmpl_hash})
        pod = Pod(wl.ns, self.new_name(wl), labels, now if not ready_now else now - 60, wl)
        if not ready_now:
            # Scheduled almost at once, then image pull and start (Pending),
            # then Running but not Ready until the readiness probe passes.
            pod.scheduled_at = now + min(0.02, self.pending_delay)
            pod.running_at = now + self.pending_delay
            pod.ready_at = pod.running_at + self.startup_delay
        self.pods[(pod.ns, pod.name)] = pod
        self.bump(pod)

    def advance(self, now):
        for key, pod in list(self.pods.items()):
            if pod.deletion_at is not None and now >= pod.deletion_at:
                del self.pods[key]
                self.rv += 1
        for wl in self.workloads:
            active = [p for p in self.pods.values()
                      if p.owner is wl and p.deletion_at is None]
            for _ in range(wl.replicas - len(active)):
                self.create_for(wl, now, False)

    def take_fault(self, method):
        for f in self.faults:
            if f["method"] in ("*", method) and f["count"] != 0:
                if f["count"] > 0:
                    f["count"] -= 1
                return f["status"]
        return None


def encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token):
    pad = "=" * (-len(token) % 4)
    obj = json.loads(base64.urlsafe_b64decode(token + pad))
    if obj.get("v") != "meta.k8s.io/v1" or not isinstance(obj.get("start"), str):
        raise ValueError("bad token")
    return obj["start"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.0"
    cluster = None  # set in main()
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("fake_k8s: " + (fmt % args) + "\n")

    # ---- plumbing ----

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            raise ValueError("body too large")
        return self.rfile.read(n) if n > 0 else b""

    def send(self, code, obj, ctype="application/json", extra=None):
        if not isinstance(obj, bytes):
            obj = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        data = obj
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.last_status = code

    def record(self, body):
        parts = urlsplit(self.path)
        self.cluster.requests.append({
            "method": self.command, "path": parts.path, "query": parts.query,
            "status": getattr(self, "last_status", 0), "body": body.decode(errors="replace")})

    def handle_any(self):
        try:
            body = self.read_body()
        except ValueError:
            self.send(413, status_obj(413, "RequestEntityTooLarge", "body too large"))
            return
        parts = urlsplit(self.path)
        if parts.path.startswith("/_fake/"):
            self.control(parts.path, body)
            return
        # Outside the cluster lock: a held request must not block the controls.
        self.cluster.holdback.hold()
        with self.cluster.lock:
            try:
                self.api(parts, body)
            finally:
                self.record(body)

    do_GET = handle_any
    do_DELETE = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_PATCH = handle_any

    # ---- test controls ----

    def control(self, path, body):
        c = self.cluster
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            self.send(400, {"error": "bad json"})
            return
        with c.lock:
            now = time.time()
            if path == "/_fake/config" and self.command == "POST":
                for key in ("startup_delay", "pending_delay"):
                    if key in req:
                        setattr(c, key, float(req[key]))
                if "token" in req:
                    c.token = req["token"]
                if "user" in req:
                    c.user = req["user"]
                if "expire_continue" in req:
                    c.expire_continue = int(req["expire_continue"])
                if "faults" in req:
                    c.faults = [{"method": f.get("method", "*"), "status": int(f["status"]),
                                 "count": int(f.get("count", -1))} for f in req["faults"]]
                if "delay_ms" in req:
                    c.holdback.delay_ms = max(0, int(req["delay_ms"]))
                if "stall" in req:
                    c.holdback.stall(bool(req["stall"]), req.get("stall_for"))
                self.send(200, {"ok": True})
            elif path == "/_fake/workloads" and self.command == "POST":
                wl = Workload(req.get("namespace", "staging"), req["name"],
                              req.get("labels", {}), int(req.get("replicas", 1)))
                c.workloads.append(wl)
                for _ in range(wl.replicas):
                    c.create_for(wl, now, bool(req.get("ready", True)))
                self.send(200, {"ok": True})
            elif path == "/_fake/pods" and self.command == "POST":
                pod = Pod(req.get("namespace", "staging"), req["name"],
                          req.get("labels", {}), now - 30)
                pod.uid = req.get("uid", pod.uid)
                pod.host_network = bool(req.get("hostNetwork", False))
                pod.fixed = {"phase": req.get("phase", "Running"),
                             "ready": bool(req.get("ready", True)),
                             "podIP": req.get("podIP", pod.ip),
                             "nodeName": req.get("nodeName", pod.node)}
                c.pods[(pod.ns, pod.name)] = pod
                c.bump(pod)
                self.send(200, {"ok": True, "uid": pod.uid})
            elif path == "/_fake/pods" and self.command == "DELETE":
                gone = c.pods.pop((req.get("namespace", "staging"), req.get("name")), None)
                c.rv += 1
                self.send(200 if gone else 404, {"ok": gone is not None})
            elif path == "/_fake/stats" and self.command == "GET":
                self.send(200, dict(c.holdback.stats(), requests=c.requests))
            else:
                self.send(404, {"error": "unknown control"})

    # ---- the API ----

    def authorized(self):
        want = self.cluster.token
        if not want:
            return True
        return self.headers.get("Authorization", "") == "Bearer " + want

    def forbidden(self, verb, ns, name):
        subject = 'pods "%s"' % name if name else "pods"
        scope = 'in the namespace "%s"' % ns if ns is not None else "at the cluster scope"
        msg = ('%s is forbidden: User "%s" cannot %s resource "pods" in API group "" '
               '%s' % (subject, self.cluster.user, verb, scope))
        details = {"name": name, "kind": "pods"} if name else {"kind": "pods"}
        return status_obj(403, "Forbidden", msg, details)

    def injected(self, code, verb, ns, name):
        if code == 401:
            return status_obj(401, "Unauthorized", "Unauthorized")
        if code == 403:
            return self.forbidden(verb, ns, name)
        if code == 429:
            return status_obj(429, "TooManyRequests",
                              "the server has received too many requests and has asked "
                              "us to try again later",
                              {"causes": [{"message": "client rate limiter"}],
                               "retryAfterSeconds": 1})
        if code == 503:
            return status_obj(503, "ServiceUnavailable",
                              "the server is currently unable to handle the request")
        return status_obj(code, "InternalError",
                          "Internal error occurred: etcdserver: request timed out",
                          {"causes": [{"message": "etcdserver: request timed out"}]})

    def api(self, parts, body):
        c = self.cluster
        segs = [unquote(s) for s in parts.path.strip("/").split("/")]
        is_pods = (len(segs) in (5, 6) and segs[:3] == ["api", "v1", "namespaces"]
                   and segs[4] == "pods")
        all_pods = segs == ["api", "v1", "pods"]
        if not is_pods and not all_pods:
            self.send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        if not self.authorized():
            self.send(401, status_obj(401, "Unauthorized", "Unauthorized"))
            return
        if all_pods and self.command != "GET":
            self.send(405, status_obj(405, "MethodNotAllowed",
                                      "the server does not allow this method on the "
                                      "requested resource"))
            return
        ns, name = (None, None) if all_pods else (segs[3], segs[5] if len(segs) == 6 else None)
        verb = {"GET": "get" if name else "list", "DELETE": "delete"}.get(self.command)
        if verb is None or (self.command == "DELETE" and name is None):
            self.send(405, status_obj(405, "MethodNotAllowed",
                                      "the server does not allow this method on the "
                                      "requested resource"))
            return
        code = c.take_fault(self.command)
        if code is not None:
            extra = {"Retry-After": "1"} if code == 429 else None
            self.send(code, self.injected(code, verb, ns, name), extra=extra)
            return
        now = time.time()
        c.advance(now)
        if verb == "list":
            self.list_pods(ns, parse_qs(parts.query), now)
        elif verb == "get":
            pod = c.pods.get((ns, name))
            if pod is None:
                self.send(404, self.not_found(name))
            else:
                self.send(200, pod.to_json(now, True))
        else:
            self.delete_pod(ns, name, body, now)

    def not_found(self, name):
        return status_obj(404, "NotFound", 'pods "%s" not found' % name,
                          {"name": name, "kind": "pods"})

    def list_pods(self, ns, query, now):
        c = self.cluster
        try:
            reqs = parse_selector(query.get("labelSelector", [""])[0])
            fields = parse_field_selector(query.get("fieldSelector", [""])[0])
            limit = int(query.get("limit", ["0"])[0])
            if limit < 0:
                raise ValueError("limit must be positive")
        except ValueError as e:
            self.send(400, status_obj(400, "BadRequest", str(e)))
            return
        start = ""
        token = query.get("continue", [""])[0]
        if token:
            if c.expire_continue > 0:
                c.expire_continue -= 1
                self.send(410, status_obj(
                    410, "Expired",
                    "The provided continue parameter is too old to display a consistent "
                    "list result. You can start a new list without the continue "
                    "parameter."))
                return
            try:
                start = decode_continue(token)
            except (ValueError, TypeError):
                self.send(400, status_obj(400, "BadRequest",
                                          "continue key is not valid: invalid token"))
                return
        # every namespace: ordered by namespace then name, as the API does
        pods = sorted((p for p in c.pods.values()
                       if (ns is None or p.ns == ns) and
                       (p.name if ns else p.ns + "/" + p.name) >= start and
                       selector_matches(reqs, p.labels) and
                       fields_match(fields, p, now)),
                      key=lambda p: (p.ns, p.name))
        meta = {"resourceVersion": str(c.rv)}
        if limit and len(pods) > limit:
            rest = len(pods) - limit
            pods = pods[:limit]
            last = pods[-1].name if ns else pods[-1].ns + "/" + pods[-1].name
            meta["continue"] = encode_continue(c.rv, last + "\x00")
            meta["remainingItemCount"] = rest
        self.send(200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta,
                        "items": [p.to_json(now) for p in pods]})

    def delete_pod(self, ns, name, body, now):
        c = self.cluster
        try:
            opts = json.loads(body) if body else {}
            grace = opts.get("gracePeriodSeconds")
            grace = 30 if grace is None else int(grace)
            if grace < 0:
                raise ValueError("negative grace")
            want_uid = (opts.get("preconditions") or {}).get("uid")
        except (ValueError, TypeError, AttributeError):
            self.send(400, status_obj(400, "BadRequest", "invalid DeleteOptions body"))
            return
        pod = c.pods.get((ns, name))
        if pod is None:
            self.send(404, self.not_found(name))
            return
        if want_uid is not None and want_uid != pod.uid:
            self.send(409, status_obj(
                409, "Conflict",
                'Operation cannot be fulfilled on pods "%s": Precondition failed: UID in '
                "precondition: %s, UID in object meta: %s" % (name, want_uid, pod.uid),
                {"name": name, "kind": "pods"}))
            return
        if pod.deletion_at is None:
            pod.deletion_at = now + grace
            pod.deletion_grace = grace
            c.bump(pod)
        reply = pod.to_json(now, True)
        # Grace 0 removes the object at once; a ReplicaSet notices the
        # terminating pod and creates its replacement right away.
        c.advance(now)
        self.send(200, reply)


def watchdog(parent, deadline):
    while True:
        time.sleep(0.5)
        if os.getppid() != parent or time.time() > deadline:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="test-token")
    ap.add_argument("--user", default=DEFAULT_USER)
    ap.add_argument("--namespace", default="staging")
    ap.add_argument("--workload", action="append", default=[],
                    help="NAME:key=value[,key=value]:REPLICAS, e.g. coordinator:app=coordinator:2")
    ap.add_argument("--startup-delay", type=float, default=1.0)
    ap.add_argument("--pending-delay", type=float, default=0.2)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--stall", action="store_true")
    ap.add_argument("--stall-for", type=float, default=None)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--max-lifetime", type=float, default=600)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    cluster = Cluster(args.token, args.startup_delay, args.pending_delay, args.user)
    now = time.time()
    for spec in args.workload:
        name, labels, replicas = spec.split(":")
        wl = Workload(args.namespace, name,
                      dict(kv.split("=", 1) for kv in labels.split(",") if kv), int(replicas))
        cluster.workloads.append(wl)
        for _ in range(wl.replicas):
            cluster.create_for(wl, now, True)

    cluster.holdback.delay_ms = max(0, args.delay_ms)
    if args.stall:
        cluster.holdback.stall(True, args.stall_for)
    signal.signal(signal.SIGUSR1,
                  lambda *_: cluster.holdback.stall(True, args.stall_for))
    signal.signal(signal.SIGUSR2, lambda *_: cluster.holdback.stall(False))

    Handler.cluster = cluster
    Handler.verbose = args.verbose
    httpd = QuietServer(("127.0.0.1", args.port), Handler)
    httpd.verbose = args.verbose
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # Handshake in the request thread, so a client that rejects the
        # certificate never stalls the accept loop.
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
    threading.Thread(target=watchdog, args=(os.getppid(), time.time() + args.max_lifetime),
                     daemon=True).start()
    print(httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
