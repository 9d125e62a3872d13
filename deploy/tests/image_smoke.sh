#!/usr/bin/env bash
# The container image, built and answering: builds the Dockerfile's CPU runtime target with podman
# and checks what a user of the image relies on, then brings up trm-server + Prometheus with
# podman-compose and shows Prometheus scraping the server. Not part of ctest (a cold build takes
# tens of minutes); run it by hand or in a release job:
#
#   scripts/install-deps.sh --image-tools    # podman, buildah, mmdebstrap, podman-compose, runc
#   deploy/tests/image_smoke.sh              # deploy/README.md has its figures
#
# Without a reachable registry the debian:bookworm base is made here: mmdebstrap --variant=minbase
# bookworm, imported as localhost/debian-base:bookworm and passed as --build-arg DEBIAN_IMAGE.
#
# Environment:
#   DEBIAN_IMAGE        base image to build on (default: debian:bookworm if it can be pulled, else
#                       the one made here)
#   TRM_SMOKE_IMAGE     tag of the image built (default localhost/trm-serve:smoke)
#   TRM_SMOKE_BUILD     0 checks an image built before (TRM_SMOKE_IMAGE) instead of building
#   TRM_SMOKE_COMPOSE   0 skips the compose part
#   TRM_SMOKE_KEEP      1 leaves the containers running for a look
set -euo pipefail
cd "$(dirname "$0")/../.."

image=${TRM_SMOKE_IMAGE:-localhost/trm-serve:smoke}
prom_image=localhost/trm-prometheus-debian:bookworm
name=trm-smoke-$$
failures=0
say() { printf 'image_smoke: %s\n' "$*"; }
ok() { say "ok   - $*"; }
bad() { say "FAIL - $*"; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
for tool in podman mmdebstrap curl python3; do
  command -v "$tool" > /dev/null || { say "needs $tool: scripts/install-deps.sh --image-tools"; exit 2; }
done

# What this host's podman needs. Two things a container sandbox may lack: a pure cgroup v2
# hierarchy (crun refuses a hybrid one; runc handles it) and the right to raise rlimits (podman
# asks for 1048576 open files as root): ask for what the host has instead.
podman_args=()
if [[ -d /sys/fs/cgroup/unified ]] && command -v runc > /dev/null; then
  podman_args+=(--runtime runc)
fi
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ $nofile == unlimited || $nofile -gt 65536 ]] && nofile=65536
[[ $nproc == unlimited || $nproc -gt 65536 ]] && nproc=65536
pm() { podman "${podman_args[@]}" "$@"; }

# 1. The base image.
base=${DEBIAN_IMAGE:-}
if [[ -z $base ]]; then
  if timeout 60 podman pull -q docker.io/library/debian:bookworm > /dev/null 2>&1; then
    base=docker.io/library/debian:bookworm
  else
    base=localhost/debian-base:bookworm
    if ! podman image exists "$base"; then
      say "no registry answers: making $base with mmdebstrap"
      tar=$(mktemp --suffix=.tar)
      mmdebstrap --quiet --variant=minbase bookworm "$tar"
      podman import -q "$tar" "$base" > /dev/null
      rm -f "$tar"
    fi
  fi
fi
say "base image: $base"
# Some sandboxes refuse even a process limit below the host's hard one (runc: "error setting
# rlimit type 6"); halve it until a container starts.
while :; do
  limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
  pm run --rm "${limits[@]}" "$base" true > /dev/null 2>&1 && break
  ((nproc > 1024)) || { say "no container starts here: podman run --rm $base true"; exit 2; }
  nproc=$((nproc / 2))
done
say "container limits: ${limits[*]}"

# 2. Build. --format docker keeps the HEALTHCHECK (the OCI format has no such field).
build_s="(not built here)"
if [[ ${TRM_SMOKE_BUILD:-1} != 0 ]]; then
  start=$(date +%s)
  pm build --quiet "${limits[@]}" --format docker --target runtime \
    --build-arg DEBIAN_IMAGE="$base" -t "$image" . > /dev/null
  build_s="$(($(date +%s) - start)) s"
fi
size_mb=$(($(podman image inspect --format '{{.Size}}' "$image") / 1000000))
say "image $image: build ${build_s}, size ${size_mb} MB"

