// Command vaultserver is the real HashiCorp Vault CLI and server, built from the Go module
// proxy so the end-to-end tests can run a genuine Vault (see ../../../shared/VAULT.md and
// tests/vaultbin). It lives in its own module to keep Vault's dependencies out of edge's go.mod.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
