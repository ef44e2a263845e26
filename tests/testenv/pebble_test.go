package testenv

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestStartPebble(t *testing.T) {
	t.Parallel()
	p := StartPebble(t, PebbleOptions{Validity: time.Hour})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.TLSPool}}}
	resp, err := c.Get(p.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dir map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&dir); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"newNonce", "newAccount", "newOrder", "renewalInfo"} {
		if _, ok := dir[k]; !ok {
			t.Errorf("directory has no %s: %v", k, dir)
		}
	}
	if len(p.RootPEM(t)) == 0 {
		t.Fatal("no root")
	}
	_ = p.Roots(t)
	if n := p.Orders(); n != 0 {
		t.Fatalf("orders = %d, want 0", n)
	}
	if got := p.Issued(t); len(got) != 0 {
		t.Fatalf("issued = %v", got)
	}
	p.SetDefaultIPv4(t, "127.0.0.3")
	p.SetA(t, "a.edge.test", "127.0.0.2")
	p.Restart(t)
	if len(p.RootPEM(t)) == 0 {
		t.Fatal("no root after restart")
	}
}
