#!/usr/bin/env bash
# The Debian package as an admin meets it (docs/PACKAGING.md):
#   1. build it (dpkg-buildpackage -us -uc -b, from a copy of this tree)
#      and run lintian: no error, no warning; its files are those of
#      `cmake --install` with prefix /usr (plus Debian's copyright and
#      changelog);
#   2. install the .deb with apt into a clean Debian 12 root made with
#      debootstrap (cached as a tarball; every run unpacks a fresh copy),
#      check the user, the files, the conffile, the enabled unit,
#      `systemd-analyze verify` and `igdd -n -f /etc/igdd/igdd.conf`;
#   3. boot that root with systemd-nspawn -b in a network namespace of
#      this script, LAN and WAN on veth pairs to two more: the fresh
#      install's service is skipped with one log line naming
#      lan_interface; once it is set, systemd starts igdd and upnpc, in the
#      LAN namespace, discovers it and adds, lists and deletes a mapping
#      that shows in nftables inside the container;
#   4. purge the package: the user, /etc/igdd and /var/lib/igdd are gone.
#
# Usage: scripts/package-test.sh [--no-boot]     (root; about 5 minutes,
# the first run longer: debootstrap). Work files go to a temporary
# directory under /var/tmp, removed at the end (IGDD_PKGTEST_KEEP=1 keeps
# it); the root's tarball is cached in /var/cache/igdd-package-test.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
boot=1
[ "${1:-}" = --no-boot ] && boot=0
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "package-test: run as root" >&2; exit 1; }
  exec sudo "$PWD/scripts/package-test.sh" "$@"   # $0 may be relative to another directory
fi

need=()
for p in debhelper devscripts dpkg-dev fakeroot lintian debootstrap systemd-container miniupnpc \
         cmake pkgconf libexpat1-dev libmnl-dev libnftables-dev libcmocka-dev mandoc groff-base; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "package-test: installing ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${need[@]}"
fi

work=$(mktemp -d /var/tmp/igdd-pkgtest.XXXXXX)
root=$work/root
gwns=igdd-pkg-gw-$$ lanns=igdd-pkg-lan-$$ wanns=igdd-pkg-wan-$$
lanif=igpl$$ wanif=igpw$$
nspawn_pid=
step() { echo "== $*"; }
leader=
fail() {
  echo "FAIL: $*"
  if [ -n "$leader" ]; then         # the booted container: what systemd says
    nsenter -t "$leader" -a systemctl status igdd --no-pager -l 2>&1 | tail -20 || true
    nsenter -t "$leader" -a journalctl --no-pager -o short-monotonic -n 40 2>&1 || true
  fi
  exit 1
}
cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
  fi
  ip netns del "$lanns" 2>/dev/null || true
  ip netns del "$wanns" 2>/dev/null || true
  ip netns del "$gwns" 2>/dev/null || true
  [ "${IGDD_PKGTEST_KEEP:-0}" = 1 ] && { echo "kept $work"; return; }
  rm -rf "$work"
}
trap cleanup EXIT
# Commands inside the root, not booted (apt, dpkg, checks).
in_root() { SYSTEMD_COLORS=0 systemd-nspawn -q -D "$root" --register=no --keep-unit --console=pipe \
              --setenv=SYSTEMD_COLORS=0 "$@" </dev/null 2>&1 | tr -d '\r' |
              grep -v 'Attempted to remove disk file system' || true; }

# ---- 1. build and lintian
step "build the package"
version=$(sed -n '1s/^igdd (\([^)]*\)).*/\1/p' debian/changelog)
mkdir -p "$work/src/igdd-$version"
git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T - | tar -xf - -C "$work/src/igdd-$version"
(cd "$work/src/igdd-$version" && dpkg-buildpackage -us -uc -b -j2 >"$work/build.log" 2>&1) ||
  { tail -40 "$work/build.log"; fail "dpkg-buildpackage"; }
