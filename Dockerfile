# syntax=docker/dockerfile:1
# TRM Serve container image. Multi-stage on Debian 12 (bookworm):
#   build         scripts/install-deps.sh --build-only + scripts/build.sh, as the README builds,
#                 of the shipped programs only
#   runtime       (default target) the binaries, checkpoints/ and only the runtime libraries;
#                 CPU inference on Debian's libtorch 1.13
#   build-cuda    the same build against PyTorch's CUDA libtorch (pip wheel) and NVIDIA's CUDA
#                 toolkit for Debian 12
#   runtime-cuda  runtime libraries + CUDA libtorch; run with the NVIDIA container toolkit
#
#   docker build -t trm-serve .                                  # CPU
#   docker build --target runtime-cuda -t trm-serve:cuda .       # CUDA hosts (see deploy/README.md)
#   build args for the CUDA target: TORCH_VERSION, TORCH_INDEX_URL, CUDA_VERSION, TORCH_CUDA_ARCH_LIST
#
# BuildKit (the default builder since Docker 23) builds only the stages a target needs.
ARG DEBIAN_IMAGE=debian:bookworm

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
WORKDIR /src
# The dependency step first, alone, so it is cached across source changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
# Only the programs the images ship: the tests are built and run by scripts/test.sh, not here.
ARG TRM_BUILD_TARGETS="trm-server trm-client trm-train trm-init-checkpoint"
RUN TRM_BUILD_TARGETS="${TRM_BUILD_TARGETS}" scripts/build.sh
# Collect the programs the images ship (trm-server and trm-client must exist) and the bundled
# checkpoints/ (an empty folder when the checkout has none: mount models there instead).
RUN mkdir -p /out/bin /out/checkpoints && for b in trm-server trm-client trm-train trm-init-checkpoint; do \
      f="$(find build -type f -name "$b" -perm -u+x | head -n 1)"; \
      if [ -n "$f" ]; then cp "$f" /out/bin/; \
      elif [ "$b" = trm-server ] || [ "$b" = trm-client ]; then echo "missing $b" >&2; exit 1; fi; \
    done \
 && if [ -d checkpoints ]; then cp -a checkpoints/. /out/checkpoints/; fi

# ---------------------------------------------------------------------------------------------
FROM build AS build-cuda
# PyTorch's libtorch must use the C++11 ABI (wheels from 2.7 on) to link with Debian's gRPC.
ARG TORCH_VERSION=2.11.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130
ARG CUDA_VERSION=13-0
ARG TORCH_CUDA_ARCH_LIST="8.0;9.0"
# torch's CMake package needs the CUDA toolkit (headers, nvcc) at configure time: NVIDIA's
# repository for Debian 12.
ADD https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb /tmp/
RUN dpkg -i /tmp/cuda-keyring_1.1-1_all.deb && apt-get update \
 && apt-get install -y --no-install-recommends cuda-toolkit-${CUDA_VERSION} python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/local/cuda/bin:${PATH}
RUN python3 -m venv /opt/torch \
 && /opt/torch/bin/pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"
RUN TRM_BUILD_DIR=build-cuda scripts/build.sh \
      -DCMAKE_PREFIX_PATH="$(/opt/torch/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')" \
      -DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST}"
