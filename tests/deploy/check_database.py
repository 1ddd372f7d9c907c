"""The database settings of the rendered deploy/ targets and of compose's postgres variant (issue 12 item 6).

Used by check_manifests.py. For every target: no password in a ConfigMap or in a plain env value (only *_FILE
settings naming a file in a mounted Secret, or valueFrom a Secret). Where a service has DORSET_DATABASE (the
postgres variant: components/postgres, overlays/postgres, compose.postgres.yaml): a libpq URI without a password,
role dorset_<service> on database dorset_<service> (one each, none shared), a host:port that is the rendered
PostgreSQL Service, DORSET_DATABASE_PASSWORD_FILE in the service's own Secret dorset-<service>-database; the
PostgreSQL server reads its superuser's password from a file and mounts exactly those service Secrets.
"""
from __future__ import annotations

import copy
import os
import re
from urllib.parse import parse_qs, urlsplit

SERVICES = ("registry", "finance", "engagement")


def _spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def _base_name(name: str) -> str:
    """A generated Secret's name without kustomize's hash suffix."""
    return re.sub(r"-[a-z0-9]{10}$", "", name)


def _secret_mounts(container: dict, spec: dict) -> dict[str, str]:
    """mountPath -> Secret name (hash suffix removed) of the container's Secret volumes."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    out = {}
    for m in container.get("volumeMounts", []):
        secret = volumes.get(m["name"], {}).get("secret")
        if secret:
            out[m["mountPath"].rstrip("/")] = _base_name(secret.get("secretName", ""))
    return out


def _secret_of(path: str, mounts: dict[str, str]) -> str | None:
    for mount, secret in mounts.items():
        if path.startswith(mount + "/"):
            return secret
    return None


def check_uri(c, where: str, svc: str, uri: str, service_ports: set) -> None:
    parts = urlsplit(uri)
    c.expect(parts.scheme in ("postgres", "postgresql"), f"{where}: DORSET_DATABASE is a postgres:// URI")
    c.expect(parts.password is None and "password" not in parse_qs(parts.query),
             f"{where}: no password in DORSET_DATABASE")
    c.expect(parts.username == f"dorset_{svc}", f"{where}: DORSET_DATABASE role is dorset_{svc} ({parts.username})")
    c.expect(parts.path == f"/dorset_{svc}", f"{where}: DORSET_DATABASE database is dorset_{svc} ({parts.path})")
    if service_ports is not None:
        c.expect((parts.hostname, parts.port) in service_ports,
                 f"{where}: DORSET_DATABASE host {parts.hostname}:{parts.port} is a rendered Service port")


def check_k8s(c, target: str, docs: list[dict], require_postgres: bool) -> None:
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "ConfigMap"}
    for name, data in configmaps.items():
        for key in data:
            if "PASSWORD" in key.upper() and not key.upper().endswith("_FILE"):
                c.expect(False, f"{target} ConfigMap {name}: {key} holds a password in plain text")
    stss = {d["metadata"]["name"]: d for d in docs if d["kind"] in ("StatefulSet", "Deployment")}
    for name, sts in stss.items():
        for ct in _spec(sts).get("containers", []) + _spec(sts).get("initContainers", []):
            for e in ct.get("env", []):
                if "PASSWORD" in e["name"].upper() and not e["name"].upper().endswith("_FILE"):
                    c.expect("value" not in e, f"{target} {name}: env {e['name']} is a plain-text password")
    service_ports = {(s["metadata"]["name"], p["port"]) for s in docs if s["kind"] == "Service"
                     for p in s["spec"].get("ports", [])}
    # A CloudNativePG Cluster: the operator makes the Services <name>-rw (primary), -ro and -r on 5432.
    clusters = [d for d in docs if d["kind"] == "Cluster" and d.get("apiVersion", "").startswith("postgresql.cnpg.io/")]
    for cl in clusters:
        service_ports |= {(f"{cl['metadata']['name']}-{suffix}", 5432) for suffix in ("rw", "ro", "r")}
    databases = {}
    for svc in SERVICES:
        sts = stss.get(f"dorset-{svc}")
        if sts is None:
            continue
        spec = _spec(sts)
        ct = next((x for x in spec["containers"] if x["name"] == svc), None)
        if ct is None:
            continue
        env = {}
        for ref in ct.get("envFrom", []):
            env.update(configmaps.get((ref.get("configMapRef") or {}).get("name"), {}))
        env.update({e["name"]: e["value"] for e in ct.get("env", []) if "value" in e})
        where = f"{target} {svc}"
        uri = env.get("DORSET_DATABASE", "")
        if require_postgres:
            c.expect(uri.startswith(("postgres://", "postgresql://")), f"{where}: DORSET_DATABASE is PostgreSQL")
        if not uri.startswith(("postgres://", "postgresql://")):
            continue
        check_uri(c, where, svc, uri, service_ports)
        databases[svc] = urlsplit(uri).path
        if clusters:
            check_cnpg_uri(c, where, uri, clusters[0]["metadata"]["name"], _secret_mounts(ct, spec))
        pw_file = env.get("DORSET_DATABASE_PASSWORD_FILE", "")
        secret = _secret_of(pw_file, _secret_mounts(ct, spec)) if pw_file else None
        c.expect(secret == f"dorset-{svc}-database",
                 f"{where}: DORSET_DATABASE_PASSWORD_FILE {pw_file!r} is in its own Secret dorset-{svc}-database "
                 f"(got {secret})")
    c.expect(len(set(databases.values())) == len(databases), f"{target}: no two services share a database")
    if not databases:
        return
    check_connections(c, target, docs, clusters)
    if clusters:
        c.expect(len(clusters) == 1 and "dorset-postgres" not in stss,
                 f"{target}: one PostgreSQL, the CloudNativePG Cluster (no second server beside it)")
        check_cnpg(c, target, clusters[0], docs, databases)
        return
    pg = stss.get("dorset-postgres")
    if not c.expect(pg is not None, f"{target}: StatefulSet dorset-postgres rendered"):
        return
    spec = _spec(pg)
    ct = spec["containers"][0]
    env = {e["name"]: e for e in ct.get("env", [])}
    mounts = _secret_mounts(ct, spec)
    c.expect("POSTGRES_PASSWORD" not in env, f"{target} postgres: no POSTGRES_PASSWORD in env")
    su = (env.get("POSTGRES_PASSWORD_FILE") or {}).get("value", "")
    c.expect(bool(su) and _secret_of(su, mounts) is not None,
             f"{target} postgres: POSTGRES_PASSWORD_FILE {su!r} is in a mounted Secret")
    for svc in databases:
        c.expect(mounts.get(f"/etc/dorset/database/{svc}") == f"dorset-{svc}-database",
                 f"{target} postgres: mounts dorset-{svc}-database at /etc/dorset/database/{svc} for its role")
    c.expect(all(m.get("readOnly") is True for m in ct.get("volumeMounts", [])
                 if _secret_of(m["mountPath"] + "/x", mounts)), f"{target} postgres: Secrets mounted read-only")


# PostgreSQL connections each service process keeps (runtime/storage, "Pool policy" in docs/storage.md): the
# store's pool of 8, the audit trail's 1 (runtime/audit) and the registry's LISTEN 1 (counted for every service).
POOL_PER_PROCESS = 8 + 1 + 1


def check_connections(c, target: str, docs: list[dict], clusters: list[dict]) -> None:
    """Every service replica the HPAs may start gets its whole pool: sum(maxReplicas x pool) < max_connections."""
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h["spec"].get("maxReplicas", 1)
            for h in docs if h["kind"] == "HorizontalPodAutoscaler"}
    workloads = {d["metadata"]["name"]: d for d in docs if d["kind"] in ("StatefulSet", "Deployment")}
    most = sum(hpas.get(f"dorset-{svc}", workloads.get(f"dorset-{svc}", {}).get("spec", {}).get("replicas", 1))
               for svc in SERVICES if f"dorset-{svc}" in workloads) * POOL_PER_PROCESS
    limit = 100  # PostgreSQL's default
    if clusters:
        limit = int(((clusters[0]["spec"].get("postgresql") or {}).get("parameters") or {}).get("max_connections", 100))
    elif "dorset-postgres" in workloads:
        args = _spec(workloads["dorset-postgres"])["containers"][0].get("args", [])
        for a in args:
            if a.startswith("max_connections="):
                limit = int(a.split("=", 1)[1])
    # Headroom for the operator, replication, backups and a psql session.
    c.expect(most + 20 <= limit, f"{target}: PostgreSQL max_connections {limit} holds every replica's pool "
             f"({most} at the HPAs' maximum, + 20 spare)")


def check_cnpg_uri(c, where: str, uri: str, cluster: str, mounts: dict[str, str]) -> None:
    parts = urlsplit(uri)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    c.expect(parts.hostname == f"{cluster}-rw", f"{where}: DORSET_DATABASE on the primary's Service {cluster}-rw "
             f"(got {parts.hostname}; -ro/-r are read-only standbys)")
    c.expect(query.get("sslmode") == "verify-full", f"{where}: sslmode=verify-full to the CloudNativePG cluster")
    root = query.get("sslrootcert", "")
    c.expect(_secret_of(root, mounts) == f"{cluster}-ca",
             f"{where}: sslrootcert {root!r} is ca.crt of the operator's Secret {cluster}-ca")


def check_cnpg(c, target: str, cluster: dict, docs: list[dict], databases: dict) -> None:
    """Production PostgreSQL: a CloudNativePG Cluster that survives a node, loses no acknowledged commit, is backed
    up, and has one login role per service with its password from that service's Secret."""
    name = cluster["metadata"]["name"]
    where = f"{target} Cluster/{name}"
    spec = cluster["spec"]
    c.expect(spec.get("instances", 1) >= 3, f"{where}: at least 3 instances (got {spec.get('instances')})")
    sync = (spec.get("postgresql") or {}).get("synchronous") or {}
    c.expect((sync.get("method") in ("any", "first") and sync.get("number", 0) >= 1) or spec.get("minSyncReplicas", 0) >= 1,
             f"{where}: at least one synchronous standby (postgresql.synchronous)")
    aff = spec.get("affinity") or {}
    c.expect(aff.get("enablePodAntiAffinity", True) is not False and aff.get("podAntiAffinityType") == "required"
             and aff.get("topologyKey", "kubernetes.io/hostname") == "kubernetes.io/hostname",
             f"{where}: instances on different nodes (required pod anti-affinity on kubernetes.io/hostname)")
    c.expect(spec.get("enablePDB", True) is not False, f"{where}: the operator's PodDisruptionBudgets are on")
    c.expect(spec.get("enableSuperuserAccess", False) is not True, f"{where}: no network login for the superuser")
    image = spec.get("imageName", "")
    c.expect(":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{where}: imageName {image!r} pinned")
    c.expect(bool((spec.get("storage") or {}).get("size")), f"{where}: storage size set")
    labels = ((spec.get("inheritedMetadata") or {}).get("labels") or {})
    c.expect(labels.get("app.kubernetes.io/name") == name,
             f"{where}: its pods carry app.kubernetes.io/name={name} (the NetworkPolicies select it)")
    roles = {r.get("name"): r for r in ((spec.get("managed") or {}).get("roles") or [])}
    initdb = ((spec.get("bootstrap") or {}).get("initdb") or {})
    sql = " ".join(initdb.get("postInitSQL", []) + initdb.get("postInitApplicationSQL", []))
    for svc in databases:
        role = roles.get(f"dorset_{svc}") or {}
        c.expect(role.get("login") is True and role.get("ensure", "present") == "present"
                 and not role.get("superuser") and not role.get("createrole"),
                 f"{where}: managed login role dorset_{svc}, not superuser")
        c.expect((role.get("passwordSecret") or {}).get("name") == f"dorset-{svc}-database",
                 f"{where}: dorset_{svc}'s password from the Secret dorset-{svc}-database")
        made = initdb.get("database") == f"dorset_{svc}" and initdb.get("owner") == f"dorset_{svc}" or \
            f"CREATE DATABASE dorset_{svc} OWNER dorset_{svc}" in sql
        c.expect(made, f"{where}: database dorset_{svc} made at bootstrap, owned by dorset_{svc}")
        c.expect(f"REVOKE ALL ON DATABASE dorset_{svc} FROM PUBLIC" in sql,
                 f"{where}: no other role may open dorset_{svc} (REVOKE ALL ... FROM PUBLIC)")
    store = ((spec.get("backup") or {}).get("barmanObjectStore") or {})
    c.expect(bool(store.get("destinationPath")), f"{where}: WAL archive and base backups to an object store")
    creds = [v for v in (store.get("s3Credentials") or store.get("azureCredentials") or
                         store.get("googleCredentials") or {}).values() if isinstance(v, dict)]
    c.expect(bool(creds) and all(set(v) == {"name", "key"} for v in creds),
             f"{where}: object store credentials from a Secret (name/key), never inline")
    c.expect(bool((spec.get("backup") or {}).get("retentionPolicy")), f"{where}: a backup retention policy")
    scheduled = [d for d in docs if d["kind"] == "ScheduledBackup" and (d["spec"].get("cluster") or {}).get("name") == name]
    c.expect(len(scheduled) >= 1 and all(d["spec"].get("schedule") for d in scheduled),
             f"{where}: a ScheduledBackup of this cluster")
    # Replication between the instances is allowed wherever a default-deny NetworkPolicy is rendered.
    nps = [d for d in docs if d["kind"] == "NetworkPolicy"]
    if any(n["spec"].get("podSelector") == {} and not n["spec"].get("ingress") for n in nps):
        peer = {"matchLabels": {"cnpg.io/cluster": name}}
        ok = any(n["spec"].get("podSelector") == peer and any(
            any(f.get("podSelector") == peer for f in r.get("from", [])) and
            any(p.get("port") == 5432 for p in r.get("ports", [])) for r in n["spec"].get("ingress", [])) for n in nps)
        c.expect(ok, f"{where}: NetworkPolicy lets the instances replicate to each other (5432)")