grep -E '^[0-9]+% tests passed' "$work/build.log" || true
deb=$(ls "$work"/src/igdd_"$version"_*.deb)
echo "built $(basename "$deb")"
step "lintian"
lintian --fail-on error,warning "$work"/src/igdd_"$version"_*.changes >"$work/lintian.log" 2>&1 ||
  { cat "$work/lintian.log"; fail "lintian reports errors or warnings"; }
cat "$work/lintian.log"
echo "lintian: no error, no warning"

# The same files as the README's `cmake --install` with prefix /usr; the
# package adds Debian's copyright and changelog and gzips the man pages.
step "the package's files against cmake --install (prefix /usr)"
{ cmake -S "$work/src/igdd-$version" -B "$work/cmake" -DCMAKE_INSTALL_PREFIX=/usr -DIGDD_TESTS=OFF &&
  cmake --build "$work/cmake" -j2 --target igdd igddctl &&
  DESTDIR="$work/cmake-root" cmake --install "$work/cmake"; } >"$work/cmake.log" 2>&1 ||
  { tail -20 "$work/cmake.log"; fail "cmake --install"; }
(cd "$work/cmake-root" && find . ! -type d | sed 's|^\.||' | sort) >"$work/tree-cmake"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' |
  sed 's|^\.||; s|^\(/usr/share/man/.*\)\.gz$|\1|' |
  grep -Evx '/usr/share/doc/igdd/(copyright|changelog\.gz)' | sort >"$work/tree-deb"
diff -u "$work/tree-cmake" "$work/tree-deb" || fail "the package's files differ from cmake --install's (-cmake +deb)"
echo "the package holds the $(wc -l <"$work/tree-deb") files cmake --install gives, plus copyright and changelog.gz"

# ---- 2. a clean Debian 12 root, the package installed with apt
cache=/var/cache/igdd-package-test
tarball=$cache/bookworm-root.tar
# The host's Debian mirror, from apt's sources (one-line or deb822 format).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
           2>/dev/null | sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p;
                               s/^deb \(http[^ ]*\/debian\)\/* bookworm .*/\1/p' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -f "$tarball" ]; then
  step "debootstrap bookworm from $mirror (cached in $tarball)"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=systemd-sysv,dbus,iproute2 bookworm "$work/boot" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail debootstrap; }
  tar -C "$work/boot" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$work/boot"
fi
step "a fresh Debian 12 root"
mkdir "$root"
tar -C "$root" -xf "$tarball"
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
cp "$deb" "$root/var/tmp/"
# man-db first, as on an admin's system: systemd-analyze verify looks up
# the unit's man: pages with it.
step "apt-get install man-db, then ./$(basename "$deb")"
in_root sh -c "apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends man-db \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q /var/tmp/$(basename "$deb")" \
  >"$work/apt.log"
grep -E '^(Setting up|Created symlink)' "$work/apt.log" || true
grep -q 'Setting up igdd' "$work/apt.log" || { cat "$work/apt.log"; fail "apt-get install"; }

step "the installed package"
in_root sh -c '
  set -e
  getent passwd igdd
  [ "$(stat -c "%U:%G %a" /var/lib/igdd)" = "igdd:igdd 700" ] && echo "/var/lib/igdd igdd:igdd 0700"
  dpkg-query -W -f="conffiles:\${Conffiles}\n" igdd
  echo "is-enabled: $(systemctl is-enabled igdd.service)"
  ls /usr/sbin/igdd /usr/sbin/igddctl /usr/share/man/man8/igdd.8.gz /usr/share/man/man5/igdd.conf.5.gz \
     /usr/share/man/man8/igddctl.8.gz /usr/lib/sysusers.d/igdd.conf /lib/systemd/system/igdd.service
  systemd-analyze verify /lib/systemd/system/igdd.service && echo "systemd-analyze verify: clean"
  echo "igdd -n -f /etc/igdd/igdd.conf (as installed):"
  igdd -n -f /etc/igdd/igdd.conf || echo "exit $?"
  echo "igdd -c -f /etc/igdd/igdd.conf:"
  igdd -c -f /etc/igdd/igdd.conf || echo "exit $?"
