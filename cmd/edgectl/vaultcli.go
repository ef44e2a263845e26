package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/edgectl/edge/reconcile/keysource"
)

// vaultCLI holds the Vault flags of the commands an operator writes secrets to Vault with
// (keys put, auth set-user).
type vaultCLI struct {
	addr, tokenFile, caCert string
	timeout                 time.Duration
}

// flags adds --vault-addr, --vault-token-file, --vault-cacert and --timeout to f.
func (v *vaultCLI) flags(f *flag.FlagSet) {
	f.StringVar(&v.addr, "vault-addr", os.Getenv("VAULT_ADDR"), "Vault address")
	f.StringVar(&v.tokenFile, "vault-token-file", "", "file holding the Vault token (default: $VAULT_TOKEN, else ~/.vault-token as vault login leaves it)")
	f.StringVar(&v.caCert, "vault-cacert", "", "PEM file of CAs for Vault's TLS certificate (default: $VAULT_CACERT)")
	f.DurationVar(&v.timeout, "timeout", 30*time.Second, "overall time limit for Vault")
}

// open connects to Vault with the token from --vault-token-file, else $VAULT_TOKEN, else
// ~/.vault-token, and returns ctx bounded by --timeout. done cancels it and closes the client.
func (v *vaultCLI) open(ctx context.Context) (vk *keysource.Vault, vctx context.Context, done func(), err error) {
	tokenFile := v.tokenFile
	if tokenFile == "" && os.Getenv("VAULT_TOKEN") == "" {
		tokenFile = cliTokenFile()
	}
	vk, err = keysource.NewVault(ctx, keysource.VaultConfig{Address: v.addr, TokenFile: tokenFile, CACert: v.caCert})
	if err != nil {
		return nil, nil, nil, err
	}
	cancel := context.CancelFunc(func() {})
	if v.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, v.timeout)
	}
	return vk, ctx, func() { cancel(); vk.Close() }, nil
}

// cliTokenFile returns ~/.vault-token, where `vault login` leaves the operator's token,
// if it exists; else "".
func cliTokenFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	p := filepath.Join(home, ".vault-token")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// subcommand checks that a command with one subcommand (keys put, auth set-user) was given
// it as args[0]. If not, it prints usage and the flags of f to stderr and returns false with
// the exit code: exitOK for -h, --help or help, else exitUsage.
func subcommand(args []string, sub, usage string, f *flag.FlagSet, stderr io.Writer) (code int, ok bool) {
	if len(args) > 0 && args[0] == sub {
		return exitOK, true
	}
	fmt.Fprint(stderr, usage)
	f.PrintDefaults()
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return exitOK, false
	}
	return exitUsage, false
}
