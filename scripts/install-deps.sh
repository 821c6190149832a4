#!/usr/bin/env bash
# Install what igdd needs to build, run and test on Debian 12.
# Idempotent: installs only missing packages. Needs root (or sudo) when
# something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libexpat1-dev libcmocka-dev
  libnftables-dev libmnl-dev nftables iptables
  iproute2 miniupnpc python3 python3-miniupnpc curl natpmpc
  golang-go golang-github-huin-goupnp-dev
  python3-gi gir1.2-gupnp-1.6 gir1.2-gupnpigd-1.0 python3-libtorrent
  clang libclang-rt-14-dev cppcheck clang-tidy
  mandoc groff-base
  stun-server miniupnpd-nftables
)
# stun-server: stund, the STUN server of tests/netns/test_stun.sh and
# test_doublenat.sh (started by the tests inside their namespaces). Its
# package starts nothing: the init script it installs runs only with
# START_DAEMON=true in /etc/default/stun.
# miniupnpd-nftables: the upstream gateway of tests/netns/test_doublenat.sh
# (/usr/sbin/miniupnpd, started by the test in its namespace). This package
# holds the binary only: no init script, no systemd unit, no maintainer
# scripts; the service comes with the separate package miniupnpd, which is
# not installed.

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm run the npm clients of the namespace tests (tests/npm).
# Debian's only where there is no node at all: one installed otherwise
# (another packaging of it, a newer version) is left alone.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