def self_test_k8s(docs: list[dict], checker_cls) -> list[str]:
    """Breaks copies of the rendered postgres variant; every break must be caught. Returns those that were not."""

    def cm(d, svc):
        return next(x for x in d if x["kind"] == "ConfigMap" and x["metadata"]["name"] == f"dorset-{svc}-config")

    def sts(d, name):
        return next(x for x in d if x["kind"] in ("StatefulSet", "Deployment") and x["metadata"]["name"] == name)

    def pg_env(d):
        return _spec(sts(d, "dorset-postgres"))["containers"][0]["env"]

    breaks = {
        "database password in a ConfigMap": lambda d: cm(d, "finance")["data"].update(DORSET_DATABASE_PASSWORD="x"),
        "password in the URI": lambda d: cm(d, "finance")["data"].update(
            DORSET_DATABASE=cm(d, "finance")["data"]["DORSET_DATABASE"].replace("dorset_finance@",
                                                                                "dorset_finance:pw@")),
        "two services share a database": lambda d: cm(d, "engagement")["data"].update(
            DORSET_DATABASE=cm(d, "finance")["data"]["DORSET_DATABASE"]),
        "password file not mounted": lambda d: _spec(sts(d, "dorset-finance"))["containers"][0].update(
            volumeMounts=[m for m in _spec(sts(d, "dorset-finance"))["containers"][0]["volumeMounts"]
                          if m["mountPath"] != "/etc/dorset/database"]),
        "another service's password": lambda d: next(
            v for v in _spec(sts(d, "dorset-finance"))["volumes"] if v["name"] == "database-password")["secret"].update(
            secretName="dorset-registry-database"),
        "superuser password in env": lambda d: pg_env(d).append({"name": "POSTGRES_PASSWORD", "value": "x"}),
        "database on an unknown host": lambda d: cm(d, "registry")["data"].update(
            DORSET_DATABASE=cm(d, "registry")["data"]["DORSET_DATABASE"].replace("dorset-postgres:5432", "db:5432")),
    }
    missed = []
    for what, mutate in breaks.items():
        broken = copy.deepcopy(docs)
        mutate(broken)
        probe = checker_cls(quiet=True)
        check_k8s(probe, "self-test", broken, require_postgres=True)
        if not probe.failures:
            missed.append(what)
    return missed


