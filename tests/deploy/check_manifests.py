#!/usr/bin/env python3
"""Renders the kustomize base and overlays under deploy/ and checks the rendered objects.

    check_manifests.py [DEPLOY_DIR]        (default: the repository's deploy/)

For every rendered workload: each container has startup, liveness and readiness probes, CPU and memory
requests and limits, the hardened security context (runAsNonRoot, non-root uid, readOnlyRootFilesystem,
allowPrivilegeEscalation false, drop ALL, seccomp RuntimeDefault) and a pinned image (no "latest", no missing tag).
For the three Dorset services: probe ports equal the container ports and the ports in DORSET_GRPC_LISTEN /
DORSET_OPS_LISTEN of the ConfigMap, readiness asks for the service's own gRPC health name (or /readyz when TLS
moves the probes to the ops port), liveness for "" (or /livez), one replica with a data volume, a Service and a
PodDisruptionBudget that select the pod, a configuration the server accepts (TLS or explicit plaintext), and a
termination grace period longer than drain + shutdown grace. Also the NetworkPolicies, deploy/prometheus-rules.yaml,
and deploy/compose (same settings as the dev ConfigMaps, same hardening, same ports and grace period). The
postgres variant (overlays/postgres, compose.postgres.yaml) gets every check above plus check_database.py's: each
service on its own database and role, passwords only from files in Secrets.

Per variant (issue 13): SQLite (base, dev, prod) - each service a StatefulSet with exactly one replica and its data
directory on a retained ReadWriteOnce claim, and never a Deployment or a second replica without a postgres://
DORSET_DATABASE. Replicas over PostgreSQL (overlays/postgres with one PostgreSQL StatefulSet, overlays/prod-postgres
with a CloudNativePG Cluster) - each service a Deployment with >= 3 replicas, RollingUpdate maxUnavailable 0 /
maxSurge > 0, a hostname topology spread selecting its pods, one PodDisruptionBudget that allows some but not all
replicas to be evicted, an autoscaling/v2 HPA on CPU (min >= 2), its data directory an emptyDir (no claim), the
page-token key file in its own Secret and the database password in its own; readiness on the service's health name
or /readyz, liveness on "" or /livez; PostgreSQL's max_connections holds every replica's pool at the HPAs' maximum.
The gateway everywhere: a Deployment of >= 2 with maxUnavailable 0, spread and a PDB (and an HPA with replicas).
The CloudNativePG Cluster: >= 3 instances, a synchronous standby, required anti-affinity on hostname, the
operator's PDBs, no superuser login, a pinned image, a managed login role per service with its password from the
service's Secret, each database made and closed to other roles at bootstrap, WAL archive and base backups with
credentials from a Secret, a retention policy, a ScheduledBackup, replication allowed by the NetworkPolicies; each
service on the primary's -rw Service with sslmode=verify-full against the operator's CA.

Before trusting the checks, a self-test breaks copies of the rendered dev objects in known ways and requires every
break to be caught, so a check that silently stopped checking fails the test too; likewise for both replicas
variants (self_test_replicated: each rule above removed in turn) and the CloudNativePG cluster (self_test_cnpg).

Exit codes: 0 all good, 1 a check failed, 77 kubectl or PyYAML missing (ctest SKIP_RETURN_CODE).
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_database  # noqa: E402

# ctest's SKIP_RETURN_CODE; under CI=true a skip is a failure, so a missing tool fails the run instead.
SKIP = 1 if os.environ.get("CI") == "true" else 77

try:
    import yaml
except ImportError:  # pragma: no cover
    print("SKIP: PyYAML missing (apt-get install python3-yaml)")
    sys.exit(SKIP)

SERVICES = {
    "registry": {"grpc": 50051, "ops": 8081, "health": "dorset.registry.v1.RegistryService"},
    "finance": {"grpc": 50052, "ops": 8082, "health": "dorset.finance.v1.FinanceService"},
    "engagement": {"grpc": 50053, "ops": 8083, "health": "dorset.engagement.v1.EngagementService"},
}
DORSET_UID = 10001
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
TARGETS = ["base", "overlays/dev", "overlays/prod", "overlays/postgres", "overlays/prod-postgres"]
# The variants whose services run as stateless replicas over PostgreSQL (components/replicas); the others keep
# each service's SQLite store in a single-replica StatefulSet.
REPLICATED_TARGETS = {"overlays/postgres", "overlays/prod-postgres"}
PROD_TARGETS = {"overlays/prod", "overlays/prod-postgres"}
REQUIRED_ALERTS = {  # alert name -> a metric its expression must use
    "DorsetServiceDown": "up",
    "DorsetHighErrorRatio": "grpc_server_handled_total",
    "DorsetHighLatencyP99": "grpc_server_handling_seconds_bucket",
    "DorsetCacheBreakerOpen": "dorset_cache_breaker_open",
    "DorsetNotReady": "kube_pod_status_ready",
}


class Checker:
    def __init__(self, quiet: bool = False):
        self.failures: list[str] = []
        self.passed = 0
        self.quiet = quiet

    def expect(self, cond: bool, what: str) -> bool:
        if cond:
            self.passed += 1
        else:
            self.failures.append(what)
            if not self.quiet:
                print(f"FAIL {what}")
        return bool(cond)


def render(deploy_dir: str, target: str) -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", os.path.join(deploy_dir, target)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {target} failed:\n{out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def port_of(address: str | None) -> int | None:
    if not address:
        return None
    m = re.fullmatch(r"(.*):(\d+)", address)
    return int(m.group(2)) if m else None


def pod_spec(obj: dict) -> dict:
    kind = obj["kind"]
    if kind == "Pod":
        return obj["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: dict) -> dict:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def selects(selector: dict | None, labels: dict) -> bool:
    if not selector:
        return False
    match = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
        if expr["operator"] == "Exists" and value is None:
            return False
    return True


def effective(container: dict, spec: dict, field: str):
    """A securityContext field from the container, else from the pod."""
    value = (container.get("securityContext") or {}).get(field)
    if value is None:
        value = (spec.get("securityContext") or {}).get(field)
    return value


def image_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    return last.rsplit(":", 1)[1] not in ("", "latest")


def check_container(c: Checker, where: str, container: dict, spec: dict) -> None:
    name = f"{where} container {container.get('name')}"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        c.expect(probe in container, f"{name}: has {probe}")
    res = container.get("resources") or {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            c.expect(r in (res.get(kind) or {}), f"{name}: resources.{kind}.{r} set")
    sc = container.get("securityContext") or {}
    c.expect(effective(container, spec, "runAsNonRoot") is True, f"{name}: runAsNonRoot true")
    uid = effective(container, spec, "runAsUser")
    c.expect(isinstance(uid, int) and uid > 0, f"{name}: runAsUser is a non-root uid (got {uid})")
    c.expect(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem true")
    c.expect(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation false")
    c.expect(sc.get("privileged") in (None, False), f"{name}: not privileged")
    drop = (sc.get("capabilities") or {}).get("drop") or []
    c.expect("ALL" in drop, f"{name}: capabilities drop ALL")
    c.expect(not (sc.get("capabilities") or {}).get("add"), f"{name}: adds no capabilities")
    seccomp = effective(container, spec, "seccompProfile") or {}
    c.expect(seccomp.get("type") == "RuntimeDefault", f"{name}: seccompProfile RuntimeDefault")
    image = container.get("image", "")
    c.expect(image_pinned(image), f"{name}: image {image!r} has a pinned tag (not latest)")


def check_workloads(c: Checker, target: str, docs: list[dict]) -> None:
    accounts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
    workloads = [d for d in docs if d["kind"] in WORKLOAD_KINDS]
    c.expect(len(workloads) >= 4, f"{target}: renders the 3 services and redis ({len(workloads)} workloads)")
    for w in workloads:
        where = f"{target} {w['kind']}/{w['metadata']['name']}"
        spec = pod_spec(w)
        c.expect(spec.get("automountServiceAccountToken") is False, f"{where}: automountServiceAccountToken false")
        c.expect(spec.get("enableServiceLinks") is False, f"{where}: enableServiceLinks false")
        sa = spec.get("serviceAccountName")
        c.expect(sa in accounts, f"{where}: its ServiceAccount {sa!r} is rendered")
        if sa in accounts:
            c.expect(accounts[sa].get("automountServiceAccountToken") is False,
                     f"{where}: ServiceAccount {sa} automountServiceAccountToken false")
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            check_container(c, where, container, spec)


def check_probe_target(c: Checker, name: str, probe: dict | None, kind: str, grpc_port: int, ops_port: int,
                       health: str) -> None:
    """kind: 'live' (overall "" or /livez) or 'ready' (own health name or /readyz)."""
    if not probe:
        return  # already reported
    if "grpc" in probe:
        want = "" if kind == "live" else health
        c.expect(probe["grpc"].get("port") == grpc_port,
                 f"{name}: gRPC probe port {probe['grpc'].get('port')} == gRPC port {grpc_port}")
        c.expect(probe["grpc"].get("service", "") == want,
                 f"{name}: gRPC probe service {probe['grpc'].get('service', '')!r} == {want!r}")
    elif "httpGet" in probe:
        want = "/livez" if kind == "live" else "/readyz"
        c.expect(probe["httpGet"].get("port") == ops_port,
                 f"{name}: HTTP probe port {probe['httpGet'].get('port')} == ops port {ops_port}")
        c.expect(probe["httpGet"].get("path") == want, f"{name}: HTTP probe path == {want}")
    else:
        c.expect(False, f"{name}: probe is gRPC or HTTP on the ops port (got {sorted(probe)})")


def check_single_replica(c: Checker, where: str, w: dict, env: dict, mounts: dict) -> None:
    """SQLite variant: a StatefulSet with one replica and its data directory on a retained ReadWriteOnce claim."""
    c.expect(w["kind"] == "StatefulSet", f"{where}: a StatefulSet (a SQLite store has one writer and one volume)")
    c.expect(w["spec"].get("replicas") == 1, f"{where}: exactly 1 replica (SQLite has one writer)")
    retention = w["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    c.expect(retention.get("whenDeleted", "Retain") == "Retain" and retention.get("whenScaled", "Retain") == "Retain",
             f"{where}: the data volume is retained when the StatefulSet is scaled down or deleted")
    claims = {t["metadata"]["name"]: t for t in w["spec"].get("volumeClaimTemplates", [])}
    data_dir = env.get("DORSET_DATA_DIR")
    data_mount = mounts.get(data_dir or "")
    c.expect(bool(data_mount) and data_mount["name"] in claims,
             f"{where}: DORSET_DATA_DIR {data_dir} is a volumeClaimTemplate mount")
    if data_mount and data_mount["name"] in claims:
        c.expect(claims[data_mount["name"]]["spec"].get("accessModes") == ["ReadWriteOnce"],
                 f"{where}: data volume is ReadWriteOnce")


def check_rollout(c: Checker, where: str, w: dict) -> None:
    """A rolling update that never lowers capacity: a new pod is ready before an old one goes."""
    strategy = w["spec"].get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    c.expect(strategy.get("type", "RollingUpdate") == "RollingUpdate" and rolling.get("maxUnavailable") in (0, "0%"),
             f"{where}: RollingUpdate with maxUnavailable 0 (got {strategy})")
    c.expect(rolling.get("maxSurge") not in (None, 0, "0%"), f"{where}: maxSurge > 0 (else the rollout cannot move)")


def check_spread(c: Checker, where: str, w: dict) -> None:
    labels = pod_labels(w)
    spread = [t for t in pod_spec(w).get("topologySpreadConstraints") or []
              if t.get("topologyKey") == "kubernetes.io/hostname" and t.get("maxSkew") == 1
              and t.get("whenUnsatisfiable") == "DoNotSchedule" and selects(t.get("labelSelector"), labels)]
    c.expect(len(spread) >= 1, f"{where}: replicas spread across nodes (topologySpreadConstraints on "
             "kubernetes.io/hostname, maxSkew 1, DoNotSchedule, selecting its pods)")


def check_disruption_budget(c: Checker, where: str, w: dict, docs: list[dict]) -> None:
    """A PodDisruptionBudget that lets a drain take one replica at a time, never all of them."""
    labels = pod_labels(w)
    replicas = w["spec"].get("replicas", 1)
    pdbs = [p for p in docs if p["kind"] == "PodDisruptionBudget" and selects(p["spec"].get("selector"), labels)]
    if not c.expect(len(pdbs) == 1, f"{where}: one PodDisruptionBudget selects its pods (got {len(pdbs)})"):
        return
    spec = pdbs[0]["spec"]
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    one_at_a_time = (isinstance(max_unavailable, int) and 1 <= max_unavailable < replicas and min_available is None) \
        or (isinstance(min_available, int) and 1 <= min_available < replicas and max_unavailable is None)
    c.expect(one_at_a_time, f"{where}: PodDisruptionBudget allows some but not all {replicas} replicas to be "
             f"evicted (maxUnavailable {max_unavailable}, minAvailable {min_available})")


def check_autoscaler(c: Checker, where: str, w: dict, docs: list[dict]) -> None:
    name = w["metadata"]["name"]
    hpas = [h for h in docs if h["kind"] == "HorizontalPodAutoscaler"
            and h["spec"].get("scaleTargetRef", {}).get("kind") == "Deployment"
            and h["spec"].get("scaleTargetRef", {}).get("name") == name]
    if not c.expect(len(hpas) == 1, f"{where}: one HorizontalPodAutoscaler scales Deployment {name}"):
        return
    h = hpas[0]
    c.expect(h.get("apiVersion") == "autoscaling/v2", f"{where}: HPA is autoscaling/v2")
    lo, hi = h["spec"].get("minReplicas", 1), h["spec"].get("maxReplicas", 0)
    c.expect(2 <= lo <= hi, f"{where}: HPA keeps at least 2 replicas and maxReplicas >= minReplicas ({lo}..{hi})")
    c.expect(lo <= w["spec"].get("replicas", 1), f"{where}: HPA minReplicas {lo} <= the Deployment's replicas")
    cpu = [m for m in h["spec"].get("metrics", []) if m.get("type") == "Resource"
           and m["resource"].get("name") == "cpu" and m["resource"].get("target", {}).get("type") == "Utilization"]
    c.expect(len(cpu) == 1, f"{where}: HPA on CPU utilisation")
    requests = [(x.get("resources") or {}).get("requests", {}).get("cpu") for x in pod_spec(w)["containers"]]
    c.expect(all(requests), f"{where}: every container requests CPU (the HPA's utilisation is against it)")


def check_replicated(c: Checker, where: str, svc: str, w: dict, env: dict, mounts: dict, volumes: dict,
                     docs: list[dict]) -> None:
    """PostgreSQL variant: a Deployment of identical, stateless replicas."""
    c.expect(w["kind"] == "Deployment", f"{where}: a Deployment (stateless replicas over PostgreSQL)")
    replicas = w["spec"].get("replicas")
    c.expect(isinstance(replicas, int) and replicas >= 3, f"{where}: at least 3 replicas (got {replicas})")
    check_rollout(c, where, w)
    check_spread(c, where, w)
    check_disruption_budget(c, where, w, docs)
    check_autoscaler(c, where, w, docs)
    c.expect(not w["spec"].get("volumeClaimTemplates") and
             not any("persistentVolumeClaim" in v or "ephemeral" in v for v in volumes.values()),
             f"{where}: no PersistentVolumeClaim (a replica keeps no state of its own)")
    data = mounts.get(env.get("DORSET_DATA_DIR", ""))
    c.expect(data is not None and "emptyDir" in volumes.get(data["name"], {}),
             f"{where}: DORSET_DATA_DIR {env.get('DORSET_DATA_DIR')} is an emptyDir (scratch only)")
    # Page tokens signed with one key all replicas share, from the service's own Secret.
    key = env.get("DORSET_PAGE_TOKEN_KEY_FILE", "")
    secret = None
    for path, m in mounts.items():
        if key.startswith(path.rstrip("/") + "/"):
            secret = check_database._base_name((volumes.get(m["name"], {}).get("secret") or {}).get("secretName", ""))
    c.expect(secret == f"dorset-{svc}-page-token",
             f"{where}: DORSET_PAGE_TOKEN_KEY_FILE {key!r} is in its Secret dorset-{svc}-page-token (got {secret})")


def check_gateway(c: Checker, target: str, docs: list[dict], replicated: bool) -> None:
    """The gateway holds no data: a Deployment of several replicas everywhere, autoscaled with the services."""
    gw = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "dorset-gateway"]
    if not c.expect(len(gw) == 1, f"{target}: Deployment dorset-gateway rendered"):
        return
    w = gw[0]
    where = f"{target} Deployment/dorset-gateway"
    c.expect(w["spec"].get("replicas", 1) >= 2, f"{where}: at least 2 replicas")
    check_rollout(c, where, w)
    check_spread(c, where, w)
    check_disruption_budget(c, where, w, docs)
    ct = pod_spec(w)["containers"][0]
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        http = (ct.get(probe) or {}).get("httpGet") or {}
        c.expect(http.get("path") == path and http.get("port") == 8090, f"{where}: {probe} is {path} on 8090")
    if replicated:
        check_autoscaler(c, where, w, docs)


def check_services(c: Checker, target: str, docs: list[dict], replicated: bool | None = None) -> None:
    """replicated: the variant runs the services as replicas (default: target in REPLICATED_TARGETS)."""
    if replicated is None:
        replicated = target in REPLICATED_TARGETS
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind.get("ConfigMap", [])}
    k8s_services = by_kind.get("Service", [])
    pdbs = by_kind.get("PodDisruptionBudget", [])
    svc_port = {(s["metadata"]["name"], p["port"]) for s in k8s_services for p in s["spec"].get("ports", [])}
    seen_health = set()
    envs: dict[str, dict[str, str]] = {}

    for svc, want in SERVICES.items():
        sts = [d for d in by_kind.get("StatefulSet", []) + by_kind.get("Deployment", [])
               if d["metadata"]["name"] == f"dorset-{svc}"]
        if not c.expect(len(sts) == 1, f"{target}: one StatefulSet or Deployment dorset-{svc} rendered"):
            continue
        st = sts[0]
        where = f"{target} {st['kind']}/dorset-{svc}"
        spec = pod_spec(st)
        containers = [x for x in spec["containers"] if x["name"] == svc]
        if not c.expect(len(containers) == 1, f"{where}: has container {svc}"):
            continue
        ct = containers[0]
        c.expect(ct.get("command", [None])[0] == f"dorset-{svc}", f"{where}: runs dorset-{svc}")
        c.expect(effective(ct, spec, "runAsUser") == DORSET_UID, f"{where}: runs as uid {DORSET_UID}")

        env: dict[str, str] = {}
        for ref in ct.get("envFrom", []):
            cm = (ref.get("configMapRef") or {}).get("name")
            if cm:
                c.expect(cm in configmaps, f"{where}: ConfigMap {cm} rendered")
                env.update(configmaps.get(cm, {}))
        for e in ct.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]

        grpc_port = port_of(env.get("DORSET_GRPC_LISTEN"))
        ops_port = port_of(env.get("DORSET_OPS_LISTEN"))
        c.expect(grpc_port == want["grpc"], f"{where}: DORSET_GRPC_LISTEN port {grpc_port} == {want['grpc']}")
        c.expect(ops_port == want["ops"], f"{where}: DORSET_OPS_LISTEN port {ops_port} == {want['ops']}")
        c.expect(env.get("DORSET_GRPC_LISTEN", "").startswith("0.0.0.0:"),
                 f"{where}: gRPC listens on all interfaces (kubelet probes and Services reach it)")
        c.expect(env.get("DORSET_OPS_LISTEN", "").startswith("0.0.0.0:"),
                 f"{where}: ops listens on all interfaces (probes and Prometheus reach it)")
        ports = {p.get("name"): p.get("containerPort") for p in ct.get("ports", [])}
        c.expect(ports.get("grpc") == grpc_port, f"{where}: container port grpc {ports.get('grpc')} == {grpc_port}")
        c.expect(ports.get("ops") == ops_port, f"{where}: container port ops {ports.get('ops')} == {ops_port}")

        check_probe_target(c, f"{where} startupProbe", ct.get("startupProbe"), "live", grpc_port, ops_port,
                           want["health"])
        check_probe_target(c, f"{where} livenessProbe", ct.get("livenessProbe"), "live", grpc_port, ops_port,
                           want["health"])
        check_probe_target(c, f"{where} readinessProbe", ct.get("readinessProbe"), "ready", grpc_port, ops_port,
                           want["health"])
        rp = ct.get("readinessProbe") or {}
        if "grpc" in rp:
            seen_health.add(rp["grpc"].get("service"))

        ann = st["spec"]["template"]["metadata"].get("annotations", {})
        c.expect(ann.get("prometheus.io/scrape") == "true", f"{where}: prometheus.io/scrape true")
        c.expect(ann.get("prometheus.io/port") == str(ops_port), f"{where}: prometheus.io/port == ops port")

        drain = int(env.get("DORSET_DRAIN_SECONDS", "2"))
        grace = int(env.get("DORSET_SHUTDOWN_GRACE_SECONDS", "10"))
        tgps = spec.get("terminationGracePeriodSeconds", 30)
        c.expect(tgps > drain + grace, f"{where}: terminationGracePeriodSeconds {tgps} > drain {drain} + grace {grace}")

        # Volumes: secrets mounted read-only, as directories; the data directory per variant below.
        mounts = {m["mountPath"]: m for m in ct.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        on_postgres = env.get("DORSET_DATABASE", "").startswith(("postgres://", "postgresql://"))
        if not replicated or not on_postgres:
            # A SQLite store is one file with one writer on one ReadWriteOnce volume: one replica, never more, in a
            # StatefulSet whose volume outlives the pod. (Also the single-server PostgreSQL variant without
            # components/replicas.)
            check_single_replica(c, where, st, env, mounts)
        if replicated:
            c.expect(on_postgres, f"{where}: replicas only over PostgreSQL (DORSET_DATABASE is postgres://, "
                     f"got {env.get('DORSET_DATABASE', '')!r}; SQLite stays one replica)")
            check_replicated(c, where, svc, st, env, mounts, volumes, docs)
        for m in mounts.values():
            v = volumes.get(m["name"], {})
            if "secret" in v:
                c.expect(m.get("readOnly") is True, f"{where}: secret volume {m['name']} mounted read-only")
                c.expect("subPath" not in m, f"{where}: secret {m['name']} mounted as a directory (rotation)")

        def under_secret_mount(path: str) -> bool:
            for mp, m in mounts.items():
                if path.startswith(mp.rstrip("/") + "/") and "secret" in volumes.get(m["name"], {}):
                    return True
            return False

        plaintext = env.get("DORSET_PLAINTEXT", "false").lower() in ("true", "1", "yes")
        tls = bool(env.get("DORSET_TLS_CERT")) and bool(env.get("DORSET_TLS_KEY"))
        if target == "base":
            # The base chooses neither on purpose, so the server refuses to start until an overlay decides.
            c.expect(not plaintext and not tls, f"{where}: base leaves TLS/plaintext to the overlay (fails closed)")
        else:
            c.expect(plaintext != tls, f"{where}: exactly one of TLS (cert+key) or DORSET_PLAINTEXT=true")
        for key in ("DORSET_TLS_CERT", "DORSET_TLS_KEY", "DORSET_TLS_CLIENT_CA", "DORSET_TOKENS_FILE",
                    "DORSET_REGISTRY_TLS_CA", "DORSET_SERVICE_TOKEN_FILE", "DORSET_DATABASE_PASSWORD_FILE",
                    "DORSET_PAGE_TOKEN_KEY_FILE"):
            if env.get(key):
                c.expect(under_secret_mount(env[key]), f"{where}: {key} {env[key]} is in a mounted Secret")
        if tls:
            # The kubelet cannot probe a TLS gRPC port.
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                c.expect("grpc" not in (ct.get(probe) or {}), f"{where}: {probe} not gRPC while the port is TLS")
        auth = env.get("DORSET_AUTH", "tokens")
        if auth == "tokens":
            c.expect(bool(env.get("DORSET_TOKENS_FILE") or env.get("DORSET_TLS_CLIENT_CA")),
                     f"{where}: auth=tokens has a tokens file or mutual TLS")
        c.expect(port_of(env.get("DORSET_REDIS")) is not None and
                 (env["DORSET_REDIS"].split(":")[0], port_of(env["DORSET_REDIS"])) in svc_port,
                 f"{where}: DORSET_REDIS {env.get('DORSET_REDIS')} is a rendered Service port")
        envs[svc] = env
        if svc != "registry":
            target_addr = env.get("DORSET_REGISTRY_TARGET", "")
            c.expect((target_addr.split(":")[0], port_of(target_addr)) == ("dorset-registry", 50051)
                     and ("dorset-registry", 50051) in svc_port,
                     f"{where}: DORSET_REGISTRY_TARGET {target_addr!r} is the registry Service's gRPC port")

        labels = pod_labels(st)
        services = [s for s in k8s_services if selects(s["spec"].get("selector"), labels)]
        if c.expect(len(services) >= 1, f"{where}: a Service selects the pod"):
            for s in services:
                for p in s["spec"]["ports"]:
                    tp = p.get("targetPort", p["port"])
                    resolved = ports.get(tp) if isinstance(tp, str) else tp
                    c.expect(resolved in (grpc_port, ops_port),
                             f"{where}: Service {s['metadata']['name']} port {p['port']} targets a container port")
        c.expect(any(selects(p["spec"].get("selector"), labels) for p in pdbs),
                 f"{where}: a PodDisruptionBudget selects the pod")

    # Finance and engagement call the registry the way the registry serves: TLS (verify it with
    # DORSET_REGISTRY_TLS_CA) or plaintext, and with their own bearer token when it checks tokens.
    registry = envs.get("registry")
    for svc in ("finance", "engagement"):
        if registry is None or svc not in envs:
            continue
        caller = envs[svc]
        registry_tls = bool(registry.get("DORSET_TLS_CERT"))
        c.expect(bool(caller.get("DORSET_REGISTRY_TLS_CA")) == registry_tls,
                 f"{target} {svc}: DORSET_REGISTRY_TLS_CA set exactly when the registry serves TLS")
        if registry.get("DORSET_AUTH", "tokens") == "tokens":
            c.expect(bool(caller.get("DORSET_SERVICE_TOKEN_FILE")),
                     f"{target} {svc}: has DORSET_SERVICE_TOKEN_FILE for the registry's token check")

    check_gateway(c, target, docs, replicated)

    if target not in PROD_TARGETS:
        c.expect(seen_health == {w["health"] for w in SERVICES.values()},
                 f"{target}: readiness probes ask for all three health names (got {sorted(seen_health)})")

    redis = [d for d in by_kind.get("StatefulSet", []) if d["metadata"]["name"] == "dorset-redis"]
    if c.expect(len(redis) == 1, f"{target}: Redis StatefulSet rendered"):
        rc = pod_spec(redis[0])["containers"][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            cmd = " ".join(((rc.get(probe) or {}).get("exec") or {}).get("command", []))
            c.expect("redis-cli" in cmd and "ping" in cmd, f"{target} redis {probe}: redis-cli ping")


# Redis ACL (issue 10 item 18): no Redis without an ACL, one user per service, a read-only shared-care reader.
REDIS_READ_COMMANDS = {"get", "mget", "exists", "ttl", "pttl", "type", "strlen", "subscribe", "unsubscribe", "ping"}
# The shared rate limit (one EVAL of a sliding-window script over the service's own keys: TIME, then a sorted set
# of the admitted calls' times; runtime/cache/redis_cache.cc).
REDIS_COUNT_COMMANDS = {"eval", "time", "zremrangebyscore", "zcard", "zadd", "zrange", "pexpire"}
REDIS_PRIVATE_SAMPLES = {svc: f"dorset:v1:{svc}:private:stakeholder:1" for svc in SERVICES}
REDIS_PUBLIC_SAMPLE = "dorset:v1:registry:practice:J81016"


def parse_redis_acl(text: str) -> dict[str, list[str]]:
    """users.acl -> {user: [rules]} (one `user <name> <rules...>` line each)."""
    users: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "user" and len(parts) >= 2:
            users[parts[1]] = parts[2:]
    return users


def acl_patterns(rules: list[str]) -> tuple[list[str], list[str]]:
    """(read-write key patterns, read-only key patterns) of one user's rules."""
    rw = [r[1:] for r in rules if r.startswith("~")] + (["*"] if "allkeys" in rules else [])
    ro = [r[3:] for r in rules if r.startswith("%R~")]
    rw += [r[4:] for r in rules if r.startswith("%RW~")]
    return rw, ro


