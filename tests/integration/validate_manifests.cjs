// SPDX-License-Identifier: MIT
// Offline validation of Kubernetes manifests, run by test_manifests.sh with
// NODE_PATH pointing at an npm install of kubernetes-models 5,
// @kubernetes-models/cert-manager and js-yaml.
//
//   node validate_manifests.cjs --verbs delete,list [--built] FILE.yaml...
//
// FILEs are either the resource files of the kustomize tree (default: no
// file may set metadata.namespace, kustomize sets it) or, with --built, the
// output of `kubectl kustomize` of one overlay (every namespaced object has
// a namespace, no cluster-scoped one has). Each YAML document is checked:
//  1. the OpenAPI schema, through kubernetes-models (new Kind(obj).validate());
//  2. unknown fields, as the API server's strict field validation would
//     refuse them (kubernetes-models lets "hostPid" pass silently): fields
//     are walked against the models' TypeScript declarations;
//  3. this project's rules: selectors that match their pod templates,
//     Services that reach a named port, references to ServiceAccounts,
//     Roles, volumes and env variables ($(VAR)) that exist, the Role
//     granting exactly the verbs the driver uses, what the agent needs
//     (downward API identity, role, exactly its declared capabilities,
//     hostPID or shareProcessNamespace, the label the controller's
//     NetworkPolicy admits), runAsNonRoot that would refuse a root
//     container, and the namespace's Pod Security level admitting its pods.
// kubernetes-models 5 is ESM only: models are loaded with import() from
// the first NODE_PATH entry (ESM resolution ignores NODE_PATH itself).
// Prints one line per problem and exits 1 if there is any.
"use strict";

const fs = require("fs");
const path = require("path");
const { pathToFileURL } = require("url");

const MODULES = path.resolve((process.env.NODE_PATH || "").split(path.delimiter)[0]);
const yaml = require(path.join(MODULES, "js-yaml"));

const problems = [];
const say = (where, msg) => problems.push(`${where}: ${msg}`);

// ---- 1. schema ----

const PACKAGES = {
  "cert-manager.io/v1": "@kubernetes-models/cert-manager/cert-manager.io/v1",
};
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer",
  "PersistentVolume", "StorageClass"]);

// The model's file without extension, or null for an unknown apiVersion.
function modelBase(doc) {
  const v = doc.apiVersion || "";
  const dir = PACKAGES[v] || (/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(v) ? `kubernetes-models/${v}` : null);
  return dir ? path.join(MODULES, dir, doc.kind) : null;
}

