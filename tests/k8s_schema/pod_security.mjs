// The "restricted" Pod Security Standard (Kubernetes docs, "Pod Security
// Standards": the baseline controls plus the restricted ones), as
// checks on a PodSpec. Each problem names the container or field.

// Pod templates inside an object: [path, PodTemplateSpec-like {spec}].
export function podTemplates(o) {
  const out = [];
  if (!o || typeof o !== "object") return out;
  if (o.kind === "Pod") out.push(["spec", { spec: o.spec }]);
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(o.kind) && o.spec?.template)
    out.push(["spec.template", o.spec.template]);
  if (o.kind === "CronJob" && o.spec?.jobTemplate?.spec?.template)
    out.push(["spec.jobTemplate.spec.template", o.spec.jobTemplate.spec.template]);
  if (o.kind === "MPIJob") {
    for (const [type, r] of Object.entries(o.spec?.mpiReplicaSpecs || {})) {
      if (r?.template) out.push([`spec.mpiReplicaSpecs.${type}.template`, r.template]);
    }
  }
  return out;
}

const kRestrictedVolumes = new Set([
  "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
]);
const kSafeSysctls = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const kSeLinuxTypes = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

export function restrictedProblems(spec) {
  const out = [];
  const pod = spec.securityContext || {};
  const containers = [
    ...(spec.initContainers || []).map((c) => ["initContainers", c]),
    ...(spec.containers || []).map((c) => ["containers", c]),
    ...(spec.ephemeralContainers || []).map((c) => ["ephemeralContainers", c]),
  ];
  // Baseline.
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[f] === true) out.push(`${f} must not be true`);
  for (const v of spec.volumes || []) {
    const types = Object.keys(v).filter((k) => k !== "name");
    for (const t of types) if (!kRestrictedVolumes.has(t)) out.push(`volume ${v.name}: type ${t} not allowed`);
  }
  for (const s of pod.sysctls || []) if (!kSafeSysctls.has(s.name)) out.push(`sysctl ${s.name} not allowed`);
  if (pod.seLinuxOptions && !kSeLinuxTypes.has(pod.seLinuxOptions.type || "")) out.push("securityContext.seLinuxOptions.type not allowed");
  if (pod.seLinuxOptions?.user || pod.seLinuxOptions?.role) out.push("securityContext.seLinuxOptions user/role must be unset");
  if (pod.appArmorProfile && !["RuntimeDefault", "Localhost"].includes(pod.appArmorProfile.type))
    out.push("securityContext.appArmorProfile must be RuntimeDefault or Localhost");
  // Restricted, pod level.
  if (pod.runAsUser === 0) out.push("securityContext.runAsUser must not be 0");
  const podSeccomp = pod.seccompProfile?.type;
  if (podSeccomp !== undefined && !["RuntimeDefault", "Localhost"].includes(podSeccomp))
    out.push(`securityContext.seccompProfile.type must be RuntimeDefault or Localhost (got ${podSeccomp})`);
  for (const [list, c] of containers) {
    const at = `${list} ${c.name}`;
    const sc = c.securityContext || {};
    if (sc.privileged === true) out.push(`${at}: privileged must not be true`);
    for (const p of c.ports || []) if (p.hostPort) out.push(`${at}: hostPort ${p.hostPort} not allowed`);
    if (sc.procMount && sc.procMount !== "Default") out.push(`${at}: procMount must be Default`);
    if (sc.seLinuxOptions && !kSeLinuxTypes.has(sc.seLinuxOptions.type || "")) out.push(`${at}: seLinuxOptions.type not allowed`);
    if (sc.appArmorProfile && !["RuntimeDefault", "Localhost"].includes(sc.appArmorProfile.type))
      out.push(`${at}: appArmorProfile must be RuntimeDefault or Localhost`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: securityContext.allowPrivilegeEscalation must be false`);
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) out.push(`${at}: runAsNonRoot must be true (in the container or the pod securityContext)`);
    if (sc.runAsUser === 0) out.push(`${at}: runAsUser must not be 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (!["RuntimeDefault", "Localhost"].includes(seccomp))
      out.push(`${at}: seccompProfile.type must be RuntimeDefault or Localhost (in the container or the pod securityContext)`);
    if (!(sc.capabilities?.drop || []).includes("ALL")) out.push(`${at}: securityContext.capabilities.drop must contain ALL`);
    for (const add of sc.capabilities?.add || [])
      if (add !== "NET_BIND_SERVICE") out.push(`${at}: capability ${add} may not be added (only NET_BIND_SERVICE)`);
  }
  return out;
}
