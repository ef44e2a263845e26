// Command gen writes the fixtures of tests/bench/peers.sh: one set of ECDSA sites made with
// schema/sitegen, served identically by edge and by its peers (Caddy, nginx, HAProxy).
//
// Below -out it writes:
//
//	repo/       the edge config repo (git init + one commit), for `edgectl agent --repo`
//	keys/       the key directory <keys>/<mount>/<path>/<field>.pem (0700/0600)
//	ca.pem      the private CA (tests/testca) that issued every certificate
//	hosts.txt   one line per site: its primary host name
//
// and, with -peers, the same sites for the peers:
//
//	peers/certs/<name>.crt|.key|.pem   chain, key, and both combined (HAProxy)
//	peers/nginx.conf, peers/Caddyfile, peers/haproxy.cfg, peers/crt-list.txt
//
// Everything is for benchmarking on loopback only.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/edgectl/edge/schema/sitegen"
)

// config is what the command line asks for.
type config struct {
	out                               string
	n                                 int
	domain                            string
	backend                           string // host:port of the tiny backend
	peers                             bool
	caddyPort, nginxPort, haproxyPort int
	caddyAdmin                        int // Caddy's admin API port; 0: admin off
}

func main() {
	var c config
	flag.StringVar(&c.out, "out", "", "output directory (required, created)")
	flag.IntVar(&c.n, "n", 1000, "number of sites")
	flag.StringVar(&c.domain, "domain", "bench.test", "parent domain of the site host names")
	flag.StringVar(&c.backend, "backend", "127.0.0.1:3001", "host:port of the backend every site proxies to")
	flag.BoolVar(&c.peers, "peers", false, "also write certificates and configs for Caddy, nginx and HAProxy")
	flag.IntVar(&c.caddyPort, "caddy-port", 0, "Caddy's HTTPS port (with -peers)")
	flag.IntVar(&c.nginxPort, "nginx-port", 0, "nginx's HTTPS port (with -peers)")
	flag.IntVar(&c.haproxyPort, "haproxy-port", 0, "HAProxy's HTTPS port (with -peers)")
	flag.IntVar(&c.caddyAdmin, "caddy-admin", 0, "Caddy's admin API port on 127.0.0.1, for caddy reload (with -peers); 0: admin off")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.out == "" || c.n < 1 {
		return fmt.Errorf("-out is required and -n must be at least 1")
	}
	if c.peers && (c.caddyPort == 0 || c.nginxPort == 0 || c.haproxyPort == 0) {
		return fmt.Errorf("-peers needs -caddy-port, -nginx-port and -haproxy-port")
	}
	repoDir := filepath.Join(c.out, "repo")
	keyDir := filepath.Join(c.out, "keys")
	repo, err := sitegen.WriteRepo(repoDir, c.n, sitegen.Options{
		Domain:    c.domain,
		Upstreams: []string{"http://" + c.backend},
		KeyDir:    keyDir,
	})
	if err != nil {
		return err
	}
	if err := os.Chmod(keyDir, 0o700); err != nil {
		return fmt.Errorf("key dir %s: %w", keyDir, err)
	}
	if err := gitCommit(repoDir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.out, "ca.pem"), repo.CA.CertPEM, 0o644); err != nil {
		return fmt.Errorf("ca.pem: %w", err)
	}
	var hosts bytes.Buffer
	for _, s := range repo.Sites {
		hosts.WriteString(s.Hosts[0] + "\n")
	}
	if err := os.WriteFile(filepath.Join(c.out, "hosts.txt"), hosts.Bytes(), 0o644); err != nil {
		return fmt.Errorf("hosts.txt: %w", err)
	}
	if c.peers {
		return writePeers(filepath.Join(c.out, "peers"), repo.Sites, c)
	}
	return nil
}

// gitCommit makes dir a git repository with everything in it committed on branch main,
// its objects in one pack: a repo of loose objects (git packs them by itself only past 6,700,
// in the background) costs the first clone about 10 times the CPU (git upload-pack
// compresses each), which showed as seconds of an agent's start at 1,000 sites.
func gitCommit(dir string) error {
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=bench", "-c", "user.email=bench@bench.test", "-c", "commit.gpgsign=false",
			"-c", "gc.auto=0", "commit", "-q", "-m", "bench sites"},
		{"repack", "-a", "-d", "-q"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s in %s: %w: %s", args[0], dir, err, out)
		}
	}
	return nil
}