def self_test_cnpg(docs: list[dict], checker_cls) -> list[str]:
    """Breaks copies of the rendered CloudNativePG variant; every break must be caught."""

    def cluster(d):
        return next(x for x in d if x["kind"] == "Cluster")

    def cm(d, svc):
        return next(x for x in d if x["kind"] == "ConfigMap" and x["metadata"]["name"] == f"dorset-{svc}-config")

    def role(d, svc):
        return next(r for r in cluster(d)["spec"]["managed"]["roles"] if r["name"] == f"dorset_{svc}")

    def set_uri(d, svc, old, new):
        cm(d, svc)["data"]["DORSET_DATABASE"] = cm(d, svc)["data"]["DORSET_DATABASE"].replace(old, new)

    def drop_sql(d, text):
        init = cluster(d)["spec"]["bootstrap"]["initdb"]
        init["postInitApplicationSQL"] = [q for q in init.get("postInitApplicationSQL", []) if text not in q]

    breaks = {
        "two instances": lambda d: cluster(d)["spec"].update(instances=2),
        "no synchronous standby": lambda d: cluster(d)["spec"]["postgresql"].pop("synchronous"),
        "instances may share a node": lambda d: cluster(d)["spec"]["affinity"].update(podAntiAffinityType="preferred"),
        "operator PDBs off": lambda d: cluster(d)["spec"].update(enablePDB=False),
        "superuser login": lambda d: cluster(d)["spec"].update(enableSuperuserAccess=True),
        "image unpinned": lambda d: cluster(d)["spec"].update(imageName="ghcr.io/cloudnative-pg/postgresql"),
        "no backup": lambda d: cluster(d)["spec"].pop("backup"),
        "backup credentials inline": lambda d: cluster(d)["spec"]["backup"]["barmanObjectStore"]["s3Credentials"].update(
            accessKeyId={"value": "AKIA"}),
        "no scheduled backup": lambda d: d.remove(next(x for x in d if x["kind"] == "ScheduledBackup")),
        "scheduled backup of another cluster": lambda d: next(x for x in d if x["kind"] == "ScheduledBackup")[
            "spec"].update(cluster={"name": "other"}),
        "finance role gone": lambda d: cluster(d)["spec"]["managed"]["roles"].remove(role(d, "finance")),
        "another service's password": lambda d: role(d, "engagement").update(
            passwordSecret={"name": "dorset-registry-database"}),
        "database not made": lambda d: drop_sql(d, "CREATE DATABASE dorset_engagement"),
        "database open to every role": lambda d: drop_sql(d, "REVOKE ALL ON DATABASE dorset_finance"),
        "writes to a standby": lambda d: set_uri(d, "finance", "dorset-postgres-rw:", "dorset-postgres-ro:"),
        "TLS not verified": lambda d: set_uri(d, "registry", "sslmode=verify-full", "sslmode=require"),
        "CA not mounted": lambda d: _spec(sts(d, "dorset-registry"))["containers"][0].update(volumeMounts=[
            m for m in _spec(sts(d, "dorset-registry"))["containers"][0]["volumeMounts"]
            if m["mountPath"] != "/etc/dorset/database-ca"]),
        "too few connections": lambda d: cluster(d)["spec"]["postgresql"]["parameters"].update(max_connections="100"),
        "pods unlabelled for NetworkPolicies": lambda d: cluster(d)["spec"].pop("inheritedMetadata"),
        "no replication between instances": lambda d: d.remove(next(
            x for x in d if x["kind"] == "NetworkPolicy" and x["metadata"]["name"] == "dorset-postgres-cluster-ingress")),
        "single server beside the cluster": lambda d: d.append(copy.deepcopy(dict(sts(d, "dorset-registry"),
                                                                                  metadata={"name": "dorset-postgres"}))),
    }

    def sts(d, name):
        return next(x for x in d if x["kind"] in ("StatefulSet", "Deployment") and x["metadata"]["name"] == name)

    missed = []
    for what, mutate in breaks.items():
        broken = copy.deepcopy(docs)
        mutate(broken)
        probe = checker_cls(quiet=True)
        check_k8s(probe, "self-test", broken, require_postgres=True)
        if not probe.failures:
            missed.append(what)
    return missed


