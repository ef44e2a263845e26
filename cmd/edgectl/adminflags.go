package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/edgectl/edge/edge"
)

// adminAccessUsage explains the admin listener's access control in the agent's usage.
const adminAccessUsage = `Admin listener: loopback only (127.0.0.1:9443) by default, and then open to local users.
Any other address needs --admin-token-file (requests send "Authorization: Bearer <token>";
browsers, the token as Basic password with any user name; the file is re-read when it
changes, so a token rotates without a restart) or --admin-client-ca (client certificates;
needs --admin-tls-cert/--admin-tls-key), or both, which are then both required;
--admin-insecure starts it open anyway. /healthz and /readyz stay open for probes, and
/webhook/git keeps its own HMAC check (git hosts cannot send the token); everything else
(/metrics, /status, /ui/, /debug/pprof, ...) needs the credentials. Missing or wrong token:
401; no client certificate: 403; one of another CA: the handshake fails. Prometheus:
authorization: {credentials_file: <the token file>}.

`

// defineAdminAccessFlags registers the admin listener's access-control flags on f, into a;
// env adds the environment fallbacks (the agent's) to their usage.
func defineAdminAccessFlags(f *flag.FlagSet, a *edge.AdminAccess, env bool) {
	v := func(usage, name string) string {
		if env {
			return usage + " [" + name + "]"
		}
		return usage
	}
	f.StringVar(&a.TokenFile, "admin-token-file", "", v("file holding the admin bearer token (one line, re-read when it changes); requests but /healthz, /readyz and /webhook/git must send Authorization: Bearer <token>", "EDGE_ADMIN_TOKEN_FILE"))
	f.StringVar(&a.TLSCert, "admin-tls-cert", "", v("PEM certificate (chain) of the admin listener: serve it over HTTPS (with --admin-tls-key; re-read when it changes)", "EDGE_ADMIN_TLS_CERT"))
	f.StringVar(&a.TLSKey, "admin-tls-key", "", v("PEM private key of --admin-tls-cert", "EDGE_ADMIN_TLS_KEY"))
	f.StringVar(&a.ClientCA, "admin-client-ca", "", v("PEM CA bundle: admin requests but the probes need a client certificate it issued (needs --admin-tls-cert)", "EDGE_ADMIN_CLIENT_CA"))
	f.BoolVar(&a.Insecure, "admin-insecure", false, v("allow a non-loopback --admin address without --admin-token-file or --admin-client-ca (anyone reaching it reads /metrics and /status)", "EDGE_ADMIN_INSECURE"))
}

// printDemoAdminAccess says what the demo's admin listener needs beyond the printed
// commands, when its access-control flags are set.
func printDemoAdminAccess(out io.Writer, a edge.AdminAccess) {
	if a.TLSCert != "" {
		fmt.Fprintf(out, "  # the admin listener is on HTTPS: https:// and curl --cacert for %s\n", a.TLSCert)
	}
	if a.ClientCA != "" {
		fmt.Fprintf(out, "  # it wants a client certificate of %s: curl --cert ... --key ...\n", a.ClientCA)
	}
	if a.TokenFile != "" {
		fmt.Fprintf(out, "  # it wants the token: curl -H \"Authorization: Bearer $(cat %s)\" ...\n", a.TokenFile)
	}
}

// adminAccessHint adds to edge.ErrAdminExposed what the operator can do about it.
func adminAccessHint(err error) error {
	if errors.Is(err, edge.ErrAdminExposed) {
		return fmt.Errorf("%w; require a token (--admin-token-file) or client certificates (--admin-client-ca with --admin-tls-cert/--admin-tls-key), bind 127.0.0.1, or accept it with --admin-insecure", err)
	}
	return err
}