def acl_commands(rules: list[str]) -> set[str] | None:
    """The commands a user may run when its rules start from -@all (None: not restricted that way)."""
    if "-@all" not in rules or any(r.startswith("+@") or r in ("allcommands", "+@all") for r in rules):
        return None
    return {r[1:].lower() for r in rules if r.startswith("+")}


def secret_text(docs: list[dict], prefix: str, key: str) -> str | None:
    import base64
    for d in docs:
        if d["kind"] == "Secret" and d["metadata"]["name"].startswith(prefix):
            data = d.get("data") or {}
            if key in data:
                return base64.b64decode(data[key]).decode()
            if key in (d.get("stringData") or {}):
                return d["stringData"][key]
    return None


def check_redis_acl_rules(c: Checker, where: str, users: dict[str, list[str]],
                          passwords: dict[str, str] | None) -> None:
    import fnmatch
    import hashlib
    default = users.get("default")
    if c.expect(default is not None, f"{where}: the ACL defines the default user"):
        rw, ro = acl_patterns(default)
        c.expect(("off" in default) or (not rw and not ro and acl_commands(default) <= {"ping"}),
                 f"{where}: the default user is off or may only PING (rules {default})")
    for name, rules in users.items():
        c.expect(not any(r.startswith(">") for r in rules), f"{where}: user {name} has no plain-text password")
        if name != "default":
            c.expect("nopass" not in rules and any(r.startswith("#") for r in rules),
                     f"{where}: user {name} needs a password (SHA-256 hash)")
        rw, ro = acl_patterns(rules)
        for svc, key in REDIS_PRIVATE_SAMPLES.items():
            # No key may hold personal data (docs/cache-keys.md, policy rule 1), so no user, not even the service's
            # own, may reach a private key. Our services may read all of the registry's keys (the registry has no
            # private ones, and they may call its API anyway); other tools may not.
            if svc == "registry" and name.startswith("dorset-"):
                continue
            c.expect(not any(fnmatch.fnmatchcase(key, p) for p in rw + ro),
                     f"{where}: user {name} cannot touch {svc}'s private keys ({key})")
    for svc in SERVICES:
        user = f"dorset-{svc}"
        rules = users.get(user)
        if not c.expect(rules is not None, f"{where}: Redis user {user} defined"):
            continue
        rw, ro = acl_patterns(rules)
        c.expect("on" in rules, f"{where}: {user} enabled")
        # Every service counts its callers' rate limits across replicas under its own
        # dorset:v1:ratelimit:<svc>: (principal digests and counts only; runtime/server/call_gate.h).
        rate_prefix = f"dorset:v1:ratelimit:{svc}:"
        cached_rw = [p for p in rw if not p.startswith(rate_prefix)]
        if svc == "registry":
            c.expect(all(p.startswith("dorset:v1:registry:") for p in cached_rw) and cached_rw,
                     f"{where}: {user} writes only its own prefixes dorset:v1:registry: and {rate_prefix} ({rw})")
        else:
            # Only the registry writes cached values: personal data never reaches Redis (docs/cache-keys.md, policy
            # rule 1); the others write only their rate-limit counters.
            commands = acl_commands(rules)
            c.expect(not cached_rw and commands is not None and commands <= REDIS_READ_COMMANDS | REDIS_COUNT_COMMANDS,
                     f"{where}: {user} reads only and writes no key but its rate-limit counters ({rw} {commands})")
        c.expect(any(fnmatch.fnmatchcase(REDIS_PUBLIC_SAMPLE, p) for p in rw + ro),
                 f"{where}: {user} reads the registry's public keys")
        if passwords and svc in passwords:
            digest = hashlib.sha256(passwords[svc].encode()).hexdigest()
            c.expect(f"#{digest}" in rules, f"{where}: {user}'s hash matches its password Secret")
    reader = users.get("shared-care-reader")
    if c.expect(reader is not None, f"{where}: Redis user shared-care-reader defined"):
        rw, ro = acl_patterns(reader)
        c.expect(not rw and any(fnmatch.fnmatchcase(REDIS_PUBLIC_SAMPLE, p) for p in ro),
                 f"{where}: shared-care-reader reads public keys only, read-only ({rw} {ro})")
        commands = acl_commands(reader)
        c.expect(commands is not None and commands <= REDIS_READ_COMMANDS,
                 f"{where}: shared-care-reader runs read commands only, no KEYS/SCAN ({commands})")


