#!/usr/bin/python3
"""Checks the Dockerfile against the project's own build: the image builds with the same
scripts the README and CI use, ships the programs the CMake project defines, runs as a non-root
user, exposes the ports the server listens on (and compose and Kubernetes publish), and has a
HEALTHCHECK through `trm-client health`. Needs no Docker engine. Ports: 50051 gRPC, 8080 HTTP/JSON
and the web page, 9464 /metrics.

  check_dockerfile.py SOURCE_DIR
"""
import glob
import os
import re
import sys

import yaml

GRPC_PORT, HTTP_PORT, METRICS_PORT = 50051, 8080, 9464


def dockerfile_stages(text):
    """[(stage name, [(instruction, argument)])], line continuations joined."""
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, arg = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.search(r"\bAS\s+(\S+)", arg, re.IGNORECASE)
            stages.append((m.group(1) if m else arg, []))
        elif stages:
            stages[-1][1].append((instr, arg.strip()))
    return stages


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    src = argv[0]
    problems = []

    def need(cond, msg):
        if not cond:
            problems.append(msg)

    with open(os.path.join(src, "Dockerfile"), encoding="utf-8") as f:
        stages = dockerfile_stages(f.read())
    by_name = {name: body for name, body in stages}
    for s in ("build", "runtime"):
        need(s in by_name, f"Dockerfile: no stage named '{s}'")
    if problems:
        return report(problems)
    need(stages[-1][0] == "runtime", "Dockerfile: the last stage (the default target) is "
         f"'{stages[-1][0]}', not 'runtime'")
    need(any(n.startswith("runtime-cuda") or n == "cuda" for n, _ in stages),
         "Dockerfile: no CUDA target (runtime-cuda)")

    # 1. The build stage uses the same commands as the README and scripts/test.sh.
    build_runs = " ; ".join(a for i, a in by_name["build"] if i == "RUN")
    for script in ("scripts/install-deps.sh", "scripts/build.sh"):
        need(script in build_runs, f"Dockerfile: the build stage does not run {script}")
        need(os.access(os.path.join(src, script), os.X_OK), f"{script}: missing or not executable")
        with open(os.path.join(src, "scripts", "test.sh"), encoding="utf-8") as f:
            need(script in f.read(), f"scripts/test.sh does not run {script}: the Dockerfile and CI differ")
    # No other compiler invocation: a cmake/make/ninja line would be a second build recipe.
    for i, a in by_name["build"]:
        if i == "RUN":
            need(not re.search(r"(^|[;&|]\s*)(cmake|make|ninja|g\+\+|c\+\+)\s", a),
                 f"Dockerfile: the build stage calls a compiler or build tool directly: {a[:80]}")
    readme = os.path.join(src, "README.md")
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        # The README's commands, and the scripts they run (scripts/serve.sh, scripts/test.sh, ...).
        shown = text
        for name in sorted(set(re.findall(r"scripts/[\w.-]+\.sh", text))):
            path = os.path.join(src, name)
            need(os.path.exists(path), f"README.md shows {name}, which does not exist")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    shown += f.read()
        for script in ("scripts/install-deps.sh", "scripts/build.sh"):
            need(script in shown, f"neither README.md nor the scripts it shows run {script}, "
                 "the command the Dockerfile builds with")
    else:
        print("note: no README.md yet; compared with scripts/test.sh only")

    # 2. The programs it ships are targets of the CMake project.
    targets = set()
    for cml in glob.glob(os.path.join(src, "**", "CMakeLists.txt"), recursive=True):
        if os.sep + "build" in cml[len(src):]:
            continue
        with open(cml, encoding="utf-8") as f:
            targets |= set(re.findall(r"add_executable\(\s*([\w.+-]+)", f.read()))
    shipped = set(re.findall(r"\btrm-[\w-]+", build_runs))
    for prog in sorted(shipped):
        if prog in ("trm-server", "trm-client"):
            need(prog in targets, f"Dockerfile ships {prog}, but no CMakeLists.txt defines it")
        elif prog not in targets:
            print(f"note: optional program {prog} is not (yet) a CMake target")

    # 3. The runtime stages: non-root, ports, health check, checkpoints.
    for name in [n for n, _ in stages if n.startswith("runtime")]:
        body = by_name[name]
        users = [a for i, a in body if i == "USER"]
        need(users and users[-1] not in ("root", "0"), f"Dockerfile {name}: does not switch to a non-root USER")
        exposed = {int(p.split("/")[0]) for i, a in body if i == "EXPOSE" for p in a.split()}
        need(exposed == {GRPC_PORT, HTTP_PORT, METRICS_PORT},
             f"Dockerfile {name}: EXPOSE {sorted(exposed)}, want {GRPC_PORT}, {HTTP_PORT} and "
             f"{METRICS_PORT}")
        hc = " ".join(a for i, a in body if i == "HEALTHCHECK")
        need(re.search(r'trm-client"?,?\s*"?health', hc), f"Dockerfile {name}: no HEALTHCHECK through trm-client health")
        need(str(GRPC_PORT) in hc, f"Dockerfile {name}: the HEALTHCHECK does not call port {GRPC_PORT}")
        need(any(i == "COPY" and "checkpoints" in a and a.split()[-1].rstrip("/") == "/opt/trm/checkpoints"
                 for i, a in body), f"Dockerfile {name}: does not copy checkpoints/ to /opt/trm/checkpoints")
        need("cp -a checkpoints/." in build_runs, "Dockerfile: the build stage does not collect checkpoints/")
        need(not any(i == "RUN" and re.search(r"-dev\b|build-essential|cmake", a) for i, a in body),
             f"Dockerfile {name}: installs build tools or -dev packages in a runtime stage")
        cmd = " ".join(a for i, a in body if i in ("CMD", "ENTRYPOINT"))
        need(f":{GRPC_PORT}" in cmd and f":{METRICS_PORT}" in cmd and f":{HTTP_PORT}" in cmd,
             f"Dockerfile {name}: CMD does not listen on {GRPC_PORT}, {HTTP_PORT} and {METRICS_PORT}")

    # 4. The server's defaults match (when its source is there).
    server_src = " ".join(open(p, encoding="utf-8", errors="replace").read()
                          for p in glob.glob(os.path.join(src, "server", "*.cc")))
    if server_src:
        need(f"0.0.0.0:{GRPC_PORT}" in server_src, f"server/: default --listen is not 0.0.0.0:{GRPC_PORT}")
        need(f"0.0.0.0:{METRICS_PORT}" in server_src, f"server/: default --metrics_listen is not 0.0.0.0:{METRICS_PORT}")
        need(f"0.0.0.0:{HTTP_PORT}" in server_src, f"server/: default --http_listen is not 0.0.0.0:{HTTP_PORT}")

    # 5. docker-compose publishes the same ports and builds the runtime target.
    with open(os.path.join(src, "docker-compose.yml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    server = compose["services"]["trm-server"]
    ports = {str(p).split(":")[-1] for p in server.get("ports", [])}
    need(ports == {str(GRPC_PORT), str(HTTP_PORT), str(METRICS_PORT)},
         f"docker-compose.yml: trm-server publishes {sorted(ports)}")
    need(server.get("build", {}).get("target") == "runtime", "docker-compose.yml: trm-server does not build target runtime")
    # Recovery from a gRPC port that stopped accepting (docs/reliability.md): the health check
    # probes a new connection, the watchdog is on, and an exit is followed by a restart.
    test = server.get("healthcheck", {}).get("test", [])
    need(test[:3] == ["CMD", "trm-client", "health"] and any(f":{GRPC_PORT}" in a for a in test),
         f"docker-compose.yml: trm-server's healthcheck is not trm-client health on :{GRPC_PORT}")
    need(server.get("restart") in ("always", "unless-stopped", "on-failure"),
         "docker-compose.yml: trm-server is not restarted when it exits (restart policy "
         f"{server.get('restart')!r}); the watchdog's exit would leave it down")
    need(not any(str(a).startswith("--watchdog_interval_s=0") for a in server.get("command", [])),
         "docker-compose.yml: trm-server runs with the watchdog off")
    with open(os.path.join(src, "deploy", "prometheus", "prometheus.yml"), encoding="utf-8") as f:
        prom = yaml.safe_load(f)
    targets_scraped = [t for j in prom["scrape_configs"] if j["job_name"] == "trm-server"
                       for s in j.get("static_configs", []) for t in s["targets"]]
    need(f"trm-server:{METRICS_PORT}" in targets_scraped, "prometheus.yml: does not scrape trm-server:9464")

    return report(problems)


def report(problems):
    for p in problems:
        print("FAIL", p, file=sys.stderr)
    if not problems:
        print("Dockerfile, compose and Prometheus config agree with the build and the server")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
