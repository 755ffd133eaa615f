// SPDX-License-Identifier: MIT
// Offline validation of Kubernetes manifests, run by test_manifests.sh with
// NODE_PATH pointing at an npm install of kubernetes-models and js-yaml.
//
//   node validate_manifests.cjs --verbs delete,list FILE.yaml...
//
// Each YAML document is checked three ways:
//  1. the OpenAPI schema, through kubernetes-models (new Kind(obj).validate());
//  2. unknown fields, as the API server's strict field validation would
//     refuse them (kubernetes-models lets "hostPid" pass silently): fields
//     are walked against the model's TypeScript declarations;
//  3. this project's rules: no metadata.namespace (apply with -n), selectors
//     that match their pod templates, Services that reach a named port,
//     references to ServiceAccounts, Roles and volumes that exist, the Role
//     granting exactly the verbs the driver uses, and what the agent needs
//     (downward API identity, NET_ADMIN, hostPID or shareProcessNamespace).
// Prints one line per problem and exits 1 if there is any.
"use strict";

const fs = require("fs");
const path = require("path");
const yaml = require("js-yaml");

const problems = [];
const say = (where, msg) => problems.push(`${where}: ${msg}`);

// ---- 1. schema ----

const GROUP_DIRS = {
  v1: "v1",
  "apps/v1": "apps/v1",
  "rbac.authorization.k8s.io/v1": "rbac.authorization.k8s.io/v1",
  "networking.k8s.io/v1": "networking.k8s.io/v1",
  "policy/v1": "policy/v1",
};

function modelPath(doc) {
  const dir = GROUP_DIRS[doc.apiVersion];
  return dir ? `kubernetes-models/${dir}/${doc.kind}` : null;
}

function checkSchema(where, doc) {
  const mod = modelPath(doc);
  let Model;
  try {
    Model = mod && require(mod)[doc.kind];
  } catch (e) {
    Model = null;
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

function resolveDts(fromFile, spec) {
  if (spec.startsWith(".")) return path.resolve(path.dirname(fromFile), spec) + ".d.ts";
  return require.resolve(spec.replace(/^(@[^/]+\/[^/]+|[^/]+)\/.*$/, "$1/package.json"))
    .replace(/package\.json$/, spec.replace(/^(@[^/]+\/[^/]+|[^/]+)\/?/, "") + ".d.ts");
}

// The first interface of a generated .d.ts: {props: Map(name -> type text),
// file}; null for type aliases (IntOrString, Quantity, Time), which are leaves.
function loadIface(file) {
  if (ifaceCache.has(file)) return ifaceCache.get(file);
  const text = fs.readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\n/gm, "");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports.set(m[1], m[2]);
  const start = text.search(/^export interface \w+( extends [\w, ]+)? \{$/m);
  let info = null;
  if (start >= 0) {
    const body = text.slice(text.indexOf("{", start) + 1, text.indexOf("\n}", start));
    const props = new Map();
    const re = /^ {4}"([^"]+)"\??: ([\s\S]*?);\n(?= {4}"|$)/gm;
    for (const m of (body + "\n").matchAll(re)) props.set(m[1], m[2].replace(/\s+/g, " "));
    info = { props, imports, file };
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
  const file = require.resolve(modelPath(doc)).replace(/\.js$/, ".d.ts");
  const info = loadIface(file);
  if (!info) say(where, `no declarations found for ${doc.kind}`);
  else walkObject(where, doc, info);
}

// ---- 3. this project's rules ----

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

function checkAgentContainer(where, pod, c) {
  const caps = (c.securityContext && c.securityContext.capabilities) || {};
  const add = caps.add || [];
  if (!envFromField(c, "CHAOS_POD_NAME", "metadata.name") ||
      !envFromField(c, "CHAOS_NAMESPACE", "metadata.namespace") ||
      !envFromField(c, "CHAOS_NODE_NAME", "spec.nodeName"))
    say(where, "agent needs CHAOS_POD_NAME/NAMESPACE/NODE_NAME from the downward API");
  if (!(c.env || []).some((e) => e.name === "CHAOS_ROLE" && e.value))
    say(where, "agent needs CHAOS_ROLE");
  if (!add.includes("NET_ADMIN")) say(where, "agent needs capability NET_ADMIN (nftables)");
  if (!pod.hostPID && !pod.shareProcessNamespace)
    say(where, "agent pod needs hostPID (node mode) or shareProcessNamespace (sidecar) " +
        "for the kill fault");
  if (pod.hostPID && !add.includes("SYS_ADMIN"))
    say(where, "node-mode agent needs SYS_ADMIN to setns() into pods");
  if (pod.hostPID && !(c.env || []).some((e) => e.name === "CHAOS_ROLE" && e.value === "node"))
    say(where, "hostPID agent must run with CHAOS_ROLE=node");
}

