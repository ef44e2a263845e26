package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/edgectl/edge/edge/passwd"
	"github.com/edgectl/edge/edge/site"
)

func init() {
	register(command{name: "auth", summary: "manage basic-auth users in Vault (auth set-user)", run: runAuth})
}

const authUsage = `usage: edgectl auth set-user --vault-path PATH [--mount MOUNT] USER [flags]

Reads USER's password (twice, not echoed, from a terminal; else the first line of stdin),
hashes it with bcrypt and writes the hash as field USER of the Vault KV v2 secret
MOUNT/PATH, the secret a route's basic_auth names (users: {mount, path}). The other users of
the secret are kept; the write is a check-and-set on the version read, so a concurrent
change makes it fail rather than be lost. Agents pick the change up within a poll interval:
no commit, no restart. Neither the password nor the hash is printed.

Vault: --vault-addr (default $VAULT_ADDR); token from --vault-token-file, else $VAULT_TOKEN,
else ~/.vault-token. The token needs read, create and update on the secret's data path.

Exit status: 0 written, 2 usage, I/O or Vault error.

flags:
`

type authOpts struct {
	mount, path string
	vault       vaultCLI
}

func authFlags(stderr io.Writer, o *authOpts) *flag.FlagSet {
	f := flag.NewFlagSet("auth set-user", flag.ContinueOnError)
	f.SetOutput(stderr)
	f.StringVar(&o.path, "vault-path", "", "path of the users secret below the mount, e.g. edge/auth/admin (required)")
	f.StringVar(&o.mount, "mount", "secret", "KV v2 mount of the users secret")
	o.vault.flags(f)
	return f
}

func runAuth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, ok := subcommand(args, "set-user", authUsage, authFlags(stderr, new(authOpts)), stderr); !ok {
		return code
	}
	return authSetUser(ctx, args[1:], os.Stdin, stdout, stderr)
}

func authSetUser(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	var o authOpts
	f := authFlags(stderr, &o)
	f.Usage = func() { fmt.Fprint(stderr, authUsage); f.PrintDefaults() }
	pos, code, ok := parseArgs(f, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || o.path == "" || pos[0] == "" || strings.ContainsAny(pos[0], ":\x00\r\n") {
		fmt.Fprintln(stderr, "edgectl auth set-user: need --vault-path and one USER (without ':')")
		f.Usage()
		return exitUsage
	}
	user, ref := pos[0], site.SecretRef{Mount: o.mount, Path: o.path}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl auth set-user: %v\n", err)
		return exitUsage
	}
	hash, err := passwd.Hash(pw)
	clear(pw)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl auth set-user: %v\n", err)
		return exitUsage
	}
	vk, ctx, done, err := o.vault.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl auth set-user: %v\n", err)
		return exitUsage
	}
	defer done()
	version, err := vk.PutUser(ctx, ref, user, hash)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl auth set-user: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "user %s: password hash written to vault %s, version %d\n", user, ref, version)
	return exitOK
}

// readPassword reads a password: twice without echo from a terminal, else the first line
// of in. An empty password is refused.
func readPassword(in *os.File, prompt io.Writer) ([]byte, error) {
	var pw []byte
	if fd := int(in.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(prompt, "password: ")
		a, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(prompt, "again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if !bytes.Equal(a, b) {
			return nil, errors.New("the passwords differ")
		}
		pw = a
	} else {
		line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read password from stdin: %w", err)
		}
		pw = bytes.TrimRight(line, "\r\n")
	}
	if len(pw) == 0 {
		return nil, errors.New("empty password")
	}
	return pw, nil
}
