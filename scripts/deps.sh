#!/usr/bin/env bash
# Installs the Debian packages krakenml needs (make deps). Idempotent: skips what
# is installed; uses sudo when not root; says clearly what it could not install.
set -u
build_pkgs=(build-essential pkg-config libcurl4-openssl-dev libcjson-dev libcsv-dev libopenblas-dev
            liblapacke-dev libssl-dev)
tool_pkgs=(gnuplot-nox bats bats-assert bats-support ca-certificates time jq chromium slurm-wlm munge)
check_pkgs=(python3 python3-numpy python3-pandas python3-torch)
all=("${build_pkgs[@]}" "${tool_pkgs[@]}" "${check_pkgs[@]}")

missing=()
for p in "${all[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#all[@]} packages are installed"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "deps: not root and no sudo; install these by hand: ${missing[*]}" >&2
    exit 77
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq || echo "deps: apt-get update failed; trying with the lists there are" >&2
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/kml-deps.log 2>&1; then
    # Install one at a time to name exactly what fails.
    for p in "${missing[@]}"; do
        "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$p" >>/tmp/kml-deps.log 2>&1 || true
    done
fi
failed=()
for p in "${missing[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || failed+=("$p")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "deps: could not install: ${failed[*]} (see /tmp/kml-deps.log)" >&2
    for p in "${failed[@]}"; do
        for b in "${build_pkgs[@]}"; do [ "$p" = "$b" ] && exit 69; done
    done
    echo "deps: the build works without them; the tests that need them are skipped" >&2
    exit 0
fi
echo "deps: installed ${#missing[@]} packages"