# The shared libraries torch and its nvidia-* wheels bring, at the paths the binaries' RPATH
# names, plus an ld.so.conf for the rest.
RUN rm -rf /out/bin && mkdir -p /out/bin /out/libs && for b in trm-server trm-client trm-train trm-init-checkpoint; do \
      f="$(find build-cuda -type f -name "$b" -perm -u+x | head -n 1)"; \
      if [ -n "$f" ]; then cp "$f" /out/bin/; \
      elif [ "$b" = trm-server ] || [ "$b" = trm-client ]; then echo "missing $b" >&2; exit 1; fi; \
    done \
 && site="$(/opt/torch/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && dirs="${site#/}/torch/lib" && if [ -d "$site/nvidia" ]; then dirs="$dirs ${site#/}/nvidia"; fi \
 && tar -C / -cf - $dirs | tar -C /out/libs -xf - \
 && find "/out/libs${site}" -name '*.so*' -printf '%h\n' | sed "s#^/out/libs##" | sort -u > /out/torch-cuda.conf

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime-cuda
RUN apt-get update && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libre2-9 libc-ares2 \
      libprometheus-cpp-core1.0 libcpp-httplib0.11 \
      libyaml-cpp0.7 libssl3 zlib1g libgomp1 libtcmalloc-minimal4 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-cuda /out/libs/ /
COPY --from=build-cuda /out/torch-cuda.conf /etc/ld.so.conf.d/torch-cuda.conf
RUN ldconfig
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/trm --create-home trm \
 && mkdir -p /var/lib/trm/trained && chown trm:trm /var/lib/trm/trained
COPY --from=build-cuda /out/bin/ /usr/local/bin/
COPY --from=build /out/checkpoints/ /opt/trm/checkpoints/
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER trm
WORKDIR /var/lib/trm
EXPOSE 50051 8080 9464
# A health check on a new connection: it also fails when gRPC 1.51 has stopped accepting
# (CVE-2023-4785), which trm-server's own watchdog turns into an exit first (docs/reliability.md).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["trm-client", "health", "--target=127.0.0.1:50051", "--timeout_s=4"]
ENTRYPOINT ["trm-server"]
CMD ["--listen=0.0.0.0:50051", "--http_listen=0.0.0.0:8080", "--metrics_listen=0.0.0.0:9464", \
     "--checkpoints=/opt/trm/checkpoints"]

# ---------------------------------------------------------------------------------------------
# The default target: CPU inference. Only runtime libraries (no compilers, no -dev packages):
#   libtorch1.13 (Debian's CPU libtorch; apt brings its own runtime dependencies) with
#   libopenblas0-openmp (about 20x faster than the reference BLAS it would otherwise use),
#   gRPC 1.51 (libgrpc++1.51, libgrpc29), protobuf 3.21 (libprotobuf32), abseil
#   (libabsl20220623), re2 and c-ares (gRPC's), prometheus-cpp 1.0 core (the server serves
#   /metrics itself), cpp-httplib 0.11 (HTTP API, web page, /metrics), yaml-cpp 0.7, OpenSSL 3
#   (TLS), zlib, tcmalloc (trm-train's malloc: CMakeLists.txt, TRM_TCMALLOC).
# ctest deploy.runtime_libs (deploy/tests/runtime_libs_test.py) checks this list against what
# the built programs load.
FROM ${DEBIAN_IMAGE} AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends \
      libtorch1.13 libopenblas0-openmp \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libre2-9 libc-ares2 \
      libprometheus-cpp-core1.0 libcpp-httplib0.11 \
      libyaml-cpp0.7 libssl3 zlib1g libgomp1 libtcmalloc-minimal4 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/trm --create-home trm \
 && mkdir -p /var/lib/trm/trained && chown trm:trm /var/lib/trm/trained
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/checkpoints/ /opt/trm/checkpoints/
USER trm
WORKDIR /var/lib/trm
# 50051: gRPC (trm.v1, grpc.health.v1, reflection); 8080: HTTP/JSON API and the web page;
# 9464: Prometheus /metrics.
EXPOSE 50051 8080 9464
# A health check on a new connection: it also fails when gRPC 1.51 has stopped accepting
# (CVE-2023-4785), which trm-server's own watchdog turns into an exit first (docs/reliability.md).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["trm-client", "health", "--target=127.0.0.1:50051", "--timeout_s=4"]
ENTRYPOINT ["trm-server"]
CMD ["--listen=0.0.0.0:50051", "--http_listen=0.0.0.0:8080", "--metrics_listen=0.0.0.0:9464", \
     "--checkpoints=/opt/trm/checkpoints"]