async function checkSchema(where, doc) {
  const base = modelBase(doc);
  let Model = null;
  if (base && fs.existsSync(base + ".js")) {
    try {
      Model = (await import(pathToFileURL(base + ".js").href))[doc.kind];
    } catch (e) {
      say(where, `cannot load the model of ${doc.kind}: ${e.message}`);
      return false;
    }
  }
  if (!Model) {
    say(where, `unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
    return false;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    say(where, `schema: ${e.message}`);
  }
  return true;
}

// ---- 2. unknown fields, from the models' .d.ts declarations ----

const ifaceCache = new Map();

// "./X.js", "../../a/B.js" or "@scope/pkg/sub/Path" to the .d.ts file.
function resolveDts(fromFile, spec) {
  const bare = spec.replace(/\.js$/, "");
  if (bare.startsWith(".")) return path.resolve(path.dirname(fromFile), bare) + ".d.ts";
  return path.join(MODULES, bare) + ".d.ts";
}

// The first interface of a generated .d.ts: {props: Map(name -> type text),
// file}; null for type aliases (IntOrString, Quantity, Time), which are leaves.
function loadIface(file) {
  if (ifaceCache.has(file)) return ifaceCache.get(file);
  let info = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\n/gm, "");
    const imports = new Map();
    for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports.set(m[1], m[2]);
    const head = /^export interface \w+(?: extends ([\w, ]+))? \{$/m.exec(text);
    if (head) {
      const body = text.slice(text.indexOf("{", head.index) + 1, text.indexOf("\n}", head.index));
      const props = new Map();
      // An interface that extends another (cert-manager's IssuerSpec
      // extends IssuerConfig) has the parent's fields too.
      for (const parent of (head[1] || "").split(/, */).filter((n) => imports.has(n))) {
        const p = loadIface(resolveDts(file, imports.get(parent)));
        if (p) for (const [k, v] of p.props) props.set(k, v);
      }
      const re = /^ {4}"([^"]+)"\??: ([\s\S]*?);\n(?= {4}"|$)/gm;
      for (const m of (body + "\n").matchAll(re)) props.set(m[1], m[2].replace(/\s+/g, " "));
      info = { props, imports, file };
    }
  }
  ifaceCache.set(file, info);
  return info;
}

// A type text to {kind: "object"|"array"|"map"|"leaf", ...}.
function typeOf(info, t) {
  let m;
  if ((m = /^Array<(.+)>$/.exec(t))) return { kind: "array", elem: m[1] };
  if ((m = /^\{ \[key: string\]: (.+?);? \}$/.exec(t))) return { kind: "map", elem: m[1] };
  if (/^I\w+$/.test(t) && info.imports.has(t)) {
    const target = loadIface(resolveDts(info.file, info.imports.get(t)));
    return target ? { kind: "object", info: target } : { kind: "leaf" };
  }
  return { kind: "leaf" };
}

function walk(where, value, info, t) {
  const ty = typeOf(info, t);
  if (ty.kind === "array" && Array.isArray(value)) {
    value.forEach((v, i) => walk(`${where}[${i}]`, v, info, ty.elem));
  } else if (ty.kind === "map" && value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) walk(`${where}.${k}`, v, info, ty.elem);
  } else if (ty.kind === "object" && value && typeof value === "object") {
    walkObject(where, value, ty.info);
  }
}

function walkObject(where, obj, info) {
  for (const [k, v] of Object.entries(obj)) {
    if (!info.props.has(k)) {
      say(where, `unknown field "${k}"`);
      continue;
    }
    walk(`${where}.${k}`, v, info, info.props.get(k));
  }
}

function checkFields(where, doc) {
  const info = loadIface(modelBase(doc) + ".d.ts");
  if (!info) say(where, `no declarations found for ${doc.kind}`);
  else walkObject(where, doc, info);
}

// ---- 3. this project's rules ----

const SIDECAR_CAPS = ["KILL", "NET_ADMIN", "SYS_PTRACE"];
const NODE_CAPS = ["KILL", "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"];
// Pod Security "baseline": capabilities a container may add.
const BASELINE_CAPS = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
  "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);

function podSpecs(doc) {
  const t = doc.spec && doc.spec.template;
  return t && t.spec ? [{ labels: (t.metadata && t.metadata.labels) || {}, spec: t.spec }] : [];
}

function subsetOf(a, b) {
  return Object.entries(a || {}).every(([k, v]) => b[k] === v);
}

function envFromField(c, name, fieldPath) {
  const e = (c.env || []).find((x) => x.name === name);
  return e && e.valueFrom && e.valueFrom.fieldRef && e.valueFrom.fieldRef.fieldPath === fieldPath;
}

function isAgent(c) {
  return /(^|\/)chaos-agent(:|$)/.test(c.image || "");
}

// CHAOS_ROLE: a value, or the downward API from a label the pod carries.
function checkRole(where, labels, c) {
  const e = (c.env || []).find((x) => x.name === "CHAOS_ROLE");
  const ref = e && e.valueFrom && e.valueFrom.fieldRef && e.valueFrom.fieldRef.fieldPath;
  const m = ref && /^metadata\.labels\['([^']+)'\]$/.exec(ref);
  if (!e || !(e.value || m)) say(where, "agent needs CHAOS_ROLE (a value or a pod label)");
  else if (m && !labels[m[1]]) say(where, `CHAOS_ROLE reads the pod label ${m[1]}, which the template lacks`);
  return e && e.value;
}

function checkAgentContainer(where, pod, labels, c) {
  const caps = (c.securityContext && c.securityContext.capabilities) || {};
  const add = [...(caps.add || [])].sort().join(",");
  if (!envFromField(c, "CHAOS_POD_NAME", "metadata.name") ||
      !envFromField(c, "CHAOS_NAMESPACE", "metadata.namespace") ||
      !envFromField(c, "CHAOS_NODE_NAME", "spec.nodeName"))
    say(where, "agent needs CHAOS_POD_NAME/NAMESPACE/NODE_NAME from the downward API");
  const role = checkRole(where, labels, c);
  if (!(caps.drop || []).includes("ALL")) say(where, "agent must drop ALL capabilities first");
  if (!pod.hostPID && !pod.shareProcessNamespace)
    say(where, "agent pod needs hostPID (node mode) or shareProcessNamespace (sidecar) " +
        "for the kill fault");
  const want = pod.hostPID ? NODE_CAPS : SIDECAR_CAPS;
  if (add !== want.join(","))
    say(where, `agent capabilities are [${add}], ${pod.hostPID ? "node" : "sidecar"} mode ` +
        `declares exactly [${want.join(",")}]`);
  if (pod.hostPID && role !== "node") say(where, "hostPID agent must run with CHAOS_ROLE=node");
  if (!labels["chaos.io/agent"])
    say(where, "agent pod lacks the label chaos.io/agent (the controller's NetworkPolicy admits by it)");
}

// $(VAR) in command/args must name an env variable of the container.
function checkVarRefs(where, c) {
  const names = new Set((c.env || []).map((e) => e.name));
  for (const s of [...(c.command || []), ...(c.args || [])])
    for (const m of String(s).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
      if (!names.has(m[1])) say(where, `$(${m[1]}) names no env variable of the container`);
}

function checkContainers(where, pod, labels, claims) {
  const volumes = new Set([...(pod.volumes || []).map((v) => v.name), ...claims]);
  const podNonRoot = pod.securityContext && pod.securityContext.runAsNonRoot;
  for (const [i, c] of (pod.containers || []).entries()) {
    const cw = `${where}.containers[${i}](${c.name})`;
    const sc = c.securityContext || {};
    const add = (sc.capabilities && sc.capabilities.add) || [];
    const names = (c.env || []).map((e) => e.name);
    if (new Set(names).size !== names.length) say(cw, "duplicate env names");
    for (const m of c.volumeMounts || [])
      if (!volumes.has(m.name)) say(cw, `volumeMount "${m.name}" has no volume`);
    if (sc.allowPrivilegeEscalation === false && (sc.privileged || add.includes("SYS_ADMIN")))
      say(cw, "the API refuses allowPrivilegeEscalation: false with privileged or SYS_ADMIN");
    const nonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : podNonRoot;
    if (sc.runAsUser === 0 && nonRoot)
      say(cw, "runs as user 0 under runAsNonRoot: the kubelet refuses to start it");
    checkVarRefs(cw, c);
    if (isAgent(c)) checkAgentContainer(cw, pod, labels, c);
  }
}

// What Pod Security level a pod template needs at least.
function podLevel(pod) {
  const cs = pod.containers || [];
  if (pod.hostPID || pod.hostNetwork || pod.hostIPC ||
      (pod.volumes || []).some((v) => v.hostPath) ||
      cs.some((c) => ((c.securityContext || {}).capabilities || {}).add &&
        c.securityContext.capabilities.add.some((a) => !BASELINE_CAPS.has(a))))
    return "privileged";
  const restricted = pod.securityContext && pod.securityContext.runAsNonRoot &&
    cs.every((c) => (c.securityContext || {}).allowPrivilegeEscalation === false &&
      ((((c.securityContext || {}).capabilities || {}).drop) || []).includes("ALL"));
  return restricted ? "restricted" : "baseline";
}

const LEVELS = ["restricted", "baseline", "privileged"];

function checkPodSecurity(docs, workloads) {
  for (const { doc } of docs.filter((d) => d.doc.kind === "Namespace")) {
    const enforce = ((doc.metadata || {}).labels || {})["pod-security.kubernetes.io/enforce"];
    if (!enforce) continue;
    for (const { where, doc: w } of workloads) {
      if ((w.metadata || {}).namespace !== doc.metadata.name) continue;
      for (const { spec } of podSpecs(w)) {
        const need = podLevel(spec);
        if (LEVELS.indexOf(need) > LEVELS.indexOf(enforce))
          say(where, `Pod Security "${enforce}" of namespace ${doc.metadata.name} refuses ` +
              `these pods (they need "${need}")`);
      }
    }
  }
}

function checkNamespaces(docs, built) {
  for (const { where, doc } of docs) {
    const ns = doc.metadata && doc.metadata.namespace;
    if (!built && ns) say(where, "metadata.namespace is set; kustomize sets it (namespace:)");
    if (built && CLUSTER_SCOPED.has(doc.kind) && ns) say(where, "cluster-scoped object with a namespace");
    if (built && !CLUSTER_SCOPED.has(doc.kind) && !ns)
      say(where, "namespaced object without a namespace in the build");
  }
}

function checkWorkloads(workloads, accounts, built) {
  for (const { where, doc } of workloads) {
    for (const { labels, spec } of podSpecs(doc)) {
      const sel = doc.spec.selector && doc.spec.selector.matchLabels;
      if (!sel || !subsetOf(sel, labels)) say(where, "spec.selector does not match the pod template");
      const sa = spec.serviceAccountName;
      if (built && sa && sa !== "default" && !accounts.has(sa))
        say(where, `serviceAccountName "${sa}" is not defined`);
      const claims = (doc.spec.volumeClaimTemplates || []).map((v) => v.metadata && v.metadata.name);
      checkContainers(`${where}.spec.template.spec`, spec, labels, claims);
    }
  }
}

function checkServices(docs, workloads, built) {
  for (const { where, doc } of docs.filter((d) => d.doc.kind === "Service")) {
    const target = workloads.find((w) => podSpecs(w.doc).some((p) => subsetOf(doc.spec.selector, p.labels)));
    if (!target) {
      if (built) say(where, "selector matches no pod template");
      continue;
    }
    const ports = podSpecs(target.doc).flatMap((p) => p.spec.containers.flatMap((c) => c.ports || []));
    for (const p of doc.spec.ports || [])
      if (typeof p.targetPort === "string" && !ports.some((cp) => cp.name === p.targetPort))
        say(where, `targetPort "${p.targetPort}" is no container port name`);
  }
}

function checkRbac(docs, verbs) {
  const roles = new Set(docs.filter((d) => d.doc.kind === "Role").map((d) => d.doc.metadata.name));
  for (const { where, doc } of docs.filter((d) => d.doc.kind === "Role")) {
    for (const r of doc.rules || []) {
      if ((r.resources || []).includes("pods")) {
        const got = [...r.verbs].sort().join(",");
        if (got !== verbs) say(where, `pods verbs are [${got}], the driver uses exactly [${verbs}]`);
      }
      if ((r.verbs || []).includes("*") || (r.resources || []).includes("*"))
        say(where, "wildcards in a Role");
    }
  }
  for (const { where, doc } of docs.filter((d) => d.doc.kind === "RoleBinding")) {
    if (doc.roleRef.kind === "Role" && !roles.has(doc.roleRef.name))
      say(where, `roleRef Role "${doc.roleRef.name}" is not defined`);
    for (const s of doc.subjects || [])
      if (s.kind === "ServiceAccount" && !s.namespace) say(where, "ServiceAccount subject needs a namespace");
  }
}

function checkProject(docs, verbs, built) {
  const accounts = new Set(docs.filter((d) => d.doc.kind === "ServiceAccount").map((d) => d.doc.metadata.name));
  const workloads = docs.filter((d) => ["Deployment", "DaemonSet", "StatefulSet"].includes(d.doc.kind));
  checkNamespaces(docs, built);
  checkWorkloads(workloads, accounts, built);
  checkServices(docs, workloads, built);
  checkRbac(docs, verbs);
  if (built) checkPodSecurity(docs, workloads);
}

// ---- main ----

async function main(argv) {
  let verbs = "";
  let built = false;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--verbs") verbs = argv[++i].split(",").sort().join(",");
    else if (argv[i] === "--built") built = true;
    else files.push(argv[i]);
  }
  const docs = [];
  for (const file of files) {
    let loaded;
    try {
      loaded = yaml.loadAll(fs.readFileSync(file, "utf8"));
    } catch (e) {
      say(file, `YAML: ${e.message}`);
      continue;
    }
    for (const [i, doc] of loaded.entries()) {
      if (doc == null) continue;
      const where = `${path.basename(file)}#${i}(${doc.kind}/${doc.metadata && doc.metadata.name})`;
      if (await checkSchema(where, doc)) checkFields(where, doc);
      docs.push({ where, doc });
    }
  }
  checkProject(docs, verbs, built);
  for (const p of problems) console.log(`FAIL ${p}`);
  console.log(`manifests: ${docs.length} documents in ${files.length} files, ` +
              `${problems.length} problem(s)`);
  return problems.length === 0 && docs.length > 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((rc) => { process.exitCode = rc; },
  (e) => { console.log(`FAIL ${e.stack}`); process.exitCode = 1; });
