package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgectl/edge/reconcile/fleet"
	"github.com/edgectl/edge/schema"
)

// fleetFlags are status's flags for many agents: --fleet, --fleet-file, --want, --wait.
type fleetFlags struct {
	fleet       listOrBool
	file        string
	want        string
	wait        time.Duration
	concurrency int
	timeout     time.Duration
}

// listOrBool is --fleet: alone, the arguments are addresses; --fleet=a,b names them itself.
type listOrBool struct {
	set  bool
	list []string
}

func (l *listOrBool) String() string   { return strings.Join(l.list, ",") }
func (l *listOrBool) IsBoolFlag() bool { return true }
func (l *listOrBool) Set(v string) error {
	l.set = true
	if v != "true" {
		l.list = append(l.list, v)
	}
	return nil
}

func (ff *fleetFlags) add(f *flag.FlagSet) {
	f.Var(&ff.fleet, "fleet", "the arguments are agents' admin addresses (see above); or --fleet=ADDR,ADDR")
	f.StringVar(&ff.file, "fleet-file", "", "file of agents' admin addresses, one or more per line, # comments")
	f.StringVar(&ff.want, "want", "", "with --fleet: the commit (or a prefix of at least 4 hex digits) every agent must serve; empty: the newest any agent serves")
	f.DurationVar(&ff.wait, "wait", 0, "with --fleet: ask again every second until the fleet has converged or this much time has passed")
	f.IntVar(&ff.concurrency, "concurrency", 16, "with --fleet: how many agents to ask at once")
	f.DurationVar(&ff.timeout, "timeout", 5*time.Second, "with --fleet: how long one agent may take to answer")
}

// on reports whether status runs for a fleet.
func (ff *fleetFlags) on() bool { return ff.fleet.set || ff.file != "" }

var commitPrefix = regexp.MustCompile(`^[0-9a-f]{4,64}$`)

// checker returns the fleet checker ff and the address arguments ask for.
func (ff *fleetFlags) checker(client *fleet.Client, args []string) (*fleet.Checker, error) {
	if ff.want != "" && !commitPrefix.MatchString(ff.want) {
		return nil, fmt.Errorf("--want %q: want a commit hash or a prefix of at least 4 lowercase hex digits", ff.want)
	}
	if ff.wait < 0 || ff.concurrency < 1 || ff.timeout <= 0 {
		return nil, errors.New("--wait, --concurrency and --timeout must be positive")
	}
	entries := append(ff.fleet.list, args...)
	peers, err := fleet.ParsePeers(entries...)
	if err != nil {
		return nil, err
	}
	if len(peers.Files) > 0 {
		return nil, fmt.Errorf("%s: a file of addresses goes with --fleet-file", peers.Files[0])
	}
	if ff.file != "" {
		peers.Files = []string{ff.file}
	}
	addrs, err := peers.Load() // read now: a bad file is a usage error, not a fleet state
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, errors.New("--fleet: no agent address given")
	}
	return &fleet.Checker{Peers: peers, Client: client, Resolver: fleet.ResolverFromEnv(),
		Fetch: fleet.FetchOptions{Concurrency: ff.concurrency, Timeout: ff.timeout}}, nil
}

// run checks the fleet, again every second until it converges for --wait, prints the last
// summary and returns 0 when the fleet has converged, else 1.
func (ff *fleetFlags) run(ctx context.Context, client *fleet.Client, args []string, asJSON bool, stdout, stderr io.Writer) int {
	c, err := ff.checker(client, args)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl status: %v\n", err)
		return exitUsage
	}
	deadline := time.Now().Add(ff.wait)
	var s fleet.Summary
	for progress := ""; ; {
		if s, err = c.Check(ctx, ff.want); err != nil {
			fmt.Fprintf(stderr, "edgectl status: %v\n", err)
			return exitUsage
		}
		if s.Converged || ff.wait == 0 || !time.Now().Before(deadline) {
			break
		}
		if p := progressLine(s); p != progress {
			fmt.Fprintf(stderr, "waiting: %s\n", p)
			progress = p
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Second, time.Until(deadline))):
		}
		if ctx.Err() != nil {
			break
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s)
	} else {
		printFleet(stdout, s)
	}
	if s.Converged {
		return exitOK
	}
	return exitInvalid
}

// progressLine is one line saying how far the fleet is from converging.
func progressLine(s fleet.Summary) string {
	return fmt.Sprintf("%d of %d agents serve %s (%d lagging, %d rejecting, %d unreachable)", s.Counts[fleet.Current],
		len(s.Agents), orDash(short(s.Target)), s.Counts[fleet.Lagging], s.Counts[fleet.Rejecting], s.Counts[fleet.Unreachable])
}

// printFleet prints s for a person: the verdict, the commits, the agents.
func printFleet(w io.Writer, s fleet.Summary) {
	verdict := "converged"
	if !s.Converged {
		verdict = "NOT converged"
	}
	fmt.Fprintf(w, "fleet     %s: %s\n", verdict, progressLine(s))
	target := "the newest served"
	if s.Want != "" {
		target = "--want " + s.Want
	}
	fmt.Fprintf(w, "target    %s (%s)\n\n", orDash(short(s.Target)), target)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMMIT\tAGENTS\tCOMMITTED\t")
	for _, c := range s.Commits {
		mark := ""
		if c.Target {
			mark = "target"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", short(c.Commit), c.Agents, fmtTime(c.CommitTime), mark)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tSTATE\tCOMMIT\tSINCE\tDETAIL")
	for _, a := range s.Agents {
		state := string(a.State)
		if a.State != fleet.Current {
			state = strings.ToUpper(state)
		}
		detail := schema.EscapeText(a.Error)
		if a.SitesFailing > 0 {
			detail = strings.TrimPrefix(detail+fmt.Sprintf("; %d sites stale or failed", a.SitesFailing), "; ")
		}
		addr := a.Addr
		if a.Name != "" && !strings.HasPrefix(addr, "dns:") {
			addr += " (" + a.Name + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", addr, state, orDash(short(a.Commit)), fmtTime(a.Since), detail)
	}
	tw.Flush()
}
