// goupnp_client - the calls Go programs make through goupnp (Tailscale,
// go-libp2p's NAT traversal), against the gateway a namespace test runs.
//
// Usage: goupnp_client LAN-ADDRESS EXTERNAL-ADDRESS SAFETY-SECONDS
//
// It discovers the gateway the way goupnp does (SSDP searches for the
// WANIPConnection:2 and WANIPConnection:1 service types), then runs the
// sequence those programs use: the external address and the connection
// status, GetNATRSIPStatus (go-libp2p requires NAT enabled),
// AddAnyPortMapping with lease 0 (the maximum lease) for a port another
// host holds (another port is reserved), again for its own mapping (an
// update, 2.5.17), GetSpecificPortMappingEntry, GetListOfPortMappings,
// DeletePortMapping (then an error), and the IGD:1 AddPortMapping of an
// older client. Each step
// prints "ok: ..." or "FAIL: ..."; the exit status is 1 after a failure.
//
// goupnp waits a fixed 2.1 s for answers to a search (and 3 s for a
// description): on a slow machine it may find nothing, so a discovery
// that found nothing is made again, for at most SAFETY-SECONDS (the
// tests' safety timeout, tests/netns/lib.sh). Leases are checked against
// the seconds measured since the mapping was made, never a fixed window.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/huin/goupnp/dcps/internetgateway2"
)

var failed bool

func check(ok bool, what string, detail ...interface{}) {
	if ok {
		fmt.Println("ok: goupnp: " + what)
		return
	}
	failed = true
	fmt.Printf("FAIL: goupnp: %s %v\n", what, detail)
}

// discover calls find until it returns a client or an error, at most
// safety long.
func discover[T any](safety time.Duration, find func() ([]T, []error, error)) ([]T, []error, error) {
	end := time.Now().Add(safety)
	for {
		c, errs, err := find()
		if len(c) > 0 || err != nil || time.Now().After(end) {
			return c, errs, err
		}
	}
}

// leaseOK: a lease left of got, from want set at t0, counted down by at
// most the whole seconds since.
func leaseOK(got uint32, want uint32, t0 time.Time) bool {
	el := uint32(time.Since(t0).Seconds()) + 1
	return got <= want && got+el >= want
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: goupnp_client LAN-ADDRESS EXTERNAL-ADDRESS SAFETY-SECONDS")
		os.Exit(2)
	}
	lan, ext := os.Args[1], os.Args[2]
	secs, err := strconv.Atoi(os.Args[3])
	if err != nil || secs < 1 {
		fmt.Fprintln(os.Stderr, "goupnp_client: SAFETY-SECONDS must be a positive integer")
		os.Exit(2)
	}
	safety := time.Duration(secs) * time.Second

	v2, errs, err := discover(safety, internetgateway2.NewWANIPConnection2Clients)
	check(err == nil && len(v2) == 1, "discovers one WANIPConnection:2", err, errs, len(v2))
	if len(v2) == 0 {
		os.Exit(1)
	}
	c := v2[0]

	ip, err := c.GetExternalIPAddress()
	check(err == nil && ip == ext, "GetExternalIPAddress", ip, err)
	status, _, _, err := c.GetStatusInfo()
	check(err == nil && status == "Connected", "GetStatusInfo Connected", status, err)
	_, natEnabled, err := c.GetNATRSIPStatus()
	check(err == nil && natEnabled, "GetNATRSIPStatus NewNATEnabled=1", natEnabled, err)

	// Another LAN host holds TCP/41000 (the test made it with upnpc).
	t0 := time.Now()
	port, err := c.AddAnyPortMapping("", 41000, "TCP", 41000, lan, true, "goupnp", 0)
	check(err == nil && port != 0 && port != 41000,
		"AddAnyPortMapping for a port another host holds reserves another", port, err)
	iport, iclient, enabled, desc, lease, err := c.GetSpecificPortMappingEntry("", port, "TCP")
	check(err == nil && iport == 41000 && iclient == lan && enabled && desc == "goupnp" &&
		leaseOK(lease, 604800, t0),
		"GetSpecificPortMappingEntry (lease 0 became the maximum)", iport, iclient, enabled,
		desc, lease, err)

	// The same client, external port and protocol: the mapping is updated
	// (WANIPConnection:2 2.5.17), not another one made.
	t0 = time.Now()
	again, err := c.AddAnyPortMapping("", port, "TCP", 41001, lan, true, "goupnp 2", 3600)
	check(err == nil && again == port, "AddAnyPortMapping of its own mapping updates it", again, err)
	iport, _, _, desc, lease, err = c.GetSpecificPortMappingEntry("", port, "TCP")
	check(err == nil && iport == 41001 && desc == "goupnp 2" && leaseOK(lease, 3600, t0),
		"GetSpecificPortMappingEntry sees the update", iport, desc, lease, err)

	listing, err := c.GetListOfPortMappings(1, 65535, "TCP", false, 0)
	check(err == nil && strings.Contains(listing,
		fmt.Sprintf("<p:NewExternalPort>%d</p:NewExternalPort>", port)) &&
		strings.Contains(listing, "<p:NewLeaseTime>"),
		"GetListOfPortMappings lists it", err, listing)

	err = c.DeletePortMapping("", port, "TCP")
	check(err == nil, "DeletePortMapping", err)
	// This goupnp reports a UPnP error (714 here) as the HTTP status 500.
	_, _, _, _, _, err = c.GetSpecificPortMappingEntry("", port, "TCP")
	check(err != nil && strings.Contains(err.Error(), "500"),
		"GetSpecificPortMappingEntry after the delete fails", err)
	err = c.DeletePortMapping("", 41000, "TCP")
	check(err != nil, "DeletePortMapping of the other host's mapping is refused", err)

	v1, errs, err := discover(safety, internetgateway2.NewWANIPConnection1Clients)
	check(err == nil && len(v1) == 1, "discovers one WANIPConnection:1 (the IGD:1 view)", err, errs,
		len(v1))
	if len(v1) == 1 {
		err = v1[0].AddPortMapping("", 41100, "UDP", 41100, lan, true, "goupnp v1", 0)
		check(err == nil, "IGD:1 AddPortMapping, lease 0", err)
		iport, iclient, _, _, _, err := v1[0].GetSpecificPortMappingEntry("", 41100, "UDP")
		check(err == nil && iport == 41100 && iclient == lan, "IGD:1 GetSpecificPortMappingEntry",
			iport, iclient, err)
		err = v1[0].DeletePortMapping("", 41100, "UDP")
		check(err == nil, "IGD:1 DeletePortMapping", err)
	}
	if failed {
		os.Exit(1)
	}
}
