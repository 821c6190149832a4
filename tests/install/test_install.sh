#!/usr/bin/env bash
# install.tree: `cmake --install` into a DESTDIR gives exactly the tree
# docs/PACKAGING.md lists (with prefix /usr: the paths Debian 12 expects);
# the installed unit names installed programs and man pages; the man
# pages render without a warning (mandoc -Tlint, groff -ww); and the
# installed configuration is the unconfigured one the package ships:
# igdd -n names lan_interface, igdd -c exits 1 with one line, and both
# pass once lan_interface is set.
#
# Usage: test_install.sh BUILD_DIR PREFIX SBINDIR CONFDIR UNITDIR SYSUSERSDIR MANDIR DOCDIR
set -euo pipefail
build=$1 prefix=$2 sbindir=$3 confdir=$4 unitdir=$5 sysusersdir=$6 mandir=$7 docdir=$8
tmp=$(mktemp -d /tmp/igdd-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

DESTDIR=$tmp/root cmake --install "$build" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "cmake --install"; }
r=$tmp/root

# Exactly these files, nothing else.
cat >"$tmp/want" <<LIST
$sbindir/igdd
$sbindir/igddctl
$confdir/igdd.conf
$unitdir/igdd.service
$sysusersdir/igdd.conf
$mandir/man5/igdd.conf.5
$mandir/man8/igdd.8
$mandir/man8/igddctl.8
$docdir/CLI.md
$docdir/CONFIG.md
$docdir/LIMITS.md
$docdir/NFT.md
$docdir/PCP.md
$docdir/POLICY.md
$docdir/README.md
$docdir/examples/igdd-fw4.nft
$docdir/examples/igdd-sim.conf
$docdir/examples/igdd.conf
LIST
sort -o "$tmp/want" "$tmp/want"
(cd "$r" && find . -type f -o -type l | sed 's|^\.||' | sort) >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" || fail "installed tree differs from the list (- wanted, + got)"

if [ "$prefix" = /usr ]; then
  # Debian 12: systemd.pc says /lib/systemd/system and /usr/lib/sysusers.d.
  for f in /usr/sbin/igdd /usr/sbin/igddctl /etc/igdd/igdd.conf /usr/share/man/man8/igdd.8 \
           /usr/share/doc/igdd/NFT.md; do
    [ -f "$r$f" ] || fail "prefix /usr: $f not installed"
  done
  [ -f "$r/lib/systemd/system/igdd.service" ] || [ -f "$r/usr/lib/systemd/system/igdd.service" ] ||
    fail "prefix /usr: no unit in /lib/systemd/system"
fi
[ -x "$r$sbindir/igdd" ] && [ -x "$r$sbindir/igddctl" ] || fail "programs not executable"

# The unit names what was installed.
unit=$r$unitdir/igdd.service
grep -qx "ExecStart=$sbindir/igdd -d -f $confdir/igdd.conf" "$unit" || fail "ExecStart: $(grep ExecStart= "$unit")"
grep -qx "ExecCondition=$sbindir/igdd -c -f $confdir/igdd.conf" "$unit" || fail "no ExecCondition igdd -c"
grep -Eq '@[A-Z_]+@' "$unit" && fail "unsubstituted @VAR@ in the unit"
doc=$(sed -n 's/^Documentation=//p' "$unit")
for page in igdd.8 igdd.conf.5 igddctl.8; do
  name=${page%.*} sec=${page##*.}
  case " $doc " in *" man:$name($sec) "*) ;; *) fail "Documentation= lacks man:$name($sec): $doc";; esac
done
for word in $doc; do
  case $word in
    file:*) [ -f "$r${word#file:}" ] || fail "Documentation= names ${word#file:}, not installed";;
  esac
done
grep -qx 'u igdd - "igdd UPnP gateway daemon" /var/lib/igdd' "$r$sysusersdir/igdd.conf" || fail "sysusers file"

# Man pages: no warning from either formatter.
for m in "$r$mandir"/man*/*; do
  out=$(mandoc -Tlint -W warning "$m" 2>&1) || fail "mandoc -Tlint $m: $out"
  [ -z "$out" ] || fail "mandoc -Tlint $m: $out"
  out=$(groff -ww -z -mandoc "$m" 2>&1) || fail "groff -ww $m: $out"
  [ -z "$out" ] || fail "groff -ww $m: $out"
done

# The shipped configuration: valid, but not naming the LAN interface.
conf=$r$confdir/igdd.conf
igdd=$r$sbindir/igdd
if out=$("$igdd" -n -f "$conf" 2>&1); then fail "igdd -n accepted a file without lan_interface"; fi
case $out in *"lan_interface is required"*) ;; *) fail "igdd -n: $out";; esac
if out=$("$igdd" -c -f "$conf" 2>&1); then fail "igdd -c: exit 0 without lan_interface"; fi
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "igdd -c: more than one line: $out"
case $out in *"set lan_interface = NAME"*) ;; *) fail "igdd -c: $out";; esac
printf 'lan_interface = lo\nwan_interface = igddt-wan0\n' >>"$conf"
"$igdd" -n -f "$conf" >"$tmp/norm" || fail "igdd -n with lan_interface set"
grep -qx 'backend = nft' "$tmp/norm" || fail "normalised: $(cat "$tmp/norm")"
"$igdd" -c -f "$conf" || fail "igdd -c with lan_interface set"
# A file with an error passes -c (the start reports it) and exits 78 at start.
printf 'bogus = 1\n' >>"$conf"
"$igdd" -c -f "$conf" 2>/dev/null || fail "igdd -c: a file with an error is for the start to report"
set +e; "$igdd" -d -f "$conf" 2>/dev/null; rc=$?; set -e
[ $rc -eq 78 ] || fail "igdd with a bad file: exit $rc, want 78"
echo "install.tree: $(wc -l <"$tmp/got") files as listed, unit and man pages checked"
