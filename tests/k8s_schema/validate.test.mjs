// The checker itself: what is valid passes, and each kind of mistake (a
// misspelled field at any depth, a wrong type, a value outside an enum, an
// unknown kind, a missing restricted-PSS field) fails naming the object and
// the field. Run by CTest as k8s_schema.validator (node --test).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { validate } from "./validate.mjs";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-schema-test-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

async function check(objects, pss = true) {
  const file = path.join(tmp, `case${n++}.yaml`);
  fs.writeFileSync(file, objects.map((o) => YAML.stringify(o)).join("---\n"));
  const { problems } = await validate([file], { pss });
  return problems.map((p) => `${p.where}: ${p.message}`);
}

const kSecure = {
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function podSpec() {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "c",
        image: "registry.example/flyp:1",
        ports: [{ name: "metrics", containerPort: 9400 }],
        securityContext: structuredClone(kSecure),
        volumeMounts: [{ name: "data", mountPath: "/data", readOnly: true }],
      },
    ],
    volumes: [{ name: "data", persistentVolumeClaim: { claimName: "flyp-data" } }],
  };
}

function deployment() {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", labels: { app: "x" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "x" } },
      template: { metadata: { labels: { app: "x" } }, spec: podSpec() },
    },
  };
}

function mpijob() {
  return {
    apiVersion: "kubeflow.org/v2beta1",
    kind: "MPIJob",
    metadata: { name: "flyp-job-000001-a1", namespace: "flyp" },
    spec: {
      slotsPerWorker: 2,
      mpiImplementation: "OpenMPI",
      sshAuthMountPath: "/home/flyp/.ssh",
      runPolicy: { cleanPodPolicy: "Running", backoffLimit: 0, ttlSecondsAfterFinished: 86400 },
      mpiReplicaSpecs: {
        Launcher: { replicas: 1, restartPolicy: "Never", template: { spec: podSpec() } },
        Worker: { replicas: 2, restartPolicy: "Never", template: { spec: podSpec() } },
      },
    },
  };
}

function one(problems, ...needles) {
  assert.equal(problems.length >= 1, true, "expected a problem, got none");
  const hit = problems.find((p) => needles.every((s) => p.includes(s)));
  assert.ok(hit, `no problem mentions ${JSON.stringify(needles)}:\n${problems.join("\n")}`);
}

test("valid objects pass, restricted PSS included", async () => {
  assert.deepEqual(await check([deployment(), mpijob()]), []);
});

test("a misspelled field deep in a Deployment fails with its path", async () => {
  const d = deployment();
  delete d.spec.template.spec.containers[0].securityContext.runAsNonRoot;
  d.spec.template.spec.containers[0].securityContext.runAsNonRoo = true;
  one(await check([d], false), "Deployment d", "spec.template.spec.containers[0].securityContext", "runAsNonRoo");
});

test("a misspelled MPIJob spec field fails", async () => {
  const j = mpijob();
  j.spec.slotsPerWorkers = j.spec.slotsPerWorker;
  one(await check([j]), "MPIJob flyp-job-000001-a1", "slotsPerWorkers");
});

test("a misspelled field in an MPIJob pod template fails", async () => {
  const j = mpijob();
  const c = j.spec.mpiReplicaSpecs.Worker.template.spec.containers[0];
  c.volumeMount = c.volumeMounts;
  one(await check([j]), "spec.mpiReplicaSpecs.Worker.template.spec.containers[0]", "volumeMount");
});

test("wrong types and enum values fail", async () => {
  const d = deployment();
  d.spec.template.spec.containers[0].ports[0].containerPort = "9400";
  one(await check([d]), "containers[0].ports[0].containerPort");
  const j = mpijob();
  j.spec.mpiImplementation = "OpenMP";
  one(await check([j]), "spec.mpiImplementation");
  const k = mpijob();
  k.spec.mpiReplicaSpecs.Worker.replicas = 1.5;
  one(await check([k]), "spec.mpiReplicaSpecs.Worker.replicas: must be an integer");
  const p = deployment();
  p.spec.template.spec.containers[0].imagePullPolicy = "Sometimes";
  one(await check([p]), "imagePullPolicy must be equal to one of the allowed values");
});