def check_redis(c: Checker, target: str, docs: list[dict]) -> None:
    redis = [d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "dorset-redis"]
    if not redis:
        return
    spec = pod_spec(redis[0])
    rc = spec["containers"][0]
    cmd = list(rc.get("command", [])) + list(rc.get("args", []))
    c.expect("--requirepass" not in cmd, f"{target} redis: no password on the command line")
    acl_path = cmd[cmd.index("--aclfile") + 1] if "--aclfile" in cmd[:-1] else None
    if c.expect(acl_path is not None, f"{target} redis: started with --aclfile (protected-mode no needs an ACL)"):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = [m for m in rc.get("volumeMounts", []) if acl_path.startswith(m["mountPath"].rstrip("/") + "/")]
        secret = (volumes.get(mounts[0]["name"], {}).get("secret") or {}) if mounts else {}
        c.expect(bool(secret.get("secretName", "").startswith("dorset-redis-acl")),
                 f"{target} redis: the ACL file comes from the Secret dorset-redis-acl")
    by_cm = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    sts = {d["metadata"]["name"]: d for d in docs if d["kind"] in ("StatefulSet", "Deployment")}
    passwords: dict[str, str] = {}
    for svc in SERVICES:
        data = by_cm.get(f"dorset-{svc}-config", {})
        where = f"{target} {svc}"
        c.expect(data.get("DORSET_REDIS_USER") == f"dorset-{svc}", f"{where}: DORSET_REDIS_USER is dorset-{svc}")
        path = data.get("DORSET_REDIS_PASSWORD_FILE")
        if not c.expect(bool(path), f"{where}: DORSET_REDIS_PASSWORD_FILE set"):
            continue
        if f"dorset-{svc}" not in sts:
            continue
        spec = pod_spec(sts[f"dorset-{svc}"])
        container = spec["containers"][0]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = [m for m in container.get("volumeMounts", [])
                  if path.startswith(m["mountPath"].rstrip("/") + "/") and m.get("readOnly")]
        secret = (volumes.get(mounts[0]["name"], {}).get("secret") or {}) if mounts else {}
        c.expect(secret.get("secretName", "").startswith(f"dorset-{svc}-redis"),
                 f"{where}: the Redis password file is mounted read-only from the Secret dorset-{svc}-redis")
        password = secret_text(docs, f"dorset-{svc}-redis", os.path.basename(path))
        if password is not None:
            passwords[svc] = password.rstrip("\r\n")
    acl = secret_text(docs, "dorset-redis-acl", os.path.basename(acl_path or "users.acl"))
    if acl is not None:  # the dev overlay generates it; prod creates it out of band
        check_redis_acl_rules(c, f"{target} redis ACL", parse_redis_acl(acl), passwords)