def check_compose(c, compose_dir: str, postgres_docs: list[dict] | None, load_yaml, read_env_file) -> None:
    """compose.yaml + compose.postgres.yaml: the same database settings as overlays/postgres."""
    path = os.path.join(compose_dir, "compose.postgres.yaml")
    if not c.expect(os.path.exists(path), f"{path} exists"):
        return
    base = load_yaml(os.path.join(compose_dir, "compose.yaml")).get("services", {})
    over = load_yaml(path).get("services", {})
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in (postgres_docs or []) if d["kind"] == "ConfigMap"}
    for svc in SERVICES:
        where = f"compose postgres dorset-{svc}"
        s, o = base.get(f"dorset-{svc}", {}), over.get(f"dorset-{svc}", {})
        env = {}
        for f in (s.get("env_file") or []) + (o.get("env_file") or []):
            env.update(read_env_file(os.path.join(compose_dir, f)))
        env.update({k: str(v) for k, v in (o.get("environment") or {}).items()})
        for key in env:
            if "PASSWORD" in key.upper() and not key.upper().endswith("_FILE"):
                c.expect(False, f"{where}: {key} holds a password in plain text")
        uri = env.get("DORSET_DATABASE", "")
        check_uri(c, where, svc, uri, {("dorset-postgres", 5432)} if "dorset-postgres" in over else set())
        if postgres_docs is not None:
            cm = configmaps.get(f"dorset-{svc}-config", {})
            for key in ("DORSET_DATABASE", "DORSET_DATABASE_PASSWORD_FILE"):
                c.expect(env.get(key) == cm.get(key), f"{where}: {key} equals overlays/postgres's")
        pw = env.get("DORSET_DATABASE_PASSWORD_FILE", "")
        vols = (s.get("volumes") or []) + (o.get("volumes") or [])
        sources = [v.split(":")[0] for v in vols if v.split(":")[1] == pw and v.endswith(":ro")]
        c.expect(len(sources) == 1 and os.path.exists(os.path.join(compose_dir, sources[0])),
                 f"{where}: DORSET_DATABASE_PASSWORD_FILE {pw!r} is an existing file mounted read-only")
    pg = over.get("dorset-postgres")
    if not c.expect(pg is not None, "compose postgres: service dorset-postgres defined"):
        return
    env = {k: str(v) for k, v in (pg.get("environment") or {}).items()}
    c.expect("POSTGRES_PASSWORD" not in env and env.get("POSTGRES_PASSWORD_FILE"),
             "compose postgres: superuser password from POSTGRES_PASSWORD_FILE, not env")
    mounted = {v.split(":")[1]: v.split(":")[0] for v in (pg.get("volumes") or []) if v.endswith(":ro")}
    for svc in SERVICES:
        own = [v.split(":")[0] for v in (base.get(f"dorset-{svc}", {}).get("volumes") or []) +
               (over.get(f"dorset-{svc}", {}).get("volumes") or []) if v.split(":")[1] == "/etc/dorset/database/password"]
        c.expect(bool(own) and mounted.get(f"/etc/dorset/database/{svc}/password") == own[0],
                 f"compose postgres: reads {svc}'s password from the file {svc} uses")
    c.expect(pg.get("read_only") is True and "ALL" in pg.get("cap_drop", []), "compose postgres: hardened")
    c.expect("healthcheck" in pg, "compose postgres: healthcheck")
