package fleet

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// DefaultPort is the port of an address that gives none: the admin listener's default.
const DefaultPort = "9443"

// Addr is one parsed agent address (see the package documentation for the syntax).
type Addr struct {
	// Spec is the address as written.
	Spec string
	// TLS is set for https:// addresses.
	TLS bool
	// Host is a host name or an IP address (without brackets); Port is never empty.
	Host, Port string
	// DNS is set for dns: addresses: Host is resolved and each of its addresses asked.
	DNS bool
}

// ParseAddr parses one agent address.
func ParseAddr(spec string) (Addr, error) {
	a := Addr{Spec: spec}
	s := strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(s, "dns:"); ok {
		a.DNS, s = true, rest
	}
	switch {
	case strings.HasPrefix(s, "https://"):
		a.TLS, s = true, strings.TrimPrefix(s, "https://")
	case strings.HasPrefix(s, "http://"):
		s = strings.TrimPrefix(s, "http://")
	case strings.Contains(s, "://"):
		return Addr{}, fmt.Errorf("fleet: address %q: want host:port, https://host:port or dns:host:port", spec)
	}
	s = strings.TrimSuffix(s, "/")
	if s == "" || strings.ContainsAny(s, "/?#@ \t") {
		return Addr{}, fmt.Errorf("fleet: address %q: want host:port, https://host:port or dns:host:port", spec)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if !errors.As(err, &ae) || ae.Err != "missing port in address" {
			return Addr{}, fmt.Errorf("fleet: address %q: %w", spec, err)
		}
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), DefaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Addr{}, fmt.Errorf("fleet: address %q: bad port %q", spec, port)
	}
	if host == "" {
		return Addr{}, fmt.Errorf("fleet: address %q: no host", spec)
	}
	a.Host, a.Port = host, port
	return a, nil
}

// String is the address in its canonical form.
func (a Addr) String() string {
	s := net.JoinHostPort(a.Host, a.Port)
	if a.TLS {
		s = "https://" + s
	}
	if a.DNS {
		s = "dns:" + s
	}
	return s
}

// Peers is a list of agent addresses and of files listing more, read on every Load.
type Peers struct {
	Addrs []Addr
	Files []string
}

// ParsePeers parses entries, each an address or, when it starts with "/" or ".", a file of
// addresses. Entries may themselves be comma-separated lists; empty ones are skipped.
func ParsePeers(entries ...string) (Peers, error) {
	var p Peers
	for _, e := range SplitList(strings.Join(entries, ",")) {
		if strings.HasPrefix(e, "/") || strings.HasPrefix(e, ".") {
			p.Files = append(p.Files, e)
			continue
		}
		a, err := ParseAddr(e)
		if err != nil {
			return Peers{}, err
		}
		p.Addrs = append(p.Addrs, a)
	}
	return p, nil
}

// Empty reports whether p names no address and no file.
func (p Peers) Empty() bool { return len(p.Addrs) == 0 && len(p.Files) == 0 }

// Load returns p's addresses followed by those of its files, each file read now.
func (p Peers) Load() ([]Addr, error) {
	addrs := append([]Addr(nil), p.Addrs...)
	for _, f := range p.Files {
		more, err := ReadAddrFile(f)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, more...)
	}
	return addrs, nil
}

// SplitList splits s at commas and white space, dropping empty entries.
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// ReadAddrFile reads a file of addresses: one or more per line (comma or space separated),
// blank lines and text after # ignored.
func ReadAddrFile(path string) ([]Addr, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	defer f.Close()
	var addrs []Addr
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		for _, e := range SplitList(line) {
			a, err := ParseAddr(e)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			addrs = append(addrs, a)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fleet: %s: %w", path, err)
	}
	return addrs, nil
}
