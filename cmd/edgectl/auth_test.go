package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/passwd"
	"github.com/edgectl/edge/tests/testenv"
)

// stdinWith returns a file to read input from (a pipe, not a terminal).
func stdinWith(t *testing.T, input string) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	go func() { w.WriteString(input); w.Close() }()
	return r
}

// TestAuthSetUser: edgectl auth set-user writes a bcrypt hash of the password read from
// stdin into the users secret, keeping the other users, and prints neither.
func TestAuthSetUser(t *testing.T) {
	v := testenv.StartVault(t)
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(v.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--vault-addr", v.Addr, "--vault-token-file", tokFile, "--vault-path", "edge/auth/admin"}
	set := func(user, input string) (int, string, string) {
		var o, e bytes.Buffer
		code := authSetUser(context.Background(), append(append([]string{}, flags...), user), stdinWith(t, input), &o, &e)
		return code, o.String(), e.String()
	}
	for _, step := range []struct {
		user, input string
		version     string
	}{{"alice", "first secret\n", "version 1"}, {"bob", "builder\r\n", "version 2"}, {"alice", "second secret", "version 3"}} {
		code, out, errOut := set(step.user, step.input)
		if code != exitOK || !strings.Contains(out, step.version) {
			t.Fatalf("set-user %s: %d %q %q; want %s", step.user, code, out, errOut, step.version)
		}
		if strings.Contains(out+errOut, strings.TrimSpace(step.input)) || strings.Contains(out+errOut, "$2a$") {
			t.Errorf("set-user printed the password or the hash: %q %q", out, errOut)
		}
	}
	s, err := v.Client.KVv2("secret").Get(context.Background(), "edge/auth/admin")
	if err != nil {
		t.Fatal(err)
	}
	for user, pw := range map[string]string{"alice": "second secret", "bob": "builder"} {
		h, _ := s.Data[user].(string)
		ver, err := passwd.Parse(h)
		if err != nil || !ver.Verify([]byte(pw)) || ver.Verify([]byte("first secret")) {
			t.Errorf("%s: hash in vault does not verify %q only (%v)", user, pw, err)
		}
	}
	if code, _, errOut := set("carol", "\n"); code != exitUsage || !strings.Contains(errOut, "empty password") {
		t.Errorf("empty password: %d %q", code, errOut)
	}
	var o, e bytes.Buffer
	if code := authSetUser(context.Background(), []string{"alice"}, stdinWith(t, "x\n"), &o, &e); code != exitUsage {
		t.Errorf("without --vault-path: %d %q", code, e.String())
	}
}