function checkContainers(where, pod) {
  const volumes = new Set((pod.volumes || []).map((v) => v.name));
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
    if (/(^|\/)chaos-agent(:|$)/.test(c.image || "")) checkAgentContainer(cw, pod, c);
  }
}

function checkProject(docs, verbs) {
  const byKind = (k) => docs.filter((d) => d.doc.kind === k);
  const accounts = new Set(byKind("ServiceAccount").map((d) => d.doc.metadata.name));
  const roles = new Set(byKind("Role").map((d) => d.doc.metadata.name));
  const workloads = docs.filter((d) => ["Deployment", "DaemonSet", "StatefulSet"].includes(d.doc.kind));

  for (const { where, doc } of docs) {
    if (doc.metadata && doc.metadata.namespace)
      say(where, "metadata.namespace is set; manifests are applied with -n NAMESPACE");
  }
  for (const { where, doc } of workloads) {
    for (const { labels, spec } of podSpecs(doc)) {
      const sel = doc.spec.selector && doc.spec.selector.matchLabels;
      if (!sel || !subsetOf(sel, labels)) say(where, "spec.selector does not match the pod template");
      const sa = spec.serviceAccountName;
      if (sa && sa !== "default" && !accounts.has(sa) && !where.includes(".example."))
        say(where, `serviceAccountName "${sa}" is not defined`);
      checkContainers(`${where}.spec.template.spec`, spec);
    }
  }
  for (const { where, doc } of byKind("Service")) {
    const target = workloads.find((w) => podSpecs(w.doc).some((p) => subsetOf(doc.spec.selector, p.labels)));
    if (!target) {
      say(where, "selector matches no pod template");
      continue;
    }
    const ports = podSpecs(target.doc).flatMap((p) => p.spec.containers.flatMap((c) => c.ports || []));
    for (const p of doc.spec.ports || [])
      if (typeof p.targetPort === "string" && !ports.some((cp) => cp.name === p.targetPort))
        say(where, `targetPort "${p.targetPort}" is no container port name`);
  }
  for (const { where, doc } of byKind("Role")) {
    for (const r of doc.rules || []) {
      if ((r.resources || []).includes("pods")) {
        const got = [...r.verbs].sort().join(",");
        if (got !== verbs) say(where, `pods verbs are [${got}], the driver uses exactly [${verbs}]`);
      }
      if ((r.verbs || []).includes("*") || (r.resources || []).includes("*"))
        say(where, "wildcards in a Role");
    }
  }
  for (const { where, doc } of byKind("RoleBinding")) {
    if (doc.roleRef.kind === "Role" && !roles.has(doc.roleRef.name))
      say(where, `roleRef Role "${doc.roleRef.name}" is not defined`);
    for (const s of doc.subjects || [])
      if (s.kind === "ServiceAccount" && !s.namespace) say(where, "ServiceAccount subject needs a namespace");
  }
}

// ---- main ----

function main(argv) {
  let verbs = "";
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--verbs") verbs = argv[++i].split(",").sort().join(",");
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
    loaded.forEach((doc, i) => {
      if (doc == null) return;
      const where = `${path.basename(file)}#${i}(${doc.kind}/${doc.metadata && doc.metadata.name})`;
      if (checkSchema(where, doc)) checkFields(where, doc);
      docs.push({ where, doc });
    });
  }
  checkProject(docs, verbs);
  for (const p of problems) console.log(`FAIL ${p}`);
  console.log(`manifests: ${docs.length} documents in ${files.length} files, ` +
              `${problems.length} problem(s)`);
  return problems.length === 0 && docs.length > 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