def check_prod(c: Checker, target: str, docs: list[dict]) -> None:
    for d in docs:
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("dorset-"):
            data = d.get("data", {})
            name = f"{target} ConfigMap/{d['metadata']['name']}"
            c.expect(data.get("DORSET_PLAINTEXT", "false") == "false", f"{name}: not plaintext")
            c.expect(data.get("DORSET_AUTH", "tokens") == "tokens", f"{name}: auth=tokens")
            c.expect(bool(data.get("DORSET_TLS_CERT")) and bool(data.get("DORSET_TLS_KEY")), f"{name}: TLS")
    check_network_policies(c, target, docs)


def check_network_policies(c: Checker, target: str, docs: list[dict]) -> None:
    nps = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deny = [n for n in nps if n["spec"].get("podSelector") == {} and
            set(n["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} and
            not n["spec"].get("ingress") and not n["spec"].get("egress")]
    c.expect(len(deny) == 1, f"{target}: a default-deny NetworkPolicy (ingress and egress)")

    def pod(name: str) -> dict:
        return {"app.kubernetes.io/name": name}

    def ingress_from(callee: str, port: int) -> list[dict]:
        peers = []
        for n in nps:
            if "Ingress" not in n["spec"].get("policyTypes", []) or not selects(n["spec"]["podSelector"], pod(callee)):
                continue
            for rule in n["spec"].get("ingress", []):
                if any(p.get("port") == port for p in rule.get("ports", [])):
                    peers.extend(rule.get("from", []))
        return peers

    def pod_allowed(peers: list[dict], caller: str) -> bool:
        return any("namespaceSelector" not in p and selects(p.get("podSelector"), pod(caller)) for p in peers)

    def ns_allowed(peers: list[dict], label: str) -> bool:
        return any(label in ((p.get("namespaceSelector") or {}).get("matchLabels") or {}) for p in peers)

    def egress_to(caller: str, callee: str, port: int) -> bool:
        for n in nps:
            if "Egress" not in n["spec"].get("policyTypes", []) or not selects(n["spec"]["podSelector"], pod(caller)):
                continue
            for rule in n["spec"].get("egress", []):
                if any(p.get("port") == port for p in rule.get("ports", [])) and \
                        any(selects(t.get("podSelector"), pod(callee)) for t in rule.get("to", [])):
                    return True
        return False

    reg = ingress_from("dorset-registry", 50051)
    for caller in ("dorset-finance", "dorset-engagement"):
        c.expect(pod_allowed(reg, caller), f"{target}: {caller} may call the registry")
        c.expect(egress_to(caller, "dorset-registry", 50051), f"{target}: {caller} egress to the registry")
    c.expect(not pod_allowed(reg, "dorset-redis"), f"{target}: redis may not call the registry")
    for svc, want in SERVICES.items():
        peers = ingress_from(f"dorset-{svc}", want["grpc"])
        c.expect(ns_allowed(peers, "dorset.digital/ingress"), f"{target}: ingress namespace may call {svc}")
        c.expect(egress_to(f"dorset-{svc}", "dorset-redis", 6379), f"{target}: {svc} egress to redis")
        c.expect(pod_allowed(ingress_from("dorset-redis", 6379), f"dorset-{svc}"),
                 f"{target}: redis accepts {svc}")
    # The HTTP/JSON gateway reaches every service's gRPC port, and is reached on its own port (8090).
    for svc, want in SERVICES.items():
        c.expect(pod_allowed(ingress_from(f"dorset-{svc}", want["grpc"]), "dorset-gateway"),
                 f"{target}: the gateway may call {svc}")
        c.expect(egress_to("dorset-gateway", f"dorset-{svc}", want["grpc"]), f"{target}: gateway egress to {svc}")
    c.expect(ns_allowed(ingress_from("dorset-gateway", 8090), "dorset.digital/ingress"),
             f"{target}: the ingress namespace may reach the gateway")
    for svc in ("finance", "engagement"):
        c.expect(not pod_allowed(ingress_from(f"dorset-{svc}", SERVICES[svc]["grpc"]), "dorset-registry"),
                 f"{target}: the registry may not call {svc}")
    # PostgreSQL (components/postgres): the three services only, each egress and the server's ingress.
    pg = ingress_from("dorset-postgres", 5432)
    for svc in SERVICES:
        c.expect(pod_allowed(pg, f"dorset-{svc}"), f"{target}: postgres accepts {svc}")
        c.expect(egress_to(f"dorset-{svc}", "dorset-postgres", 5432), f"{target}: {svc} egress to postgres")
    for other in ("dorset-gateway", "dorset-redis"):
        c.expect(not pod_allowed(pg, other) and not egress_to(other, "dorset-postgres", 5432),
                 f"{target}: {other} may not reach postgres")
    c.expect(not ns_allowed(pg, "dorset.digital/ingress"), f"{target}: the ingress namespace may not reach postgres")
    dns = any(not n["spec"]["podSelector"] and any(
        any(p.get("port") == 53 and p.get("protocol") == "UDP" for p in r.get("ports", []))
        for r in n["spec"].get("egress", [])) for n in nps)
    c.expect(dns, f"{target}: every pod may reach DNS (UDP 53)")


def check_rules(c: Checker, path: str) -> None:
    if not c.expect(os.path.exists(path), f"{path} exists"):
        return
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    groups = doc.get("groups") or (doc.get("spec") or {}).get("groups") or []
    rules = [r for g in groups for r in g.get("rules", [])]
    alerts = {r["alert"]: r for r in rules if "alert" in r}
    for name, metric in REQUIRED_ALERTS.items():
        if c.expect(name in alerts, f"prometheus-rules: alert {name}"):
            c.expect(re.search(rf"\b{re.escape(metric)}\b", alerts[name]["expr"]) is not None,
                     f"prometheus-rules: {name} uses {metric}")
    for name, r in alerts.items():
        c.expect(r.get("labels", {}).get("severity") in ("critical", "warning", "info"),
                 f"prometheus-rules: {name} has a severity")
        c.expect(bool(r.get("annotations", {}).get("summary")), f"prometheus-rules: {name} has a summary")
        c.expect(bool(r.get("annotations", {}).get("runbook")), f"prometheus-rules: {name} points to a runbook")
        c.expect(isinstance(r.get("expr"), str) and r["expr"].count("(") == r["expr"].count(")"),
                 f"prometheus-rules: {name} expression parentheses balance")


def check_rules_with_promtool(c: Checker, deploy_dir: str) -> None:
    """promtool (from Debian's prometheus package) parses the PromQL and runs prometheus-rules.test.yaml.
    Optional: skipped with a note when promtool is not on PATH (or in DORSET_PROMTOOL)."""
    promtool = os.environ.get("DORSET_PROMTOOL") or shutil.which("promtool")
    if not promtool:
        print("note: promtool not found; PromQL not parsed (apt-get download prometheus; dpkg-deb -x ...)")
        return
    for args in (["check", "rules", "prometheus-rules.yaml"], ["test", "rules", "prometheus-rules.test.yaml"]):
        out = subprocess.run([promtool, *args], cwd=deploy_dir, capture_output=True, text=True, check=False)
        if not c.expect(out.returncode == 0, f"promtool {' '.join(args)}"):
            print(out.stdout + out.stderr)


def load_yaml(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def read_env_file(path: str) -> dict[str, str]:
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key] = value
    return env


def check_compose(c: Checker, compose_dir: str, dev: list[dict]) -> None:
    """The compose stack runs the services the way the dev overlay does."""
    path = os.path.join(compose_dir, "compose.yaml")
    if not c.expect(os.path.exists(path), f"{path} exists"):
        return
    with open(path, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in dev if d["kind"] == "ConfigMap"}
    dev_sts = {d["metadata"]["name"]: d for d in dev if d["kind"] == "StatefulSet"}
    for svc, want in SERVICES.items():
        where = f"compose dorset-{svc}"
        s = services.get(f"dorset-{svc}")
        if not c.expect(s is not None, f"{where}: service defined"):
            continue
        env: dict[str, str] = {}
        for f in s.get("env_file", []):
            env.update(read_env_file(os.path.join(compose_dir, f)))
        cm = configmaps.get(f"dorset-{svc}-config", {})
        c.expect(env == cm, f"{where}: env files equal the dev ConfigMap "
                 f"(only in compose: {sorted(set(env.items()) - set(cm.items()))}, "
                 f"only in ConfigMap: {sorted(set(cm.items()) - set(env.items()))})")
        c.expect(s.get("command") == [f"dorset-{svc}"], f"{where}: command dorset-{svc}")
        c.expect(str(s.get("user", "")).split(":")[0] == str(DORSET_UID), f"{where}: user {DORSET_UID}")
        c.expect(s.get("read_only") is True, f"{where}: read-only root filesystem")
        c.expect("ALL" in s.get("cap_drop", []), f"{where}: cap_drop ALL")
        c.expect(any("no-new-privileges" in o for o in s.get("security_opt", [])), f"{where}: no-new-privileges")
        c.expect(bool(s.get("mem_limit")) and bool(s.get("cpus")), f"{where}: memory and CPU limits")
        vols = s.get("volumes", [])
        c.expect(any(v.split(":")[1] == env.get("DORSET_DATA_DIR") and not v.startswith((".", "/")) for v in vols),
                 f"{where}: named volume at DORSET_DATA_DIR")
        for key in ("DORSET_TOKENS_FILE", "DORSET_SERVICE_TOKEN_FILE", "DORSET_REDIS_PASSWORD_FILE"):
            if env.get(key):
                c.expect(any(v.split(":")[1] == env[key] and v.endswith(":ro") and
                             os.path.exists(os.path.join(compose_dir, v.split(":")[0])) for v in vols),
                         f"{where}: {key} {env[key]} is an existing file mounted read-only")
        published = {int(p.rsplit(":", 1)[1]) for p in s.get("ports", [])}
        c.expect(published == {want["grpc"], want["ops"]}, f"{where}: publishes gRPC and ops ports")
        hc = " ".join(s.get("healthcheck", {}).get("test", []))
        c.expect(f"/{want['ops']}" in hc and "/readyz" in hc, f"{where}: healthcheck asks /readyz on the ops port")
        grace = s.get("stop_grace_period", "10s")
        sts = dev_sts.get(f"dorset-{svc}")
        if sts:
            c.expect(int(str(grace).rstrip("s")) == pod_spec(sts).get("terminationGracePeriodSeconds"),
                     f"{where}: stop_grace_period equals terminationGracePeriodSeconds")
            k8s_image = pod_spec(sts)["containers"][0]["image"].rsplit(":", 1)[1]
            c.expect(str(s.get("image", "")).rstrip("}").endswith(k8s_image),
                     f"{where}: default image tag is the dev overlay's ({k8s_image})")
    # The gateway: the dev ConfigMap's settings, its command, its one port, /readyz as its healthcheck.
    g = services.get("dorset-gateway")
    if c.expect(g is not None, "compose dorset-gateway: service defined"):
        env = {}
        for f in g.get("env_file", []):
            env.update(read_env_file(os.path.join(compose_dir, f)))
        cm = configmaps.get("dorset-gateway-config", {})
        c.expect(env == cm, f"compose dorset-gateway: env files equal the dev ConfigMap ({sorted(set(env.items()) ^ set(cm.items()))})")
        c.expect(g.get("command") == ["dorset-gateway"], "compose dorset-gateway: command dorset-gateway")
        c.expect(g.get("read_only") is True and "ALL" in g.get("cap_drop", []), "compose dorset-gateway: hardened")
        hc = " ".join(g.get("healthcheck", {}).get("test", []))
        c.expect("/8090" in hc and "/readyz" in hc, "compose dorset-gateway: healthcheck asks /readyz")
    r = services.get("dorset-redis", {})
    c.expect("redis-cli" in " ".join(r.get("healthcheck", {}).get("test", [])), "compose redis: healthcheck ping")
    rcmd = r.get("command", [])
    acl = rcmd[rcmd.index("--aclfile") + 1] if "--aclfile" in rcmd[:-1] else None
    if c.expect(acl is not None, "compose redis: started with --aclfile"):
        sources = [v.split(":")[0] for v in r.get("volumes", []) if v.split(":")[1] == acl and v.endswith(":ro")]
        c.expect(len(sources) == 1 and os.path.exists(os.path.join(compose_dir, sources[0])),
                 "compose redis: the ACL file is an existing file mounted read-only")
        if sources:
            with open(os.path.join(compose_dir, sources[0])) as f:
                text = f.read()
            pw = {}
            for svc in SERVICES:
                for v in services.get(f"dorset-{svc}", {}).get("volumes", []):
                    if v.endswith("/etc/dorset/redis/password:ro"):
                        with open(os.path.join(compose_dir, v.split(":")[0])) as f:
                            pw[svc] = f.read().rstrip("\r\n")
            check_redis_acl_rules(c, "compose redis ACL", parse_redis_acl(text), pw)
    c.expect(r.get("read_only") is True and "ALL" in r.get("cap_drop", []), "compose redis: hardened")


def check_all(c: Checker, rendered: dict[str, list[dict]], deploy_dir: str | None) -> None:
    for target, docs in rendered.items():
        check_workloads(c, target, docs)
        check_services(c, target, docs)
        check_redis(c, target, docs)
        check_database.check_k8s(c, target, docs, require_postgres=(target == "overlays/postgres"))
        if target in PROD_TARGETS:
            check_prod(c, target, docs)
    if deploy_dir:
        check_rules(c, os.path.join(deploy_dir, "prometheus-rules.yaml"))
        check_rules_with_promtool(c, deploy_dir)
        if "overlays/dev" in rendered:
            check_compose(c, os.path.join(deploy_dir, "compose"), rendered["overlays/dev"])
        check_database.check_compose(c, os.path.join(deploy_dir, "compose"), rendered.get("overlays/postgres"),
                                     load_yaml, read_env_file)


def self_test(dev: list[dict]) -> list[str]:
    """Breaks copies of the dev objects; every break must be caught. Returns the breaks that were not."""

    def sts(docs, name):
        return next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == name)

    def container(docs, name):
        return pod_spec(sts(docs, f"dorset-{name}"))["containers"][0]

    def cm(docs, name):
        return next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == f"dorset-{name}-config")

    def edit_acl(docs, change):
        import base64
        secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].startswith("dorset-redis-acl"))
        text = base64.b64decode(secret["data"]["users.acl"]).decode()
        secret["data"]["users.acl"] = base64.b64encode(change(text).encode()).decode()

    breaks = {
        "liveness probe removed": lambda d: container(d, "finance").pop("livenessProbe"),
        "redis startup probe removed": lambda d: pod_spec(sts(d, "dorset-redis"))["containers"][0].pop("startupProbe"),
        "memory limit removed": lambda d: container(d, "registry")["resources"]["limits"].pop("memory"),
        "runs as root": lambda d: container(d, "engagement")["securityContext"].update(runAsUser=0),
        "writable root fs": lambda d: container(d, "registry")["securityContext"].update(readOnlyRootFilesystem=False),
        "capabilities kept": lambda d: container(d, "finance")["securityContext"].pop("capabilities"),
        "image :latest": lambda d: container(d, "finance").update(image="dorset-digital:latest"),
        "image untagged": lambda d: container(d, "finance").update(image="registry.example.com/dorset/dorset-digital"),
        "readiness on wrong health name": lambda d: container(d, "engagement")["readinessProbe"]["grpc"].update(
            service="dorset.finance.v1.FinanceService"),
        "liveness on the service name": lambda d: container(d, "registry")["livenessProbe"]["grpc"].update(
            service="dorset.registry.v1.RegistryService"),
        "probe port off": lambda d: container(d, "finance")["readinessProbe"]["grpc"].update(port=50051),
        "ConfigMap port off": lambda d: cm(d, "engagement")["data"].update(DORSET_GRPC_LISTEN="0.0.0.0:50059"),
        "ops port off": lambda d: cm(d, "registry")["data"].update(DORSET_OPS_LISTEN="0.0.0.0:9090"),
        "two replicas": lambda d: sts(d, "dorset-finance")["spec"].update(replicas=2),
        "short grace period": lambda d: pod_spec(sts(d, "dorset-registry")).update(terminationGracePeriodSeconds=5),
        "neither TLS nor plaintext": lambda d: cm(d, "finance")["data"].pop("DORSET_PLAINTEXT"),
        "PDB gone": lambda d: d.remove(next(x for x in d if x["kind"] == "PodDisruptionBudget")),
        "registry target wrong": lambda d: cm(d, "engagement")["data"].update(DORSET_REGISTRY_TARGET="registry:1"),
        "service token not mounted": lambda d: container(d, "finance").update(volumeMounts=[
            m for m in container(d, "finance")["volumeMounts"] if m["name"] != "service-token"]),
        "TLS to a plaintext registry": lambda d: cm(d, "finance")["data"].update(
            DORSET_REGISTRY_TLS_CA="/etc/dorset/service-token/token"),
        "redis without ACL": lambda d: pod_spec(sts(d, "dorset-redis"))["containers"][0].update(command=[
            a for a in pod_spec(sts(d, "dorset-redis"))["containers"][0]["command"]
            if a not in ("--aclfile", "/etc/redis/acl/users.acl")]),
        "service without redis user": lambda d: cm(d, "engagement")["data"].pop("DORSET_REDIS_USER"),
        "redis password not mounted": lambda d: container(d, "registry").update(volumeMounts=[
            m for m in container(d, "registry")["volumeMounts"] if m["name"] != "redis-password"]),
        "reader may read private keys": lambda d: edit_acl(d, lambda t: t.replace(
            "shared-care-reader on", "shared-care-reader on %R~dorset:v1:*")),
        "reader may write": lambda d: edit_acl(d, lambda t: t.replace(
            "shared-care-reader on", "shared-care-reader on ~dorset:v1:registry:*")),
        "default user reads keys": lambda d: edit_acl(d, lambda t: t.replace(
            "user default on nopass", "user default on nopass ~* +get")),
        "finance reads engagement's private keys": lambda d: edit_acl(d, lambda t: t.replace(
            "user dorset-finance on", "user dorset-finance on %R~dorset:v1:engagement:*")),
        "engagement may cache personal data": lambda d: edit_acl(d, lambda t: t.replace(
            "user dorset-engagement on", "user dorset-engagement on ~dorset:v1:engagement:private:* +set")),
        "finance may write": lambda d: edit_acl(d, lambda t: t.replace(
            "user dorset-finance on", "user dorset-finance on ~dorset:v1:finance:* +set +del")),
        "password hash mismatch": lambda d: edit_acl(d, lambda t: t.replace("user dorset-registry on #",
                                                                           "user dorset-registry on #0")),
    }
    # SQLite stays a single-replica StatefulSet with its volume.
    breaks["SQLite service as a Deployment"] = lambda d: sts(d, "dorset-registry").update(kind="Deployment")
    breaks["SQLite data volume removed"] = lambda d: sts(d, "dorset-engagement")["spec"].pop("volumeClaimTemplates")
    breaks["gateway rollout may drop a replica"] = lambda d: next(
        x for x in d if x["kind"] == "Deployment" and x["metadata"]["name"] == "dorset-gateway")["spec"][
        "strategy"]["rollingUpdate"].update(maxUnavailable=1)
    breaks["gateway not spread"] = lambda d: pod_spec(next(
        x for x in d if x["kind"] == "Deployment" and x["metadata"]["name"] == "dorset-gateway")).pop(
        "topologySpreadConstraints")
    missed = []
    for what, mutate in breaks.items():
        docs = copy.deepcopy(dev)
        mutate(docs)
        probe = Checker(quiet=True)
        check_workloads(probe, "self-test", docs)
        check_services(probe, "self-test", docs)
        check_redis(probe, "self-test", docs)
        if not probe.failures:
            missed.append(what)
    return missed


