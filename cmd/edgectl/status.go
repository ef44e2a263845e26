package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgectl/edge/reconcile"
)

func init() {
	register(command{name: "status", summary: "show what a running agent serves and what failed", run: runStatus})
}

// runStatus prints an agent's /status for a person. Exit 0 when everything declared is
// served, 1 when a revision is rejected or a site is stale or failed, 2 when the agent cannot
// be reached.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := flag.NewFlagSet("status", flag.ContinueOnError)
	f.SetOutput(stderr)
	admin := f.String("admin", env("EDGE_ADMIN_LISTEN", "127.0.0.1:9443"), "the agent's admin address [EDGE_ADMIN_LISTEN]")
	asJSON := f.Bool("json", false, "print the raw JSON")
	if code, ok := parseFlags(f, args, stderr); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := "http://" + strings.TrimPrefix(*admin, "http://") + "/status"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl status: %v\n", err)
		return exitUsage
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "edgectl status: %s: %s %v\n", url, resp.Status, err)
		return exitUsage
	}
	var st reconcile.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "edgectl status: %s: %v\n", url, err)
		return exitUsage
	}
	if *asJSON {
		stdout.Write(body)
	} else {
		printStatus(stdout, st)
	}
	if st.Rejected != nil {
		return exitInvalid
	}
	for _, s := range st.Sites {
		if s.State != reconcile.SiteServing {
			return exitInvalid
		}
	}
	return exitOK
}

func printStatus(w io.Writer, st reconcile.Status) {
	short := func(c string) string { return c[:min(len(c), 12)] }
	fmt.Fprintf(w, "serving   %s (generation %d, since %s)\n", orDash(short(st.Serving.Commit)), st.Serving.Generation, fmtTime(st.Serving.Since))
	if st.Serving.Signer != "" {
		fmt.Fprintf(w, "signed by %s\n", st.Serving.Signer)
	}
	p := st.LastPoll
	fmt.Fprintf(w, "last poll %s at %s, %.0f ms", orDash(p.Outcome), fmtTime(p.At), p.Duration*1000)
	if p.Error != "" {
		fmt.Fprintf(w, ": %s", p.Error)
	}
	fmt.Fprintln(w)
	if r := st.Rejected; r != nil {
		fmt.Fprintf(w, "\nREJECTED  %s at %s (still serving %s):\n", short(r.Commit), fmtTime(r.At), orDash(short(st.Serving.Commit)))
		for _, d := range r.Errors {
			fmt.Fprintf(w, "  %s\n", d)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  %s\n", r.Error)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSTATE\tREVISION\tCERT EXPIRES\tKEY\tHOSTS")
	for _, s := range st.Sites {
		key := "-"
		if s.KeyVersion > 0 {
			key = fmt.Sprintf("v%d", s.KeyVersion)
		}
		exp := "-"
		if !s.NotAfter.IsZero() {
			exp = fmt.Sprintf("%s (%dd)", s.NotAfter.Format("2006-01-02"), int(time.Until(s.NotAfter).Hours()/24))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, orDash(short(s.Revision)), exp, key, strings.Join(s.Hosts, ","))
	}
	tw.Flush()
	for _, s := range st.Sites {
		if s.Error != "" {
			fmt.Fprintf(w, "\n%s: %s", s.Name, s.Error)
		}
	}
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
