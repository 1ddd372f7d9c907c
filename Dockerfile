# syntax=docker/dockerfile:1
# Dorset Digital: one image with all three servers (dorset-registry, dorset-finance, dorset-engagement), the
# HTTP/JSON gateway (dorset-gateway) and the
# dorsetctl client.
#
# Why one image and not three: the three binaries share the same runtime (gRPC, protobuf, abseil, SQLite, hiredis,
# prometheus-cpp, spdlog, OpenSSL). Those shared libraries are almost all of the image's size and each binary adds
# only about 2 MB (measured: 7.6 MB for all four programs in a 232 MB image), so three images would be three
# copies of the same layer stack for little gain. One build compiles
# the shared runtime once, one image is one set of packages to scan and patch (one CVE surface, one rebuild when a
# library is fixed), and all services always ship at the same version. The Kubernetes StatefulSet (or compose
# service) chooses which binary runs through its `command`; the image has no ENTRYPOINT that would hide that.
#
# Build:   docker build -t dorset-digital:0.1.0 .
#          podman build --build-arg BASE_IMAGE=localhost/dorset-base:bookworm -t dorset-digital:test .
#          (scripts/test-images makes that base with debootstrap where no registry is reachable)
ARG BASE_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build
ARG BUILD_JOBS=2
# The installed programs. Building only them skips the tests and benchmarks (cmake --install needs every
# target that has an install() rule to be built; these are the ones that do). Empty, or a name that is not a
# target, = build everything.
ARG BUILD_TARGETS="dorset-registry dorset-finance dorset-engagement dorset-gateway dorsetctl dorset-store"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev grpc-proto \
      libhiredis-dev libsqlite3-dev libgtest-dev libgmock-dev prometheus-cpp-dev libcpp-httplib-dev \
      libspdlog-dev libssl-dev nlohmann-json3-dev libpq-dev \
      golang-github-grpc-ecosystem-grpc-gateway-dev \
 && rm -rf /var/lib/apt/lists/*
# (the last package: google/api/annotations.proto and http.proto for the contracts' HTTP bindings, docs/contracts.md)
WORKDIR /src
COPY . .
RUN set -eu; \
    cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release; \
    targets=""; \
    for t in ${BUILD_TARGETS}; do \
      if ninja -C /build -t targets all | grep -q "^$t:"; then targets="$targets $t"; else targets=""; break; fi; \
    done; \
    if [ -n "$targets" ]; then cmake --build /build -j "${BUILD_JOBS}" --target $targets; \
    else echo "building every target"; cmake --build /build -j "${BUILD_JOBS}"; fi; \
    cmake --install /build --prefix /opt/dorset --strip; \
    ls -l /opt/dorset/bin
# Map every shared library the installed programs load (ldd) to the Debian package that ships it, so the runtime
# stage installs exactly those packages and nothing from the build toolchain. With the current dependencies this
# is: libabsl20220623 libbrotli1 libc-ares2 libc6 libcpp-httplib0.11 libfmt9 libgcc-s1 libgrpc++1.51 libgrpc29
# libhiredis0.14 libprometheus-cpp-core1.0 libprotobuf32 libre2-9 libspdlog1.10 libsqlite3-0 libssl3 libstdc++6
# zlib1g (and what they depend on).
RUN set -eu; \
    for f in /opt/dorset/bin/*; do ldd "$f"; done \
      | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u > /tmp/libs; \
    test -s /tmp/libs; \
    while read -r lib; do \
      real=$(readlink -f "$lib"); pkg=""; \
      for p in "$lib" "$real" "/usr$lib" "${lib#/usr}" "/usr$real" "${real#/usr}"; do \
        pkg=$(dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$pkg" ] && break; \
      done; \
      if [ -z "$pkg" ]; then echo "no Debian package ships $lib" >&2; exit 1; fi; \
      echo "$pkg"; \
    done < /tmp/libs | sort -u > /opt/dorset/runtime-packages.txt; \
    echo "runtime packages:"; cat /opt/dorset/runtime-packages.txt

# ---------------------------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
# Operator tools beyond the shared libraries: the sqlite3 shell (about 1.5 MB) for online backups
# (`.backup` / VACUUM INTO) and integrity checks with `kubectl exec` (docs/operations.md). Empty = none.
ARG RUNTIME_TOOLS="sqlite3"
COPY --from=build /opt/dorset/runtime-packages.txt /usr/share/dorset/runtime-packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(cat /usr/share/dorset/runtime-packages.txt) ${RUNTIME_TOOLS} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
 && groupadd --gid 10001 dorset \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/dorset --no-create-home \
      --shell /usr/sbin/nologin dorset \
 && mkdir -p /var/lib/dorset /etc/dorset \
 && chown 10001:10001 /var/lib/dorset
COPY --from=build /opt/dorset/bin/ /usr/local/bin/
# Each server keeps its SQLite store in DORSET_DATA_DIR: mount a writable volume there (a PVC in Kubernetes).
# The root filesystem can and should be read-only.
ENV DORSET_DATA_DIR=/var/lib/dorset
VOLUME ["/var/lib/dorset"]
WORKDIR /var/lib/dorset
USER 10001:10001
# gRPC 50051-50053, ops HTTP (/livez /readyz /metrics) 8081-8083; registry/finance/engagement in that order.
EXPOSE 50051 50052 50053 8081 8082 8083
# No ENTRYPOINT: the deployment chooses the program, e.g. `dorset-finance` or `dorsetctl health ...`.
CMD ["dorsetctl", "help"]
