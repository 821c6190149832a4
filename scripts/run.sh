#!/usr/bin/env bash
# Build igdd and run it on the sim backend.
#
# As root: in a namespace lab of its own (a gateway namespace running igdd
# and a LAN-client namespace you can run clients in), until Ctrl-C:
#     ip netns exec igdd-lab-lan upnpc -i -l
# Run as a user, the script starts itself again with sudo. With --loopback,
# or as a user without sudo: on the loopback interface, HTTP on
# 127.0.0.1:5000:
#     upnpc -i -u http://127.0.0.1:5000/rootDesc.xml -l
# Other arguments are passed to igdd (e.g. -v for debug logging).
set -euo pipefail
cd "$(dirname "$0")/.."
loopback=0
if [ "${1:-}" = --loopback ]; then
  loopback=1
  shift
elif [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    exec sudo "$PWD/scripts/run.sh" "$@"      # $0 may be relative to another directory
  fi
  echo "run.sh: not root and no sudo: running igdd on the loopback interface" >&2
  loopback=1
fi
./scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"

tmp=$(mktemp -d /tmp/igdd-run.XXXXXX)
GW=igdd-lab-gw
LAN=igdd-lab-lan

cleanup() {
  if [ $loopback -eq 0 ]; then
    ip netns del $GW 2>/dev/null || true
    ip netns del $LAN 2>/dev/null || true
  fi
  rm -rf "$tmp"
}

if [ $loopback -eq 1 ]; then
  cat >"$tmp/igdd.conf" <<CONF
backend = sim
lan_interface = lo
external_ip = 203.0.113.1
http_port = 5000
state_dir = $tmp/state
control_socket = $tmp/igdd.sock
CONF
  trap cleanup EXIT
  echo "igdd on loopback; try: upnpc -i -u http://127.0.0.1:5000/rootDesc.xml -l"
  build/igdd -d -f "$tmp/igdd.conf" "$@"
  exit $?
fi

for ns in $GW $LAN; do
  if ip netns list | grep -qw $ns; then
    echo "namespace $ns exists (another lab running?); remove it with: ip netns del $ns" >&2
    exit 1
  fi
done
trap cleanup EXIT
ip netns add $GW
ip netns add $LAN
ip -n $GW link set lo up
ip -n $LAN link set lo up
ip link add lan0 netns $GW type veth peer name eth0 netns $LAN
ip -n $GW addr add 192.168.88.1/24 dev lan0
ip -n $GW link set lan0 up
ip -n $LAN addr add 192.168.88.2/24 dev eth0
ip -n $LAN link set eth0 up
ip -n $LAN route add default via 192.168.88.1
cat >"$tmp/igdd.conf" <<CONF
backend = sim
lan_interface = lan0
external_ip = 203.0.113.1
http_port = 5000
state_dir = $tmp/state
control_socket = $tmp/igdd.sock
friendly_name = igdd lab gateway
CONF
echo "igdd runs in namespace $GW (LAN 192.168.88.1/24). From another terminal try:"
echo "    ip netns exec $LAN upnpc -i -l      (-i: 203.0.113.1 is a documentation address)"
echo "    ip netns exec $LAN upnpc -i -a 192.168.88.2 8080 8080 TCP 3600"
echo "    ip netns exec $LAN natpmpc -g 192.168.88.1 -a 9000 9000 tcp 3600"
echo "    build/igddctl -s $tmp/igdd.sock list      (the admin's view)"
ip netns exec $GW build/igdd -d -f "$tmp/igdd.conf" "$@"
