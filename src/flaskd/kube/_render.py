"""Kubernetes objects of a deployment: pure functions of its `Layout` and the cluster options.

Each object is a dict, written as YAML by `_yaml.dump`; what the image already sets
(the host, the port, the probe paths) is set again in the pod, so that the objects
say what they rely on and another image tag cannot change it silently.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

from ..container import UID, Layout

#: Seconds Kubernetes waits after the drain delay and the graceful timeout before SIGKILL.
STOP_MARGIN = 10
#: The mount of the app's secrets: one file per key, read through <PREFIX><KEY>_FILE.
SECRETS_DIR = "/run/secrets"
#: Checks that cannot pass without a registry, each with why (also in docs/containers.md).
DIGEST_SKIP = (
    "CKV_K8S_43=the image digest is known only once the image is pushed to a registry:"
    " give --image NAME:TAG@sha256:DIGEST to pin it"
)


@dataclasses.dataclass(frozen=True)
class Cluster:
    """What the cluster side adds to the deployment: where it runs and how much of it."""

    image: str
    namespace: str
    replicas: int
    max_replicas: int | None
    #: The app's keys read from files of the Secret (lowercase file names).
    secrets: tuple[str, ...]
    cpu_request: str = "100m"
    cpu_limit: str = "1"
    memory_request: str = "128Mi"
    memory_limit: str = "512Mi"
    state_size: str = "1Gi"


def labels(layout: Layout) -> dict[str, str]:
    return {"app.kubernetes.io/name": layout.name, "app.kubernetes.io/managed-by": "flaskd"}


def objects(layout: Layout, cluster: Cluster) -> dict[str, dict[str, Any]]:
    """The objects, by file name (without ``.yaml``), in the order to apply them."""
    name = layout.name
    out = {"namespace": namespace(cluster)}
    if layout.deployment.config_file is not None:
        out["configmap"] = configmap(layout, cluster)
    if cluster.secrets:
        out["secret"] = secret(layout, cluster)
    if layout.deployment.state:
        out["pvc"] = _meta(
            "v1", "PersistentVolumeClaim", f"{name}-state", layout, cluster,
            spec={
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": cluster.state_size}},
            },
        )  # fmt: skip
    out["deployment"] = deployment(layout, cluster)
    out["service"] = _meta(
        "v1", "Service", name, layout, cluster,
        spec={
            "selector": labels(layout),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    )  # fmt: skip
    out["pdb"] = _meta(
        "policy/v1", "PodDisruptionBudget", name, layout, cluster,
        spec={"maxUnavailable": 1, "selector": {"matchLabels": labels(layout)}},
    )  # fmt: skip
    out["networkpolicy"] = _meta(
        "networking.k8s.io/v1", "NetworkPolicy", name, layout, cluster,
        spec={
            "podSelector": {"matchLabels": labels(layout)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": layout.port, "protocol": "TCP"}]}],
        },
    )  # fmt: skip
    if cluster.max_replicas is not None:
        out["hpa"] = _meta(
            "autoscaling/v2", "HorizontalPodAutoscaler", name, layout, cluster,
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": cluster.replicas,
                "maxReplicas": cluster.max_replicas,
                "metrics": [{
                    "type": "Resource",
                    "resource": {
                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}
                    },
                }],
            },
        )  # fmt: skip
    return out


def termination_grace(layout: Layout) -> int:
    """Seconds from SIGTERM to SIGKILL: more than the drain delay and the graceful timeout."""
    d = layout.deployment
    return math.ceil(d.drain_delay + d.graceful_timeout) + STOP_MARGIN


def namespace(cluster: Cluster) -> dict[str, Any]:
    """The namespace, enforcing the restricted Pod Security Standard the pod meets."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": cluster.namespace,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def configmap(layout: Layout, cluster: Cluster) -> dict[str, Any]:
    config = layout.deployment.config_file
    assert config is not None
    obj = _meta("v1", "ConfigMap", f"{layout.name}-config", layout, cluster)
    obj["data"] = {os.path.basename(config): Path(config).read_text()}
    return obj


