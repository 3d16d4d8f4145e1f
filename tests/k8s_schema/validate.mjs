// Validates Kubernetes objects (YAML or JSON files, several documents each)
// against the Kubernetes API types and the MPI Operator v0.8 MPIJob type,
// rejecting every field those types do not define:
//   1. structure: each object is written out as a TypeScript literal of its
//      type (kubernetes-models, generated from the Kubernetes OpenAPI;
//      @kubernetes-models/prometheus-operator for ServiceMonitor/PodMonitor;
//      mpijob.ts for MPIJob) and type-checked by tsc, whose excess-property
//      check rejects unknown fields at any depth, wrong types and missing
//      required fields;
//   2. values: kubernetes-models' JSON-schema validators (formats, enums,
//      integers) run on every built-in object and on MPIJob pod templates,
//      and MPIJobs get the checks the MPI Operator's own validation makes;
//   3. with --pss, every pod template must pass the "restricted" Pod
//      Security Standard (pod_security.mjs).
// An object whose apiVersion/kind has no type here is an error, so nothing
// passes unchecked.
//
//   node validate.mjs [--pss] FILE...     exit 0: all valid, 1: problems, 2: usage
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { restrictedProblems, podTemplates } from "./pod_security.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

// apiVersion/kind -> [module, exported type and class name].
const kTypes = {
  "v1/Namespace": ["kubernetes-models/v1/Namespace", "Namespace"],
  "v1/ServiceAccount": ["kubernetes-models/v1/ServiceAccount", "ServiceAccount"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "Secret"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service"],
  "v1/PersistentVolumeClaim": ["kubernetes-models/v1/PersistentVolumeClaim", "PersistentVolumeClaim"],
  "v1/Pod": ["kubernetes-models/v1/Pod", "Pod"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "Deployment"],
  "rbac.authorization.k8s.io/v1/Role": ["kubernetes-models/rbac.authorization.k8s.io/v1/Role", "Role"],
  "rbac.authorization.k8s.io/v1/RoleBinding": [
    "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding",
    "RoleBinding",
  ],
  "monitoring.coreos.com/v1/ServiceMonitor": [
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
    "ServiceMonitor",
  ],
  "monitoring.coreos.com/v1/PodMonitor": [
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
    "PodMonitor",
  ],
  "kubeflow.org/v2beta1/MPIJob": ["../mpijob.js", "MPIJob"],
};

export function loadObjects(file) {
  const text = fs.readFileSync(file, "utf8");
  const out = [];
  if (file.endsWith(".json")) {
    const v = JSON.parse(text);
    for (const o of Array.isArray(v) ? v : [v]) out.push(o);
    return out;
  }
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const v = doc.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

// JSON as TypeScript source, one member per line, remembering the JSON path
// of every line so tsc's line numbers can be reported as field paths.
function emitLiteral(value, lines, paths, indent, at) {
  const pad = "  ".repeat(indent);
  const push = (text, p) => {
    lines.push(text);
    paths.push(p);
  };
  if (Array.isArray(value)) {
    push("[", at);
    value.forEach((v, i) => {
      const p = `${at}[${i}]`;
      if (v !== null && typeof v === "object") {
        const start = lines.length;
        emitLiteral(v, lines, paths, indent + 1, p);
        lines[start] = pad + "  " + lines[start];
        lines[lines.length - 1] += ",";
      } else {
        push(`${pad}  ${JSON.stringify(v)},`, p);
      }
    });
    push(`${pad}]`, at);
    return;
  }
  push("{", at);
  for (const [k, v] of Object.entries(value)) {
    const p = at ? `${at}.${k}` : k;
    if (v !== null && typeof v === "object") {
      const start = lines.length;
      emitLiteral(v, lines, paths, indent + 1, p);
      lines[start] = `${pad}  ${JSON.stringify(k)}: ${lines[start]}`;
      lines[lines.length - 1] += ",";
    } else {
      push(`${pad}  ${JSON.stringify(k)}: ${JSON.stringify(v)},`, p);
    }
  }
  push(`${pad}}`, at);
}

function typeKey(o) {
  return o && typeof o === "object" ? `${o.apiVersion}/${o.kind}` : "?";
}

function describe(item) {
  const o = item.object;
  const name = o && o.metadata && o.metadata.name ? o.metadata.name : "(no name)";
  return `${item.file}: document ${item.index + 1} (${o && o.kind ? o.kind : "?"} ${name})`;
}

// Structure: tsc over one generated file holding every object.
function typeCheck(items, problems) {
  const work = fs.mkdtempSync(path.join(here, ".work-"));
  try {
    const lines = [];
    const owners = []; // per line: [item, json path]
    items.forEach((item, i) => {
      const [mod, name] = kTypes[typeKey(item.object)];
      lines.push(`import type { I${name} as T${i} } from ${JSON.stringify(mod)};`);
      owners.push(null);
    });
    items.forEach((item, i) => {
      const body = [];
      const paths = [];
      emitLiteral(item.object, body, paths, 0, "");
      body[0] = `export const o${i}: T${i} = ${body[0]}`;
      body[body.length - 1] += ";";
      for (let k = 0; k < body.length; ++k) {
        lines.push(body[k]);
        owners.push([item, paths[k]]);
      }
    });
    fs.writeFileSync(path.join(work, "check.ts"), lines.join("\n") + "\n");
    fs.writeFileSync(
      path.join(work, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          skipLibCheck: true,
          types: [],
        },
        files: ["check.ts"],
      }),
    );
    const tsc = path.join(here, "node_modules", ".bin", "tsc");
    const r = spawnSync(tsc, ["-p", path.join(work, "tsconfig.json"), "--pretty", "false"], {
      encoding: "utf8",
    });
    if (r.error) throw r.error;
    if (r.status === 0) return;
    let current = null;
    for (const line of (r.stdout + r.stderr).split("\n")) {
      const m = /check\.ts\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
      if (m) {
        const owner = owners[Number(m[1]) - 1];
        current = {
          where: owner ? `${describe(owner[0])} at ${owner[1] || "(top)"}` : "check.ts",
          message: `${m[4]} [${m[3]}]`,
        };
        problems.push(current);
      } else if (current && line.trim()) {
        current.message += " " + line.trim();
      } else if (!current && line.trim()) {
        problems.push({ where: "tsc", message: line.trim() });
      }
    }
    if (problems.length === 0) problems.push({ where: "tsc", message: `exit ${r.status}` });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// The API server decodes Secret data with Go's base64, which skips line
// breaks; kustomize wraps long values in literal blocks. The format check of
// kubernetes-models does not skip them, so they are removed first.
function asDecoded(name, o) {
  if (name !== "Secret" || !o.data) return o;
  const data = {};
  for (const [k, v] of Object.entries(o.data)) data[k] = typeof v === "string" ? v.replace(/[\r\n]/g, "") : v;
  return { ...o, data };
}

async function runtimeModel(mod, name, data) {
  const M = (await import(mod))[name];
  try {
    new M(data).validate();
    return null;
  } catch (e) {
    return String(e.message || e);
  }
}

function isInt(v) {
  return Number.isInteger(v);
}

// What the MPI Operator's validation (pkg/apis/kubeflow/validation) checks,
// after its defaults (slotsPerWorker 1, cleanPodPolicy None,
// sshAuthMountPath /root/.ssh, restartPolicy Never), plus the integer fields.
function mpiJobProblems(o) {
  const out = [];
  const spec = o.spec || {};
  const ints = [
    ["spec.slotsPerWorker", spec.slotsPerWorker],
    ["spec.runPolicy.backoffLimit", spec.runPolicy?.backoffLimit],
    ["spec.runPolicy.ttlSecondsAfterFinished", spec.runPolicy?.ttlSecondsAfterFinished],
    ["spec.runPolicy.activeDeadlineSeconds", spec.runPolicy?.activeDeadlineSeconds],
    ["spec.runPolicy.schedulingPolicy.minAvailable", spec.runPolicy?.schedulingPolicy?.minAvailable],
    ["spec.runPolicy.schedulingPolicy.scheduleTimeoutSeconds", spec.runPolicy?.schedulingPolicy?.scheduleTimeoutSeconds],
  ];
  for (const [type, r] of Object.entries(spec.mpiReplicaSpecs || {})) ints.push([`spec.mpiReplicaSpecs.${type}.replicas`, r?.replicas]);
  for (const [p, v] of ints) {
    if (v !== undefined && !isInt(v)) out.push(`${p}: must be an integer (got ${JSON.stringify(v)})`);
    else if (v !== undefined && v < 0) out.push(`${p}: must be >= 0 (got ${v})`);
  }
  const replicas = spec.mpiReplicaSpecs;
  if (!replicas) return [...out, "spec.mpiReplicaSpecs: required"];
  const launcher = replicas.Launcher;
  if (!launcher) out.push("spec.mpiReplicaSpecs.Launcher: required");
  for (const [type, r] of Object.entries(replicas)) {
    if (r.replicas === undefined) out.push(`spec.mpiReplicaSpecs.${type}.replicas: required`);
    if (!r.template?.spec?.containers?.length) out.push(`spec.mpiReplicaSpecs.${type}.template.spec.containers: at least one`);
  }
  if (launcher && launcher.replicas !== undefined && launcher.replicas !== 1) out.push("spec.mpiReplicaSpecs.Launcher.replicas: must be 1");
  if (replicas.Worker && replicas.Worker.replicas !== undefined && replicas.Worker.replicas < 1) out.push("spec.mpiReplicaSpecs.Worker.replicas: must be >= 1");
  // Pod hostnames <name>-worker-<i> must be DNS-1035 labels.
  const last = Math.max(1, replicas.Worker?.replicas || 1) - 1;
  const host = `${o.metadata?.name || ""}-worker-${last}`;
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(host) || host.length > 63) out.push(`metadata.name: worker hostname ${host} is not a DNS-1035 label`);
  return out;
}

export async function validate(files, { pss }) {
  const items = [];
  const problems = [];
  for (const file of files) {
    let objects;
    try {
      objects = loadObjects(file);
    } catch (e) {
      problems.push({ where: file, message: String(e.message || e) });
      continue;
    }
    objects.forEach((object, index) => items.push({ file, index, object }));
  }
  const known = [];
  for (const item of items) {
    if (kTypes[typeKey(item.object)]) known.push(item);
    else problems.push({ where: describe(item), message: `no schema for apiVersion/kind ${typeKey(item.object)}` });
  }
  if (known.length) typeCheck(known, problems);
  for (const item of known) {
    const o = item.object;
    const [mod, name] = kTypes[typeKey(o)];
    const fail = (message) => problems.push({ where: describe(item), message });
    if (name === "MPIJob") {
      for (const m of mpiJobProblems(o)) fail(m);
      for (const [type, r] of Object.entries(o.spec?.mpiReplicaSpecs || {})) {
        if (!r?.template) continue;
        const m = await runtimeModel("kubernetes-models/v1/PodTemplateSpec", "PodTemplateSpec", r.template);
        if (m) fail(`spec.mpiReplicaSpecs.${type}.template: ${m}`);
      }
    } else {
      const m = await runtimeModel(mod, name, asDecoded(name, o));
      if (m) fail(m);
    }
    if (pss) {
      for (const [at, template] of podTemplates(o)) {
        for (const m of restrictedProblems(template.spec || {})) fail(`${at}: restricted Pod Security Standard: ${m}`);
      }
    }
  }
  return { objects: items.length, problems };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const pss = args.includes("--pss");
  const files = args.filter((a) => a !== "--pss");
  if (!files.length || files.some((f) => f.startsWith("--"))) {
    console.error("usage: node validate.mjs [--pss] FILE...");
    process.exit(2);
  }
  const { objects, problems } = await validate(files, { pss });
  for (const p of problems) console.log(`${p.where}: ${p.message}`);
  console.log(`${objects} objects in ${files.length} files: ${problems.length ? problems.length + " problems" : "all valid"}${pss ? " (restricted PSS checked)" : ""}`);
  process.exit(problems.length ? 1 : 0);
}
