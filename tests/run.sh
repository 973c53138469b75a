#!/usr/bin/env bash
# The test command: on a fresh Debian machine (as root) installs what is missing, configures,
# builds and runs the whole suite with CTest (a throw-away redis-server per run).
#   MLC_BUILD_DIR   build folder (default: build)
#   MLC_CMAKE_ARGS  extra configure arguments (e.g. -DMLC_SANITIZE=address,undefined)
#   MLC_CTEST_ARGS  extra ctest arguments (e.g. -L unit, or -L slow for the slow tests)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev
      libssl-dev libhiredis-dev libcmocka-dev libsqlite3-dev redis-server python3 python3-yaml python3-jsonschema curl
      nodejs npm)
# tests/deploy: kubectl kustomize, promtool (in Debian's prometheus package), nginx, openssl.
pkgs+=(kubernetes-client prometheus nginx-light openssl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm only serve the OpenAPI lint; a machine that has node from elsewhere keeps it.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
# kubectl, nginx and promtool from other packages (e.g. a newer kubectl) are kept as they are.
command -v kubectl >/dev/null 2>&1 && missing=("${missing[@]/kubernetes-client}")
command -v nginx >/dev/null 2>&1 && missing=("${missing[@]/nginx-light}")
command -v promtool >/dev/null 2>&1 && missing=("${missing[@]/prometheus}")
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${MLC_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMLC_WERROR=ON ${MLC_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
# The slow label (container image build, long soaks) runs only when asked for.
# Asking for the slow label (MLC_CTEST_ARGS="-L slow") lifts the default exclusion.
exclude="-LE slow"
case " ${MLC_CTEST_ARGS:-} " in *slow*) exclude="" ;; esac
# shellcheck disable=SC2086
exec ctest --output-on-failure -j2 $exclude ${MLC_CTEST_ARGS:-}
