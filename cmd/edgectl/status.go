package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/fleet"
	"github.com/edgectl/edge/schema"
)

func init() {
	register(command{name: "status", summary: "show what a running agent serves and what failed", run: runStatus})
}

const statusUsage = `usage: edgectl status [flags] [SITE|HOST ...]
       edgectl status --fleet [--want COMMIT] [--wait DURATION] ADDR ...
       edgectl status --fleet-file FILE [--want COMMIT] [--wait DURATION]

Shows what a running agent serves: the commit, the last poll, a rejected revision and why,
and each site's state, revision, certificate expiry and key version; for an issued
certificate, its issuer and state (issuing, issued, renewing, or failed with the reason and
the next attempt). With SITE or HOST arguments, only those sites; with --problems, only
the sites not serving their latest revision (stale or failed).

Exit status: 0 all is served, 1 a revision is rejected or a site shown is stale or failed,
2 the agent cannot be reached or a site is unknown.

With --fleet, the arguments are agents' admin addresses (or comma-separated lists of them),
and with --fleet-file FILE they are read from FILE (one or more per line, # comments). It
shows, per commit, how many agents serve it, and each agent: current, LAGGING (serving
another commit than the target: --want's, else the newest any agent serves), REJECTING (a
rejected revision, with its first diagnostic) or UNREACHABLE. An address is

  host:port                 plain HTTP
  https://host:port         TLS (--cacert, --cert, --key)
  dns:host:port             every A/AAAA record of host, each over plain HTTP
  dns:https://host:port     the same over TLS, certificates verified for host

(port 9443 when none is given). With --wait, it asks again every second until the fleet
has converged or DURATION has passed: what a deploy pipeline runs after a merge, e.g.

  edgectl status --fleet-file /etc/edge/fleet --want "$GIT_COMMIT" --wait 10m

Exit status with --fleet: 0 converged (every agent serves the target and rejects nothing),
1 not converged (at the end of --wait), 2 bad flags, a bad address or an unreadable file.
EDGE_DNS_SERVER=host:port sends the DNS lookups of dns: addresses to that server (for tests).

flags:
`

// runStatus prints an agent's /status for a person, or with --fleet the status of many.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := flag.NewFlagSet("status", flag.ContinueOnError)
	f.SetOutput(stderr)
	f.Usage = func() { fmt.Fprint(stderr, statusUsage); f.PrintDefaults() }
	admin := f.String("admin", "127.0.0.1:9443", "the agent's admin address, host:port or https://host:port [EDGE_ADMIN_LISTEN]")
	asJSON := f.Bool("json", false, "print JSON (the agent's raw /status; with --fleet the fleet summary)")
	problems := f.Bool("problems", false, "list only the sites that are stale or failed")
	var cf clientFlags
	cf.add(f, "", "EDGE_STATUS_", "the")
	var ff fleetFlags
	ff.add(f)
	names, code, ok := parseArgs(f, args)
	if !ok {
		return code
	}
	if err := envFallbacks(f); err != nil {
		fmt.Fprintf(stderr, "edgectl status: %v\n", err)
		return exitUsage
	}
	client, err := cf.client()
	if err != nil {
		fmt.Fprintf(stderr, "edgectl status: %v\n", err)
		return exitUsage
	}
	defer client.CloseIdleConnections()
	if ff.on() {
		return ff.run(ctx, client, names, *asJSON, stdout, stderr)
	}
	if ff.want != "" || ff.wait != 0 {
		fmt.Fprintln(stderr, "edgectl status: --want and --wait go with --fleet or --fleet-file")
		return exitUsage
	}
	st, body, err := fetchStatus(ctx, client, *admin)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl status: %v\n", err)
		return exitUsage
	}
	if *asJSON {
		stdout.Write(body)
		return statusExit(st, st.Sites)
	}
	sites, unknown := selectSites(st.Sites, names, *problems)
	if len(unknown) > 0 {
		fmt.Fprintf(stderr, "edgectl status: no site named or serving %s\n", strings.Join(unknown, ", "))
		return exitUsage
	}
	printStatus(stdout, st, sites)
	return statusExit(st, sites)
}

