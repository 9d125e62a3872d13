#!/usr/bin/python3
"""Checks the Kubernetes manifests in deploy/k8s without a cluster: every Deployment runs
trm-server as non-root with gRPC probes on the gRPC port, resource requests, the ports the
image exposes and a draining grace period; the GPU variant asks for nvidia.com/gpu; a ClusterIP
Service and a headless Service (clusterIP: None, for dns:/// + round_robin) select its pods;
kustomization.yaml names files that exist.

  check_k8s.py deploy/k8s
"""
import glob
import os
import sys

import yaml

GRPC_PORT, METRICS_PORT = 50051, 9464


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    k8s = argv[0]
    problems = []

    def need(cond, msg):
        if not cond:
            problems.append(msg)

    docs = []
    for path in sorted(glob.glob(os.path.join(k8s, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            try:
                for d in yaml.safe_load_all(f):
                    if d:
                        docs.append((os.path.basename(path), d))
            except yaml.YAMLError as e:
                problems.append(f"{path}: not valid YAML: {e}")
    deployments = [(p, d) for p, d in docs if d.get("kind") == "Deployment"]
    services = [(p, d) for p, d in docs if d.get("kind") == "Service"]
    need(deployments, f"{k8s}: no Deployment")
    need(services, f"{k8s}: no Service")

    gpu_seen = False
    pod_labels = []
    for path, d in deployments:
        name = f"{path}: Deployment {d['metadata']['name']}"
        spec = d["spec"]
        tmpl = spec["template"]
        labels = tmpl["metadata"].get("labels", {})
        pod_labels.append(labels)
        sel = spec["selector"]["matchLabels"]
        need(all(labels.get(k) == v for k, v in sel.items()), f"{name}: selector does not match its pod labels")
        pod = tmpl["spec"]
        sc = pod.get("securityContext", {})
        need(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, f"{name}: does not run as non-root")
        need(pod.get("terminationGracePeriodSeconds", 30) >= 35, f"{name}: grace period shorter than the server's 30 s drain plus preStop")
        containers = [c for c in pod["containers"] if c["name"] == "trm-server"]
        need(len(containers) == 1, f"{name}: no container named trm-server")
        if not containers:
            continue
        c = containers[0]
        ports = {p["containerPort"]: p.get("name") for p in c.get("ports", [])}
        need(ports.get(GRPC_PORT) == "grpc" and ports.get(METRICS_PORT) == "metrics",
             f"{name}: container ports {ports}, want grpc {GRPC_PORT} and metrics {METRICS_PORT}")
        args = " ".join(c.get("args", []) + c.get("command", []))
        need(f"--listen=0.0.0.0:{GRPC_PORT}" in args or "--listen" not in args, f"{name}: --listen is not :{GRPC_PORT}")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            p = c.get(probe, {})
            need(p.get("grpc", {}).get("port") == GRPC_PORT, f"{name}: {probe} is not a gRPC probe on {GRPC_PORT}")
        # The watchdog ends a process whose port stopped accepting before the liveness probe does
        # (deploy/tests/liveness_probe_test.py shows the probe would fail too).
        need(not any(a.startswith("--watchdog_interval_s=0") for a in c.get("args", [])),
             f"{name}: runs trm-server with the watchdog off")
        res = c.get("resources", {})
        need(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory"),
             f"{name}: no cpu and memory requests")
        need(res.get("limits", {}).get("memory"), f"{name}: no memory limit")
        if "nvidia.com/gpu" in res.get("limits", {}):
            gpu_seen = True
            need(":cuda" in c["image"], f"{name}: asks for a GPU but runs image {c['image']}, not the CUDA one")
        csc = c.get("securityContext", {})
        need(csc.get("allowPrivilegeEscalation") is False, f"{name}: allows privilege escalation")
        ann = tmpl["metadata"].get("annotations", {})
        need(ann.get("prometheus.io/port") == str(METRICS_PORT), f"{name}: no prometheus.io/port {METRICS_PORT} annotation")
    # Two Deployments whose selectors match each other's pods fight over them.
    selectors = [(d["metadata"]["name"], d["spec"]["selector"]["matchLabels"]) for _, d in deployments]
    for i, (n, sel) in enumerate(selectors):
        for j, labels in enumerate(pod_labels):
            if i != j:
                need(not all(labels.get(k) == v for k, v in sel.items()),
                     f"Deployment {n}: selector {sel} also matches the pods of Deployment {selectors[j][0]}")
    need(gpu_seen, f"{k8s}: no Deployment asks for nvidia.com/gpu (the GPU variant)")

    headless = [d for _, d in services if d["spec"].get("clusterIP") == "None"]
    plain = [d for _, d in services if d["spec"].get("clusterIP") != "None"]
    need(headless, f"{k8s}: no headless Service (clusterIP: None) for client-side load balancing")
    need(plain, f"{k8s}: no ClusterIP Service")
    for s in headless + plain:
        sname = f"Service {s['metadata']['name']}"
        sel = s["spec"].get("selector", {})
        need(sel and all(all(l.get(k) == v for k, v in sel.items()) for l in pod_labels),
             f"{sname}: selector {sel} does not select every Deployment's pods")
        grpc = [p for p in s["spec"]["ports"] if p.get("name") == "grpc"]
        need(grpc and grpc[0]["port"] == GRPC_PORT, f"{sname}: no grpc port {GRPC_PORT}")
    for s in headless:
        need(not s["spec"].get("publishNotReadyAddresses", False),
             f"Service {s['metadata']['name']}: publishes pods that are not ready")

    kust = os.path.join(k8s, "kustomization.yaml")
    if os.path.exists(kust):
        with open(kust, encoding="utf-8") as f:
            for r in yaml.safe_load(f).get("resources", []):
                need(os.path.exists(os.path.join(k8s, r)), f"{kust}: resource {r} does not exist")

    for p in problems:
        print("FAIL", p, file=sys.stderr)
    if not problems:
        print(f"{len(deployments)} Deployments, {len(services)} Services: consistent")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