def self_test_replicated(docs_in: list[dict]) -> list[str]:
    """Breaks copies of a rendered replicas variant (components/replicas); every break must be caught."""

    def dep(d, name):
        return next(x for x in d if x["kind"] == "Deployment" and x["metadata"]["name"] == name)

    def ct(d, svc):
        return pod_spec(dep(d, f"dorset-{svc}"))["containers"][0]

    def cm(d, svc):
        return next(x for x in d if x["kind"] == "ConfigMap" and x["metadata"]["name"] == f"dorset-{svc}-config")

    def hpa(d, name):
        return next(x for x in d if x["kind"] == "HorizontalPodAutoscaler" and x["metadata"]["name"] == name)

    def pdb(d, name):
        return next(x for x in d if x["kind"] == "PodDisruptionBudget" and x["metadata"]["name"] == name)

    def unmount(d, svc, volume):
        ct(d, svc)["volumeMounts"] = [m for m in ct(d, svc)["volumeMounts"] if m["name"] != volume]

    breaks = {
        "one replica": lambda d: dep(d, "dorset-registry")["spec"].update(replicas=1),
        "rollout may drop a replica": lambda d: dep(d, "dorset-finance")["spec"]["strategy"]["rollingUpdate"].update(
            maxUnavailable=1),
        "no rolling strategy": lambda d: dep(d, "dorset-engagement")["spec"].pop("strategy"),
        "not spread over nodes": lambda d: pod_spec(dep(d, "dorset-registry")).pop("topologySpreadConstraints"),
        "spread over zones only": lambda d: pod_spec(dep(d, "dorset-finance")).update(topologySpreadConstraints=[
            t for t in pod_spec(dep(d, "dorset-finance"))["topologySpreadConstraints"]
            if t["topologyKey"] != "kubernetes.io/hostname"]),
        "spread selects other pods": lambda d: pod_spec(dep(d, "dorset-engagement"))["topologySpreadConstraints"][0][
            "labelSelector"]["matchLabels"].update({"app.kubernetes.io/name": "dorset-registry"}),
        "PDB gone": lambda d: d.remove(pdb(d, "dorset-finance")),
        "PDB blocks every eviction": lambda d: pdb(d, "dorset-registry")["spec"].update(
            maxUnavailable=None, minAvailable=3),
        "HPA gone": lambda d: d.remove(hpa(d, "dorset-engagement")),
        "HPA scales another Deployment": lambda d: hpa(d, "dorset-registry")["spec"]["scaleTargetRef"].update(
            name="dorset-finance"),
        "HPA not on CPU": lambda d: hpa(d, "dorset-finance")["spec"].update(metrics=[]),
        "HPA may scale to one": lambda d: hpa(d, "dorset-registry")["spec"].update(minReplicas=1),
        "gateway HPA gone": lambda d: d.remove(hpa(d, "dorset-gateway")),
        "no CPU request": lambda d: ct(d, "finance")["resources"]["requests"].pop("cpu"),
        "page-token key not mounted": lambda d: unmount(d, "registry", "page-token"),
        "page-token key setting missing": lambda d: cm(d, "finance")["data"].pop("DORSET_PAGE_TOKEN_KEY_FILE"),
        "page-token key of another service": lambda d: next(
            v for v in pod_spec(dep(d, "dorset-engagement"))["volumes"] if v["name"] == "page-token")["secret"].update(
            secretName="dorset-registry-page-token"),
        "database password not mounted": lambda d: unmount(d, "engagement", "database-password"),
        "data on a shared claim": lambda d: next(v for v in pod_spec(dep(d, "dorset-finance"))["volumes"]
                                                 if v["name"] == "data").update(
            emptyDir=None, persistentVolumeClaim={"claimName": "shared"}),
        "replicas over SQLite": lambda d: cm(d, "registry")["data"].pop("DORSET_DATABASE"),
        "still a StatefulSet": lambda d: dep(d, "dorset-finance").update(kind="StatefulSet"),
        "readiness on the liveness name": lambda d: (ct(d, "engagement")["readinessProbe"].get("grpc") or
                                                     ct(d, "engagement")["readinessProbe"]["httpGet"]).update(
            service="", path="/livez"),
        "liveness probe removed": lambda d: ct(d, "registry").pop("livenessProbe"),
        "readiness probe removed": lambda d: ct(d, "finance").pop("readinessProbe"),
    }
    missed = []
    for what, mutate in breaks.items():
        docs = copy.deepcopy(docs_in)
        mutate(docs)
        probe = Checker(quiet=True)
        check_workloads(probe, "self-test", docs)
        check_services(probe, "self-test", docs, replicated=True)
        check_redis(probe, "self-test", docs)
        check_database.check_k8s(probe, "self-test", docs, require_postgres=True)
        if not probe.failures:
            missed.append(what)
    return missed


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    deploy_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(here, "..", "..", "deploy"))
    if shutil.which("kubectl") is None:
        print("SKIP: kubectl missing (needed for `kubectl kustomize`)")
        return SKIP
    c = Checker()
    rendered: dict[str, list[dict]] = {}
    for target in TARGETS:
        try:
            rendered[target] = render(deploy_dir, target)
            c.expect(True, f"{target} renders")
        except RuntimeError as e:
            c.expect(False, str(e))
    check_all(c, rendered, deploy_dir)
    if "overlays/dev" in rendered:
        missed = self_test(rendered["overlays/dev"])
        c.expect(not missed, f"self-test: every deliberate break is caught (missed: {missed})")
    if "overlays/postgres" in rendered:
        missed = check_database.self_test_k8s(rendered["overlays/postgres"], Checker)
        c.expect(not missed, f"self-test (postgres): every deliberate break is caught (missed: {missed})")
    for target in sorted(REPLICATED_TARGETS & set(rendered)):
        missed = self_test_replicated(rendered[target])
        c.expect(not missed, f"self-test ({target}, replicas): every deliberate break is caught (missed: {missed})")
    if "overlays/prod-postgres" in rendered:
        missed = check_database.self_test_cnpg(rendered["overlays/prod-postgres"], Checker)
        c.expect(not missed, f"self-test (CloudNativePG): every deliberate break is caught (missed: {missed})")
    for target, docs in rendered.items():
        kinds: dict[str, int] = {}
        for d in docs:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        print(f"rendered {target}: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    print(f"{c.passed} passed, {len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
