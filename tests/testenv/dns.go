package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// DNSServer is a real authoritative DNS server (Knot DNS, Debian package knot) serving one
// zone on a loopback port, stopped when the test ends.
type DNSServer struct {
	// Addr is its host:port, on UDP and TCP.
	Addr string
	// Zone is the zone's name without the final dot ("edge.test").
	Zone string
	out  SyncBuffer
}

// StartDNS starts knotd serving zone (e.g. "edge.test") whose records are given as
// name → addresses, name relative to the zone ("agents" is agents.edge.test; "@" the zone
// itself); IPv4 addresses become A records, IPv6 ones AAAA, all with a TTL of one second.
// When knotd is missing the test is skipped, or fails when CI=true.
func StartDNS(t testing.TB, zone string, records map[string][]string) *DNSServer {
	t.Helper()
	return startKnot(t, zone, records, "", "")
}

// startKnot starts knotd serving zone with records, as StartDNS documents. confExtra goes
// into knot's config before the template (e.g. key and acl sections), zoneExtra into the
// zone's entry (e.g. "    acl: update\n"). The config file is private to the test: it may
// hold a TSIG secret.
func startKnot(t testing.TB, zone string, records map[string][]string, confExtra, zoneExtra string) *DNSServer {
	t.Helper()
	knotd := "/usr/sbin/knotd" // not on every user's PATH
	if _, err := os.Stat(knotd); err != nil {
		knotd = NeedTool(t, "knotd", "knot")
	}
	dir := t.TempDir()
	d := &DNSServer{Addr: freeUDPAndTCP(t), Zone: zone}
	if err := os.WriteFile(filepath.Join(dir, zone+".zone"), []byte(zoneFile(zone, records)), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(d.Addr)
	conf := fmt.Sprintf(`server:
    rundir: %q
    listen: %s@%s
log:
  - target: stderr
    any: notice
database:
    storage: %q
control:
    listen: %q
%stemplate:
  - id: default
    storage: %q
    file: "%%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: %s.
%s`, dir, host, port, dir, filepath.Join(dir, "knot.sock"), confExtra, dir, zone, zoneExtra)
	confPath := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	exited := StartProcess(t, "knotd", exec.Command(knotd, "-c", confPath), &d.out)
	d.waitAnswers(t, exited, records)
	return d
}

// waitAnswers polls until the server answers for one of records' names.
func (d *DNSServer) waitAnswers(t testing.TB, exited <-chan struct{}, records map[string][]string) {
	t.Helper()
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range records {
			if !yield(n) {
				return
			}
		}
	})
	if len(names) == 0 {
		return
	}
	name := d.Name(names[0])
	r := d.Resolver()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := r.LookupIPAddr(ctx, name)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("testenv: knotd exited:\n%s", d.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: knotd does not answer for %s after 30s: %v\n%s", name, err, d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Name is the full name of a record name relative to the zone, without the final dot.
func (d *DNSServer) Name(rel string) string {
	if rel == "@" {
		return d.Zone
	}
	return rel + "." + d.Zone
}

// Resolver is a Go resolver asking this server only.
func (d *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, d.Addr)
	}}
}

// zoneFile is the master file of zone holding records.
func zoneFile(zone string, records map[string][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL 1\n", zone)
	fmt.Fprintf(&b, "@ SOA ns hostmaster 1 3600 900 604800 1\n@ NS ns\nns A 127.0.0.1\n")
	for name, addrs := range records {
		for _, a := range addrs {
			typ := "A"
			if strings.Contains(a, ":") {
				typ = "AAAA"
			}
			fmt.Fprintf(&b, "%s %s %s\n", name, typ, a)
		}
	}
	return b.String()
}

// freeUDPAndTCP returns a loopback address whose port was free on both UDP and TCP at the
// time of the call.
func freeUDPAndTCP(t testing.TB) string {
	t.Helper()
	for range 100 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := u.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		u.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("testenv: no port free on both UDP and TCP")
	return ""
}
