#!/usr/bin/python3
"""Checks the Kubernetes manifests in deploy/k8s without a cluster: every Deployment runs
trm-server as non-root with gRPC probes on the gRPC port, resource requests, the ports the
image exposes and a draining grace period; the GPU variant asks for nvidia.com/gpu; a ClusterIP
Service and a headless Service (clusterIP: None, for dns:/// + round_robin) select its pods;
kustomization.yaml names files that exist. The training jobs in <dir>/train (data-parallel
trm-train): a PyTorchJob (one Master, Workers, the operator's container name) and an Indexed Job
(a rank per completion index, a headless Service naming rank 0 for MASTER_ADDR), each running
trm-train as non-root with the same arguments on every rank and rank 0's --out_dir on a volume
claimed in that folder.

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

    docs = load_docs(k8s, need)
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

    check_kustomization(k8s, need)

    train = os.path.join(k8s, "train")
    summary = ""
    if os.path.isdir(train):
        summary = "; " + check_training(train, need)

    for p in problems:
        print("FAIL", p, file=sys.stderr)
    if not problems:
        print(f"{len(deployments)} Deployments, {len(services)} Services: consistent{summary}")
    return 1 if problems else 0


def check_kustomization(folder, need):
    kust = os.path.join(folder, "kustomization.yaml")
    if os.path.exists(kust):
        with open(kust, encoding="utf-8") as f:
            for r in yaml.safe_load(f).get("resources", []):
                need(os.path.exists(os.path.join(folder, r)), f"{kust}: resource {r} does not exist")


def load_docs(folder, need):
    docs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            try:
                docs += [(os.path.basename(path), d) for d in yaml.safe_load_all(f) if d]
            except yaml.YAMLError as e:
                need(False, f"{path}: not valid YAML: {e}")
    return docs


def arg_value(args, flag):
    for a in args:
        if a.startswith(f"--{flag}="):
            return a.split("=", 1)[1]
    return None


def check_training_pod(name, pod, container, claims, writes, need):
    """One rank's pod: trm-train, non-root, resources; rank 0's --out_dir on a claimed volume."""
    sc = pod.get("securityContext", {})
    need(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, f"{name}: does not run as non-root")
    need((container.get("command") or [""])[0] == "trm-train", f"{name}: command is not trm-train")
    res = container.get("resources", {})
    need(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory"),
         f"{name}: no cpu and memory requests")
    need(res.get("limits", {}).get("memory"), f"{name}: no memory limit")
    need(container.get("securityContext", {}).get("allowPrivilegeEscalation") is False,
         f"{name}: allows privilege escalation")
    out = arg_value(container.get("args", []), "out_dir")
    if not writes:
        return
    need(out, f"{name}: rank 0 has no --out_dir")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = [m for m in container.get("volumeMounts", []) if out and (out + "/").startswith(m["mountPath"].rstrip("/") + "/")]
    need(mounts, f"{name}: --out_dir={out} is not on a mounted volume (checkpoints would die with the pod)")
    for m in mounts:
        claim = volumes.get(m["name"], {}).get("persistentVolumeClaim", {}).get("claimName")
        need(claim in claims, f"{name}: volume {m['name']} claims {claim!r}, not a PersistentVolumeClaim in this folder")


def check_training(train, need):
    docs = load_docs(train, need)
    claims = {d["metadata"]["name"] for _, d in docs if d.get("kind") == "PersistentVolumeClaim"}
    services = [d for _, d in docs if d.get("kind") == "Service"]
    jobs = [(p, d) for p, d in docs if d.get("kind") == "PyTorchJob"]
    indexed = [(p, d) for p, d in docs if d.get("kind") == "Job" and d["spec"].get("completionMode") == "Indexed"]
    need(jobs or indexed, f"{train}: no PyTorchJob and no Indexed Job")

    for path, d in jobs:
        jname = f"{path}: PyTorchJob {d['metadata']['name']}"
        replicas = d["spec"].get("pytorchReplicaSpecs", {})
        need(replicas.get("Master", {}).get("replicas") == 1, f"{jname}: needs exactly one Master (rank 0)")
        need(replicas.get("Worker", {}).get("replicas", 0) >= 1, f"{jname}: no Worker: not data-parallel")
        argsets = []
        for role, r in replicas.items():
            pod = r["template"]["spec"]
            cs = [c for c in pod["containers"] if c["name"] == "pytorch"]
            need(len(cs) == 1, f"{jname} {role}: the operator needs a container named pytorch")
            need(r.get("restartPolicy") in ("OnFailure", "ExitCode"),
                 f"{jname} {role}: restartPolicy {r.get('restartPolicy')}: a failed rank is never rerun (resume)")
            if cs:
                check_training_pod(f"{jname} {role}", pod, cs[0], claims, role == "Master", need)
                argsets.append(cs[0].get("args", []))
        need(all(a == argsets[0] for a in argsets), f"{jname}: the replicas run different arguments")

    for path, d in indexed:
        jname = f"{path}: Job {d['metadata']['name']}"
        spec = d["spec"]
        world = spec.get("completions")
        need(world and world >= 2 and spec.get("parallelism") == world,
             f"{jname}: completions and parallelism must be equal (every rank at once) and >= 2")
        pod = spec["template"]["spec"]
        need(pod.get("restartPolicy") == "OnFailure", f"{jname}: restartPolicy is not OnFailure (resume)")
        c = pod["containers"][0]
        check_training_pod(jname, pod, c, claims, True, need)
        env = {e["name"]: e for e in c.get("env", [])}
        need(env.get("WORLD_SIZE", {}).get("value") == str(world), f"{jname}: WORLD_SIZE is not completions ({world})")
        rank_from = env.get("RANK", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
        need("job-completion-index" in rank_from, f"{jname}: RANK does not come from the completion index")
        sub = pod.get("subdomain")
        want = f"{d['metadata']['name']}-0.{sub}"
        need(env.get("MASTER_ADDR", {}).get("value", "").startswith(want),
             f"{jname}: MASTER_ADDR is not rank 0's pod name {want}")
        svc = [s for s in services if s["metadata"]["name"] == sub]
        need(svc and svc[0]["spec"].get("clusterIP") == "None",
             f"{jname}: subdomain {sub} is not a headless Service in this folder")
        if svc:
            need(svc[0]["spec"].get("selector", {}).get("job-name") == d["metadata"]["name"],
                 f"{jname}: Service {sub} does not select the job's pods (job-name)")
            port = env.get("MASTER_PORT", {}).get("value")
            need(port in [str(p["port"]) for p in svc[0]["spec"].get("ports", [])],
                 f"{jname}: MASTER_PORT {port} is not a port of Service {sub}")

    check_kustomization(train, need)
    return f"training: {len(jobs)} PyTorchJob, {len(indexed)} Indexed Job"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