// fetchStatus reads and decodes the /status of the agent at admin (host:port or
// https://host:port) with client's credentials, and returns it with its raw body.
func fetchStatus(ctx context.Context, client *fleet.Client, admin string) (reconcile.Status, []byte, error) {
	var st reconcile.Status
	a, err := fleet.ParseAddr(admin)
	if err == nil && a.DNS {
		err = fmt.Errorf("--admin %s: a dns: address names many agents: use --fleet", admin)
	}
	if err != nil {
		return st, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t := fleet.Resolve(ctx, nil, []fleet.Addr{a})[0]
	body, err := client.Get(ctx, t, "/status")
	if err != nil {
		return st, nil, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, nil, fmt.Errorf("%s/status: %w", t.URL, err)
	}
	return st, body, nil
}

// statusExit is 1 when a revision is rejected or one of sites is not serving, else 0.
func statusExit(st reconcile.Status, sites []reconcile.SiteStatus) int {
	if st.Rejected != nil {
		return exitInvalid
	}
	for _, s := range sites {
		if s.State != reconcile.SiteServing {
			return exitInvalid
		}
	}
	return exitOK
}

// selectSites keeps the sites named by names (a site name or one of its hosts; all sites
// when names is empty), and with problems only those not serving. It also returns the names
// that matched no site.
func selectSites(all []reconcile.SiteStatus, names []string, problems bool) (sites []reconcile.SiteStatus, unknown []string) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.ToLower(strings.TrimSuffix(n, "."))] = true
	}
	found := make(map[string]bool, len(names))
	for _, s := range all {
		if len(want) > 0 {
			hit := ""
			for _, k := range append([]string{s.Name}, s.Hosts...) {
				if want[k] {
					hit = k
					found[k] = true
				}
			}
			if hit == "" {
				continue
			}
		}
		if problems && s.State == reconcile.SiteServing {
			continue
		}
		sites = append(sites, s)
	}
	for _, n := range names {
		if k := strings.ToLower(strings.TrimSuffix(n, ".")); !found[k] {
			unknown = append(unknown, n)
		}
	}
	return sites, unknown
}

// printStatus prints st for a person, with the table of sites limited to sites.
func printStatus(w io.Writer, st reconcile.Status, sites []reconcile.SiteStatus) {
	fmt.Fprintf(w, "serving   %s (generation %d, since %s)\n", orDash(short(st.Serving.Commit)), st.Serving.Generation, fmtTime(st.Serving.Since))
	if st.Serving.Signer != "" {
		fmt.Fprintf(w, "signed by %s\n", st.Serving.Signer)
	}
	if p := st.Serving.Persisted; p != nil {
		fmt.Fprintf(w, "persisted serving commit %s from the state dir: %s\n", orDash(short(st.Serving.Commit)), p.Reason)
	}
	if st.StateError != "" {
		fmt.Fprintf(w, "state     %s\n", st.StateError)
	}
	p := st.LastPoll
	fmt.Fprintf(w, "last poll %s at %s, %.0f ms", orDash(string(p.Outcome)), fmtTime(p.At), p.Duration*1000)
	if p.Error != "" {
		fmt.Fprintf(w, ": %s", schema.EscapeText(p.Error))
	}
	fmt.Fprintln(w)
	counts := map[reconcile.SiteState]int{}
	for _, s := range st.Sites {
		counts[s.State]++
	}
	fmt.Fprintf(w, "sites     %d: %d serving, %d stale, %d failed\n", len(st.Sites),
		counts[reconcile.SiteServing], counts[reconcile.SiteStale], counts[reconcile.SiteFailed])
	if r := st.Rejected; r != nil {
		fmt.Fprintf(w, "\nREJECTED  %s at %s (still serving %s):\n", short(r.Commit), fmtTime(r.At), orDash(short(st.Serving.Commit)))
		for _, d := range r.Errors {
			fmt.Fprintf(w, "  %s\n", d)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  %s\n", schema.EscapeText(r.Error))
		}
	}
	fmt.Fprintln(w)
	if len(sites) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSTATE\tREVISION\tCERT EXPIRES\tKEY\tHOSTS")
	for _, s := range sites {
		key := "-"
		if s.KeyVersion > 0 {
			key = fmt.Sprintf("v%d", s.KeyVersion)
		}
		exp := "-"
		if s.Passthrough {
			exp = "passthrough"
		}
		if !s.NotAfter.IsZero() {
			exp = fmt.Sprintf("%s (%dd)", s.NotAfter.Format("2006-01-02"), int(time.Until(s.NotAfter).Hours()/24))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, orDash(short(s.Commit)), exp, key, strings.Join(s.Hosts, ","))
	}
	tw.Flush()
	for _, s := range sites {
		if s.Error != "" {
			fmt.Fprintf(w, "\n%s: %s", s.Name, schema.EscapeText(s.Error))
		}
	}
	printIssued(w, sites)
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
