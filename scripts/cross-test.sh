#!/usr/bin/env bash
# Build igdd, igddctl and their unit, golden and fuzz-corpus tests for a
# router-like CPU with Debian's cross toolchain, and run the tests under
# qemu-user (docs/PACKAGING.md, "Other CPUs"):
#
#   armhf   32-bit ARM, little-endian (gcc-arm-linux-gnueabihf)
#   s390x   64-bit, big-endian (gcc-s390x-linux-gnu): the byte-order check
#   mipsel  32-bit MIPS, little-endian (gcc-mipsel-linux-gnu)
#
# Usage: scripts/cross-test.sh ARCH     (as root, or with sudo available)
#
# The target's libraries are Debian's multiarch packages (libexpat1-dev,
# libmnl-dev, libnftables-dev, libcmocka-dev and libc6 for ARCH), fetched
# with `apt-get download` and unpacked into build-cross-ARCH/sysroot
# rather than installed: Multi-Arch: same packages must carry the same
# version on every architecture, and the archive's versions for ARCH need
# not match the host's, so installing them could force an upgrade or a
# downgrade of the host's own packages. The namespace tests are not run
# (they need the host's clients and kernel, not the target's).
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-}
case $arch in
  armhf) triplet=arm-linux-gnueabihf; qemu=qemu-arm-static; cpu=arm ;;
  s390x) triplet=s390x-linux-gnu; qemu=qemu-s390x-static; cpu=s390x ;;
  mipsel) triplet=mipsel-linux-gnu; qemu=qemu-mipsel-static; cpu=mipsel ;;
  *) echo "usage: scripts/cross-test.sh armhf|s390x|mipsel" >&2; exit 2 ;;
esac

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "cross-test: run as root (no sudo here)" >&2; exit 1; }
  SUDO=sudo
fi
apt_get() { $SUDO apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# The cross compiler, qemu-user and binutils for ARCH.
need=()
for p in gcc-$triplet binutils-$triplet qemu-user-static dpkg-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "cross-test: installing ${need[*]}"
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${need[@]}"
fi

out=build-cross-$arch
sysroot=$PWD/$out/sysroot
# The target's runtime and -dev packages (and libnftables1's own
# dependencies: test_priv links it).
pkgs=(libc6 libc6-dev linux-libc-dev libgcc-s1 libexpat1 libexpat1-dev libmnl0 libmnl-dev
      libnftables1 libnftables-dev libnftnl11 libjansson4 libgmp10 libxtables12 libedit2
      libbsd0 libtinfo6 libmd0 libcmocka0 libcmocka-dev)
if [ ! -f "$sysroot/.done" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    echo "cross-test: dpkg --add-architecture $arch"
    $SUDO dpkg --add-architecture "$arch"
    apt_get update -qq
  elif ! apt-cache show "libc6:$arch" >/dev/null 2>&1; then
    apt_get update -qq
  fi
  rm -rf "$out/debs" "$sysroot"
  mkdir -p "$out/debs" "$sysroot"
  (cd "$out/debs" && apt-get download "${pkgs[@]/%/:$arch}" 2>&1 | grep -v "^Get:\|unsandboxed" || true)
  for d in "$out"/debs/*.deb; do dpkg-deb -x "$d" "$sysroot"; done
  touch "$sysroot/.done"
fi

cat >"$out/toolchain.cmake" <<TC
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $cpu)
set(CMAKE_C_COMPILER $triplet-gcc)
set(CMAKE_SYSROOT $sysroot)
set(CMAKE_FIND_ROOT_PATH $sysroot)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR $qemu;-L;$sysroot)
TC
export PKG_CONFIG_LIBDIR=$sysroot/usr/lib/$triplet/pkgconfig:$sysroot/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$sysroot
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$out/build" -DCMAKE_TOOLCHAIN_FILE="$PWD/$out/toolchain.cmake" \
  -DIGDD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out/build" -j"$jobs"

echo "== $arch: $(file -b "$out/build/igdd" | cut -d, -f1-2)"
# Under qemu-user the target's loader and libraries come from the sysroot
# (-L, in the emulator line above); the tests read their data from the
# source tree. unit.test_ssdp needs UDP 1900 on the host's loopback,
# which the host's own test run may hold: left to the native suite.
ctest --test-dir "$out/build" --output-on-failure -j"$jobs" \
  -R '^(unit|golden|fuzz)' -E 'unit\.test_ssdp$'

# Stripped sizes (docs/PACKAGING.md).
for b in igdd igddctl; do
  $triplet-strip -o "$out/$b.stripped" "$out/build/$b"
  echo "stripped $arch $b: $(stat -c %s "$out/$b.stripped") bytes"
done