test("the MPI Operator's own rules apply", async () => {
  const j = mpijob();
  j.spec.mpiReplicaSpecs.Launcher.replicas = 2;
  one(await check([j]), "spec.mpiReplicaSpecs.Launcher.replicas: must be 1");
  const k = mpijob();
  delete k.spec.mpiReplicaSpecs.Launcher;
  one(await check([k]), "spec.mpiReplicaSpecs.Launcher: required");
  const r = mpijob();
  r.spec.mpiReplicaSpecs.Worker.restartPolicy = "Always";
  one(await check([r]), "restartPolicy");
});

test("an unknown kind or apiVersion is an error, not a pass", async () => {
  one(await check([{ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" } }]), "no schema for apiVersion/kind batch/v1/Job");
  one(await check([{ ...mpijob(), apiVersion: "kubeflow.org/v1" }]), "no schema", "kubeflow.org/v1/MPIJob");
});

test("monitors are checked against the Prometheus Operator types", async () => {
  const sm = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: "m", labels: { release: "kube-prometheus-stack" } },
    spec: { selector: { matchLabels: { a: "b" } }, endpoints: [{ port: "metrics", interval: "15s" }] },
  };
  assert.deepEqual(await check([sm]), []);
  sm.spec.endpoint = sm.spec.endpoints;
  one(await check([sm]), "ServiceMonitor m", "endpoint");
});

test("every restricted-PSS control is enforced on every pod template", async () => {
  const cases = [
    [(s) => delete s.containers[0].securityContext.allowPrivilegeEscalation, "allowPrivilegeEscalation must be false"],
    [(s) => (s.containers[0].securityContext.capabilities = { drop: ["NET_RAW"] }), "capabilities.drop must contain ALL"],
    [(s) => (s.containers[0].securityContext.capabilities.add = ["SYS_ADMIN"]), "capability SYS_ADMIN"],
    [(s) => { delete s.securityContext.runAsNonRoot; delete s.containers[0].securityContext.runAsNonRoot; }, "runAsNonRoot must be true"],
    [(s) => { delete s.securityContext.seccompProfile; delete s.containers[0].securityContext.seccompProfile; }, "seccompProfile.type"],
    [(s) => (s.securityContext.runAsUser = 0), "runAsUser must not be 0"],
    [(s) => s.volumes.push({ name: "h", hostPath: { path: "/" } }), "volume h: type hostPath not allowed"],
    [(s) => (s.hostNetwork = true), "hostNetwork must not be true"],
    [(s) => (s.containers[0].ports[0].hostPort = 9400), "hostPort 9400"],
    [(s) => (s.containers[0].securityContext.privileged = true), "privileged must not be true"],
  ];
  for (const [mutate, needle] of cases) {
    const j = mpijob();
    mutate(j.spec.mpiReplicaSpecs.Worker.template.spec);
    one(await check([j]), "spec.mpiReplicaSpecs.Worker.template: restricted Pod Security Standard", needle);
  }
});

test("a misspelled field in the repository's own Deployment fails", async (t) => {
  const source = process.env.FLYP_SOURCE_DIR;
  if (!source) return t.skip("FLYP_SOURCE_DIR not set");
  const text = fs.readFileSync(path.join(source, "deploy/k8s/base/deployment.yaml"), "utf8");
  const good = path.join(tmp, "deployment.yaml");
  fs.writeFileSync(good, text);
  assert.deepEqual((await validate([good], { pss: true })).problems, []);
  assert.match(text, /readinessProbe:/);
  const bad = path.join(tmp, "deployment-typo.yaml");
  fs.writeFileSync(bad, text.replace("readinessProbe:", "readinesProbe:"));
  const { problems } = await validate([bad], { pss: true });
  one(problems.map((p) => `${p.where}: ${p.message}`), "Deployment flyp-coordinator", "readinesProbe");
});
