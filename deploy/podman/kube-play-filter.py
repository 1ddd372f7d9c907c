#!/usr/bin/env python3
"""Turns a rendered overlay (stdin) into what `podman kube play` (podman 4.3) can run (stdout).

- StatefulSet -> Deployment with the same pod template; each volumeClaimTemplate becomes a PersistentVolumeClaim
  named <template>-<statefulset> (a podman named volume) referenced from the pod's volumes.
- Secrets: podman 4.3 reads Secret volumes only from its own secret store, so each Secret becomes a ConfigMap
  with the same (decoded) data and each Secret volume a ConfigMap volume. The mount stays read-only, same path.
- Dropped, because kube play does not run them: Namespace, Service, ServiceAccount, PodDisruptionBudget,
  NetworkPolicy. Kept: ConfigMap (envFrom works), Deployment, PersistentVolumeClaim.
- Every Deployment runs one replica (podman binds each replica's ports on the host).
- gRPC probes are removed (kube play ignores them anyway and warns); exec/HTTP probes stay.
- Names of in-cluster Services do not resolve under kube play; that is a documented limit, not patched here.
"""
import base64
import sys

import yaml

DROP = {"Namespace", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"}


def main() -> None:
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    out = []
    for d in docs:
        kind = d["kind"]
        if kind in DROP:
            continue
        d["metadata"].pop("namespace", None)
        if kind == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in (d.get("data") or {}).items()}
            data.update(d.get("stringData") or {})
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": d["metadata"]["name"]},
                        "data": data})
            continue
        if kind == "StatefulSet":
            name = d["metadata"]["name"]
            spec = d["spec"]
            template = spec["template"]
            pod = template["spec"]
            for claim in spec.get("volumeClaimTemplates", []):
                claim_name = f"{claim['metadata']['name']}-{name}"
                out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                            "metadata": {"name": claim_name}, "spec": claim["spec"]})
                pod.setdefault("volumes", []).append(
                    {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}})
            d = {"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": name, "labels": d["metadata"].get("labels", {})},
                 "spec": {"replicas": 1, "selector": spec["selector"], "template": template}}
        if kind in ("StatefulSet", "Deployment"):
            # One pod per Deployment: podman 4.3 binds each replica's container ports on the host, so a second
            # gateway replica fails with "address already in use" (one pod shows the spec runs).
            d["spec"]["replicas"] = 1
            pod = d["spec"]["template"]["spec"]
            for v in pod.get("volumes", []):
                if "secret" in v:
                    secret = v.pop("secret")
                    v["configMap"] = {"name": secret["secretName"]}
                    if "defaultMode" in secret:
                        v["configMap"]["defaultMode"] = secret["defaultMode"]
            for c in pod.get("containers", []):
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    if "grpc" in (c.get(probe) or {}):
                        del c[probe]
        out.append(d)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