def secret(layout: Layout, cluster: Cluster) -> dict[str, Any]:
    """The Secret without its values, which are never written here: the user fills them."""
    obj = _meta("v1", "Secret", f"{layout.name}-secrets", layout, cluster)
    obj["type"] = "Opaque"
    return obj


def secret_command(layout: Layout, cluster: Cluster) -> str:
    """How to fill the Secret's values (each from a file), whether or not it exists yet."""
    files = " ".join(f"--from-file={key}=./{key}" for key in cluster.secrets)
    return (
        f"kubectl create secret generic {layout.name}-secrets -n {cluster.namespace} {files}"
        " --dry-run=client -o yaml | kubectl apply -f -"
    )


def deployment(layout: Layout, cluster: Cluster) -> dict[str, Any]:
    name, d = layout.name, layout.deployment
    env = [
        {"name": "FLASKD_HOST", "value": "0.0.0.0"},
        {"name": "PORT", "value": str(layout.port)},
        {"name": "FLASKD_READY_PATH", "value": layout.ready_path},
        {"name": "FLASKD_LIVE_PATH", "value": layout.live_path},
    ]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    # A tmpfs, as podman's --read-only makes /tmp: gunicorn's worker heartbeat files (touched
    # about once a second) must not wait on the node's disk. It counts against the memory limit.
    tmp = {"medium": "Memory", "sizeLimit": "64Mi"}
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": tmp}]
    if layout.config_path is not None:
        env.append({"name": f"{layout.prefix}CONFIG", "value": layout.config_path})
        mounts.append({"name": "config", "mountPath": layout.config_dir, "readOnly": True})
        volumes.append({"name": "config", "configMap": {"name": f"{name}-config"}})
    if cluster.secrets:
        for key in cluster.secrets:
            env.append(
                {"name": f"{layout.prefix}{key.upper()}_FILE", "value": f"{SECRETS_DIR}/{key}"}
            )
        mounts.append({"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True})
        volumes.append(
            {"name": "secrets", "secret": {"secretName": f"{name}-secrets", "defaultMode": 0o440}}
        )
    for key, file in d.state:
        env.append({"name": layout.prefix + key, "value": f"{layout.state_dir}/{file}"})
    if d.state:
        mounts.append({"name": "state", "mountPath": layout.state_dir})
        volumes.append({"name": "state", "persistentVolumeClaim": {"claimName": f"{name}-state"}})

    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": layout.port},
            "periodSeconds": period,
            "timeoutSeconds": 5,
            "failureThreshold": failures,
        }

    pinned = "@" in cluster.image
    container = {
        "name": name,
        "image": cluster.image,
        # A tag can move: without a digest, pull on every start.
        "imagePullPolicy": "IfNotPresent" if pinned else "Always",
        "ports": [{"name": "http", "containerPort": layout.port, "protocol": "TCP"}],
        "env": env,
        # Up to 2 min for the start-up hooks; then readiness, 503 from the start of a stop.
        "startupProbe": probe(layout.ready_path, 2, 60),
        "readinessProbe": probe(layout.ready_path, 5, 1),
        # 200 while draining too: a stopping pod is not restarted.
        "livenessProbe": probe(layout.live_path, 10, 3),
        "resources": {
            "requests": {"cpu": cluster.cpu_request, "memory": cluster.memory_request},
            "limits": {"cpu": cluster.cpu_limit, "memory": cluster.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    obj = _meta("apps/v1", "Deployment", name, layout, cluster)
    if not pinned:
        obj["metadata"]["annotations"] = {"checkov.io/skip1": DIGEST_SKIP}
    obj["spec"] = {
        "replicas": cluster.replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": labels(layout)},
        # A new pod is ready before an old one stops: no moment with fewer pods serving.
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {
            "metadata": {"labels": labels(layout)},
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                # Longer than the drain delay + the graceful timeout: flaskd finishes first.
                "terminationGracePeriodSeconds": termination_grace(layout),
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": UID,
                    "runAsGroup": UID,
                    "fsGroup": UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
    return obj


def _meta(
    api: str, kind: str, name: str, layout: Layout, cluster: Cluster, **rest: Any
) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": cluster.namespace, "labels": labels(layout)},
        **rest,
    }