' >"$work/checks.log"
cat "$work/checks.log"
grep -q '^igdd:x:.*:/var/lib/igdd:/usr/sbin/nologin$' "$work/checks.log" || fail "user igdd"
grep -q '^/var/lib/igdd igdd:igdd 0700$' "$work/checks.log" || fail "/var/lib/igdd"
grep -q '/etc/igdd/igdd.conf [0-9a-f]\{32\}' "$work/checks.log" || fail "conffile"
grep -q '^is-enabled: enabled$' "$work/checks.log" || fail "unit not enabled"
grep -q '^systemd-analyze verify: clean$' "$work/checks.log" || fail "systemd-analyze verify"
grep -q 'lan_interface is required' "$work/checks.log" || fail "igdd -n on the installed file"
grep -q 'set lan_interface = NAME there' "$work/checks.log" || fail "igdd -c on the installed file"

# ---- 3. boot it
if [ $boot -eq 1 ]; then
  step "boot the root (systemd-nspawn -b), LAN and WAN on veth pairs"
  # The container runs in a namespace of ours (systemd-nspawn cannot take
  # an interface udev has not seen, and there may be no udev here).
  ip netns add "$gwns"
  ip netns add "$lanns"
  ip netns add "$wanns"
  ip -n "$gwns" link add "$lanif" type veth peer name eth0 netns "$lanns"
  ip -n "$gwns" link add "$wanif" type veth peer name eth0 netns "$wanns"
  ip -n "$gwns" link set lo up
  ip -n "$gwns" addr add 192.168.77.1/24 dev "$lanif"
  ip -n "$gwns" link set "$lanif" up
  ip -n "$gwns" addr add 203.0.113.2/24 dev "$wanif"
  ip -n "$gwns" link set "$wanif" up
  ip -n "$lanns" link set lo up
  ip -n "$lanns" addr add 192.168.77.2/24 dev eth0
  ip -n "$lanns" link set eth0 up
  ip -n "$lanns" route add default via 192.168.77.1
  ip -n "$wanns" addr add 203.0.113.1/24 dev eth0
  ip -n "$wanns" link set eth0 up
  ip -n "$gwns" route add default via 203.0.113.1
  # CAP_NET_ADMIN: nspawn keeps it only with a private network of its own.
  systemd-nspawn -q -D "$root" --register=no --keep-unit -b --capability=CAP_NET_ADMIN \
    --network-namespace-path=/run/netns/"$gwns" \
    >"$work/console.log" 2>&1 </dev/null &
  nspawn_pid=$!
  for _ in $(seq 60); do
    # the container's PID 1: the child of systemd-nspawn that runs systemd
    leader=$(ps -o pid=,comm= --ppid "$nspawn_pid" | awk '$2 == "systemd" { print $1 }' || true)
    [ -n "$leader" ] && break
    sleep 1
  done
  [ -n "$leader" ] || fail "the container did not start: $(tail -5 "$work/console.log")"
  in_ct() { nsenter -t "$leader" -a "$@"; }
  state=
  for _ in $(seq 120); do
    state=$(in_ct systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) break;; esac
    sleep 1
  done
  echo "container booted: $state"
  case $state in running|degraded) ;; *) fail "the container did not boot";; esac
  [ "$state" = running ] || in_ct systemctl --failed --no-pager || true

  step "fresh install: the service is skipped, not failed, with one line naming the key"
  in_ct systemctl show igdd -p ActiveState -p SubState -p Result -p ConditionResult | tee "$work/show.log"
  in_ct journalctl -b -u igdd --no-pager -o cat | tee "$work/journal1.log"
  grep -q '^ActiveState=inactive$' "$work/show.log" || fail "igdd not inactive"
  grep -q '^Result=exec-condition$' "$work/show.log" || fail "igdd not skipped by its condition"
  in_ct systemctl is-failed -q igdd && fail "igdd counts as failed"
  echo "systemctl is-failed igdd: $(in_ct systemctl is-failed igdd || true)"
  [ "$(grep -c 'set lan_interface = NAME there' "$work/journal1.log")" -eq 1 ] ||
    fail "want exactly one line naming lan_interface in the journal"

  step "lan_interface set: systemctl start igdd"
  in_ct sed -i "s/^#lan_interface = .*/lan_interface = $lanif/" /etc/igdd/igdd.conf
  in_ct igdd -n -f /etc/igdd/igdd.conf | head -3
  seen=$(wc -l <"$work/journal1.log")     # the unit's journal so far: the skipped start
  in_ct systemctl start igdd
  active=
  for _ in $(seq 60); do
    active=$(in_ct systemctl is-active igdd 2>/dev/null || true)
    [ "$active" = active ] && in_ct journalctl -u igdd --no-pager -o cat | grep -q ' started: backend ' && break
    sleep 1
  done
  in_ct journalctl -b -u igdd --no-pager -o cat | tail -n +$((seen + 1)) | tee "$work/journal2.log"
  [ "$active" = active ] || fail "igdd is $active"
  grep -q 'using igpw[0-9]*, the interface of the IPv4 default route' "$work/journal2.log" ||
    fail "no line about the WAN interface taken from the default route"
  in_ct ps -o user=,comm= -C igdd

  step "upnpc in the LAN namespace"
  ip netns exec "$lanns" timeout 60 upnpc -i -a 192.168.77.2 8080 8080 TCP 3600 >"$work/upnpc-add.log" 2>&1 || true
  cat "$work/upnpc-add.log"
  grep -q 'is redirected to internal 192.168.77.2:8080' "$work/upnpc-add.log" || fail "upnpc -a"
  ip netns exec "$lanns" timeout 60 upnpc -i -l >"$work/upnpc-l.log" 2>&1 || true
  grep -E 'ExternalIPAddress|TCP  8080' "$work/upnpc-l.log"
  grep -q 'ExternalIPAddress = 203.0.113.2' "$work/upnpc-l.log" || fail "upnpc -l: external address"
  in_ct nft list table ip igdd | grep -E '8080' | tee "$work/nft.log"
  [ -s "$work/nft.log" ] || fail "the mapping is not in table ip igdd"
  in_ct igddctl list | tee "$work/ctl.log"
  grep -q '8080' "$work/ctl.log" || fail "igddctl list"
  ip netns exec "$lanns" timeout 60 upnpc -i -d 8080 TCP >/dev/null 2>&1 || true
  in_ct nft list table ip igdd | grep -q 8080 && fail "the mapping stayed after upnpc -d"
  echo "deleted with upnpc -d: gone from table ip igdd"

  step "systemctl stop igdd: the table goes with it"
  in_ct systemctl stop igdd
  in_ct nft list table ip igdd >/dev/null 2>&1 && fail "table ip igdd left after stop"
  echo "table ip igdd removed"
  kill -TERM "$nspawn_pid"
  for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$nspawn_pid" 2>/dev/null && fail "the container did not shut down"
  nspawn_pid=
  echo "container shut down"
fi

# ---- 4. purge
step "apt-get purge igdd"
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q igdd >/dev/null
  getent passwd igdd && echo "user igdd left"
  getent group igdd && echo "group igdd left"
  for p in /etc/igdd /var/lib/igdd /usr/sbin/igdd /lib/systemd/system/igdd.service \
           /etc/systemd/system/multi-user.target.wants/igdd.service; do
    [ -e "$p" ] && echo "left: $p"
  done
  echo purge-checked' >"$work/purge.log"
cat "$work/purge.log"
grep -q '^purge-checked$' "$work/purge.log" || fail "purge"
grep -q 'left' "$work/purge.log" && fail "purge left something"
echo "package-test: all passed"
