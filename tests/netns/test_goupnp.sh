#!/usr/bin/env bash
# goupnp, the Go UPnP library behind Tailscale and go-libp2p's NAT
# traversal (Debian's golang-github-huin-goupnp-dev, built offline against
# the packaged source), run from a LAN namespace against igdd on the sim
# backend: discovery of WANIPConnection:2 and :1, the calls those programs
# make (tests/netns/goupnp_client.go says which), and the table empty after.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require go
GOSRC=/usr/share/gocode
[ -d $GOSRC/src/github.com/huin/goupnp/dcps/internetgateway2 ] ||
  lab_skip "golang-github-huin-goupnp-dev is not installed"
lab_up
lab_conf "$LAB_DIR/igdd.conf"

mkdir -p "$LAB_DIR/gocache"
# (No time limit on the build: it takes as long as this machine needs.)
if ! GOPATH=$GOSRC GO111MODULE=off GOFLAGS= GOCACHE="$LAB_DIR/gocache" \
  go build -o "$LAB_DIR/goupnp_client" "$HERE/goupnp_client.go" >"$LAB_DIR/go.log" 2>&1; then
  sed 's/^/  go: /' "$LAB_DIR/go.log"
  lab_fail "cannot build the goupnp client"
fi
lab_ok "goupnp client built"

igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
upnpc2() { in_lan2 timeout $LAB_T upnpc -i -u "http://$GW_LAN_IP:$port/rootDesc.xml" "$@" 2>&1; }
out=$(upnpc2 -a $LAN2_IP 5555 41000 TCP 3600)
echo "$out" | grep -q "external $GW_WAN_IP:41000 TCP is redirected" ||
  { echo "$out" | sed 's/^/  | /'; lab_fail "lan2 cannot hold TCP/41000"; }
out=$(in_lan1 "$LAB_DIR/goupnp_client" $LAN1_IP $GW_WAN_IP $LAB_T 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || lab_fail "the goupnp client failed (exit $rc)"
echo "$out" | grep -q "^FAIL" && lab_fail "the goupnp client reported a failure"
[ "$(echo "$out" | grep -c '^ok: goupnp')" -ge 16 ] || lab_fail "the goupnp client did not run every step"

# Everything it added is gone again; lan2's mapping is still there.
out=$(upnpc2 -L)
echo "$out" | grep -Eq "$LAN1_IP" && { echo "$out" | sed 's/^/  | /'; lab_fail "a goupnp mapping was left"; }
echo "$out" | grep -Eq "41000->$LAN2_IP:5555" || { echo "$out" | sed 's/^/  | /'; lab_fail "lan2's mapping is gone"; }
lab_ok "no goupnp mapping left, lan2's kept"
echo "PASS: goupnp"
