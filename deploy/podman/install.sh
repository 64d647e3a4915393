#!/usr/bin/env bash
# Installs the container engine hivebus builds and runs agent images with: podman (with runc,
# since crun fails on these machines) and debootstrap, which builds the base image locally
# because no image registry is reachable. Idempotent: when everything is there it only checks.
# Use the engine with the project's settings: export CONTAINERS_CONF=deploy/podman/containers.conf
set -euo pipefail

packages=(podman runc debootstrap)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install.sh: ${missing[*]} missing and this is no Debian/Ubuntu system (no apt-get);" \
        "install podman, runc and debootstrap with your package manager" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: ${missing[*]} missing; run this script as root (or: sudo $0)" >&2
    exit 1
fi
echo "installing ${missing[*]} (apt-get, first run only)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: $(podman --version)"
