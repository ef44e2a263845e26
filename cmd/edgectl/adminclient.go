package main

import (
	"flag"

	"github.com/edgectl/edge/reconcile/fleet"
)

// clientFlags are the credentials a client of admin listeners sends (see the agent's
// --admin-token-file, --admin-tls-cert and --admin-client-ca): a bearer token from a file,
// the CA of the listeners' certificates, a client certificate.
type clientFlags struct {
	o fleet.ClientOptions
}

// add registers the flags on f, named prefix+"token-file" and so on, each with the
// environment fallback envPrefix+"TOKEN_FILE" and so on.
func (c *clientFlags) add(f *flag.FlagSet, prefix, envPrefix, whose string) {
	f.StringVar(&c.o.TokenFile, prefix+"token-file", "", "file holding the bearer token "+whose+" admin listeners require (never printed) ["+envPrefix+"TOKEN_FILE]")
	f.StringVar(&c.o.CACert, prefix+"cacert", "", "PEM file of the CA that issued "+whose+" admin listeners' certificates (https:// addresses); empty: the system's ["+envPrefix+"CACERT]")
	f.StringVar(&c.o.Cert, prefix+"cert", "", "PEM client certificate for "+whose+" admin listeners that require one ["+envPrefix+"CERT]")
	f.StringVar(&c.o.Key, prefix+"key", "", "the client certificate's PEM private key ["+envPrefix+"KEY]")
}

// client reads the credentials.
func (c *clientFlags) client() (*fleet.Client, error) {
	return fleet.NewClient(c.o)
}