# 3. Run it as a user would: the image's own command, ports published on loopback.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
grpc_port=$(free_port)
http_port=$(free_port)
metrics_port=$(free_port)
cleanup() {
  if [[ ${TRM_SMOKE_KEEP:-0} != 1 ]]; then
    podman rm -f -t 0 "$name" > /dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
start_ns=$(date +%s%N)
pm run -d --name "$name" "${limits[@]}" -p "127.0.0.1:$grpc_port:50051" \
  -p "127.0.0.1:$http_port:8080" -p "127.0.0.1:$metrics_port:9464" "$image" > /dev/null
serving=""
for _ in $(seq 1 240); do
  if podman exec "$name" trm-client health --target=127.0.0.1:50051 --timeout_s=2 2> /dev/null |
    grep -q SERVING; then
    serving=$((($(date +%s%N) - start_ns) / 1000000))
    break
  fi
  [[ $(podman inspect --format '{{.State.Running}}' "$name") == true ]] || break
  sleep 0.25
done
if [[ -n $serving ]]; then
  ok "gRPC health SERVING ${serving} ms after podman run"
else
  bad "gRPC health never SERVING"
  podman logs "$name" 2>&1 | tail -20
  exit 1
fi

puzzle="....8513.28536..7..1.479..5471526.8953..48.6186.7.3.5.728..4.131548...976..1..2.."
solve_out=$(podman exec "$name" trm-client solve sudoku "$puzzle" 2>&1 || true)
check "a real Solve over gRPC returns a verified answer" \
  grep -q "verification VERIFICATION_VERIFIED" <<< "$solve_out"
http_out=$(curl -s --max-time 30 -H 'Content-Type: application/json' \
  "http://127.0.0.1:$http_port/v1/solve" -d "{\"sudoku\": \"$puzzle\"}" || true)
check "POST /v1/solve answers with a verified solution" \
  python3 -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(r.get("verification") != "VERIFICATION_VERIFIED")' \
  "$http_out"
[[ $http_out == *VERIFICATION_VERIFIED* ]] || say "  POST /v1/solve said: ${http_out:0:300}"
metrics=$(curl -s --max-time 10 "http://127.0.0.1:$metrics_port/metrics")
check "/metrics counts the two requests" \
  python3 -c 'import re, sys; n = sum(float(v) for v in re.findall(r"^trm_requests_total\{[^}]*\} (\S+)", sys.argv[1], re.M)); sys.exit(0 if n >= 2 else 1)' \
  "$metrics"
check "the image's HEALTHCHECK is set" test -n "$(podman inspect --format '{{.Config.Healthcheck}}' "$name")"
check "the HEALTHCHECK passes" podman healthcheck run "$name"
uid=$(podman exec "$name" id -u)
check "runs as a non-root user (uid $uid)" test "$uid" != 0
check "the server process is not root" \
  bash -c "podman top '$name' user | tail -n +2 | grep -qv '^root'"

# 4. SIGTERM drains and exits 0 within the drain time (--drain_timeout_s 30 s; podman's
# own SIGKILL would come at 40 s and show as 137).
stop_start=$(date +%s%N)
podman stop -t 40 "$name" > /dev/null
stop_ms=$((($(date +%s%N) - stop_start) / 1000000))
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
check "podman stop: exit status $code in ${stop_ms} ms" test "$code" = 0 -a "$stop_ms" -lt 30000

# 5. Compose: the file as podman-compose reads it, then trm-server + Prometheus, scraping.
if [[ ${TRM_SMOKE_COMPOSE:-1} != 0 ]]; then
  if ! command -v podman-compose > /dev/null; then
    bad "podman-compose missing: scripts/install-deps.sh --image-tools"
  else
    # Prometheus from Debian's package where the registry's image cannot be pulled
    # (deploy/prometheus/Containerfile.debian); PROMETHEUS_IMAGE selects it.
    prometheus=${PROMETHEUS_IMAGE:-}
    if [[ -z $prometheus ]]; then
      if timeout 60 podman pull -q docker.io/prom/prometheus:v2.42.0 > /dev/null 2>&1; then
        prometheus=docker.io/prom/prometheus:v2.42.0
      else
        pm build --quiet "${limits[@]}" --build-arg DEBIAN_IMAGE="$base" -t "$prom_image" \
          -f deploy/prometheus/Containerfile.debian deploy/prometheus > /dev/null
        prometheus=$prom_image
      fi
    fi
    say "prometheus image: $prometheus"
    project=trmsmoke$$
    compose() {
      PROMETHEUS_IMAGE=$prometheus TRM_IMAGE=$image podman-compose -p "$project" \
        --podman-args="${podman_args[*]}" --podman-run-args="${limits[*]}" "$@"
    }
    compose_down() { compose down -v > /dev/null 2>&1 || true; }
    trap 'cleanup; compose_down' EXIT
    # Debian's podman-compose (1.0.3) has no `config`; --dry-run up resolves the whole file
    # (variables, volumes, every service) and prints the podman commands it would run (it does
    # create the project's volumes, which compose_down removes).
    if compose --dry-run up -d > /dev/null 2>&1; then
      ok "podman-compose reads docker-compose.yml (--dry-run up)"
    else
      bad "podman-compose cannot read docker-compose.yml: podman-compose --dry-run up -d"
    fi
    compose up -d --no-build trm-server prometheus > /dev/null 2>&1
    up=""
    for _ in $(seq 1 120); do
      targets=$(curl -s --max-time 5 http://127.0.0.1:9090/api/v1/targets || true)
      if python3 -c 'import json, sys
t = json.loads(sys.argv[1])["data"]["activeTargets"]
sys.exit(0 if any(x["labels"]["job"] == "trm-server" and x["health"] == "up" for x in t) else 1)' \
        "$targets" 2> /dev/null; then
        up=yes
        break
      fi
      sleep 1
    done
    if [[ -n $up ]]; then
      ok "Prometheus scrapes trm-server: /api/v1/targets says up"
      python3 -c 'import json, sys
for x in json.loads(sys.argv[1])["data"]["activeTargets"]:
    print("image_smoke:   target", x["labels"]["job"], x["scrapeUrl"], x["health"])' "$targets"
    else
      bad "Prometheus never scraped trm-server (last /api/v1/targets: ${targets:0:300})"
      compose logs 2>&1 | tail -30
    fi
  fi
fi

say "figures: build ${build_s}, image ${size_mb} MB, SERVING ${serving} ms after start," \
  "stop ${stop_ms} ms"
if ((failures)); then
  say "$failures check(s) failed"
  exit 1
fi
say "all checks passed"
