package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema"
)

func init() {
	register(command{name: "plan", summary: "show what changes between two revisions of a config repo", run: runPlan})
}

const planUsage = `usage: edgectl plan [flags] BASE HEAD

Compares two revisions of the config repo (branches, tags, hashes or expressions such as
HEAD~1): sites and host names added, removed and changed, and what changed in each (hosts,
routes, upstreams and their weights, certificate, key reference, redirects, headers), plus
certificates that expire soon. --format markdown suits a pull-request comment.

Changes that weaken a site's protection come first, marked "security" (in JSON:
plan.security): a protection removed from a site or a route (e.g. HSTS), requests moved
to a route without the protection of the route that served them, a host moved to a site
without it; a protection that changed is listed for review.

Files are evaluated in child processes with the limits --eval-memory and --eval-timeout.

Exit status: 0 HEAD is valid, 1 HEAD is invalid (its errors are shown), 2 usage or I/O error.

flags:
`

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl, vf := newCheckFlags("plan", planUsage, []string{"text", "markdown", "json"}, "output format: text, markdown or json", stderr)
	repo := fl.String("repo", ".", "the git repository of the config repo")
	subdir := fl.String("subdir", "", "the repository's directory holding the config (as the agent's --subdir)")
	pos, code, ok := vf.parse(fl, args, stderr)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		fmt.Fprintf(stderr, "edgectl plan: want BASE and HEAD revisions; got %d arguments\n", len(pos))
		fl.Usage()
		return exitUsage
	}
	// One loader for both: head's files unchanged since base (same git blob) are not
	// evaluated again.
	loader := schema.NewLoader(vf.loaderOptions())
	load := func(rev string) (*gitsource.Revision, *schema.Config, schema.Diagnostics, error) {
		r, err := gitsource.ReadRevision(ctx, *repo, rev, *subdir)
		if err != nil {
			return nil, nil, nil, err
		}
		cfg, err := loader.LoadContext(ctx, r.FS)
		var ds schema.Diagnostics
		if err != nil && !errors.As(err, &ds) {
			return nil, nil, nil, err
		}
		return r, cfg, ds, nil
	}
	baseRev, base, _, err := load(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "edgectl plan: base %s: %v\n", pos[0], err)
		return exitUsage
	}
	headRev, head, headDiags, err := load(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "edgectl plan: head %s: %v\n", pos[1], err)
		return exitUsage
	}
	r := planReport{
		Base: revInfo{Rev: pos[0], Commit: baseRev.Commit, Valid: base != nil},
		Head: revInfo{Rev: pos[1], Commit: headRev.Commit, Valid: head != nil},
	}
	if head == nil {
		r.Errors = headDiags
	} else {
		r.Warnings = head.Warnings
		r.Plan = schema.Diff(base, head)
	}
	if prefix := subdirPrefix(*subdir); prefix != "" {
		for _, ds := range []schema.Diagnostics{r.Errors, r.Warnings} {
			for i := range ds {
				ds[i].File = path.Join(prefix, ds[i].File)
			}
		}
	}
	switch vf.format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	case "markdown":
		r.markdown(stdout)
	default:
		r.text(stdout)
	}
	if head == nil {
		return exitInvalid
	}
	return exitOK
}

type revInfo struct {
	Rev    string `json:"rev"`
	Commit string `json:"commit"`
	Valid  bool   `json:"valid"`
}

// planReport is the outcome of edgectl plan.
type planReport struct {
	Base     revInfo            `json:"base"`
	Head     revInfo            `json:"head"`
	Plan     *schema.Plan       `json:"plan,omitempty"`
	Errors   schema.Diagnostics `json:"errors,omitempty"`
	Warnings schema.Diagnostics `json:"warnings,omitempty"`
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func (r *planReport) text(w io.Writer) {
	fmt.Fprintf(w, "plan %s (%s) → %s (%s)\n", r.Base.Rev, short(r.Base.Commit), r.Head.Rev, short(r.Head.Commit))
	if !r.Base.Valid {
		fmt.Fprintln(w, "note: the base revision is not valid; every head site is shown as added")
	}
	if r.Plan == nil {
		fmt.Fprintf(w, "\nHEAD is invalid (%s):\n", plural(len(r.Errors), "problem"))
		for _, d := range r.Errors {
			fmt.Fprintln(w, "  "+d.String())
		}
		return
	}
	p := r.Plan
	if len(p.Security) > 0 {
		fmt.Fprintf(w, "\nsecurity review (%d): changes that weaken or alter a site's protection\n", len(p.Security))
		for _, s := range p.Security {
			fmt.Fprintf(w, "  ! %s\n", s.Message)
		}
	}
	if p.Empty() {
		fmt.Fprintf(w, "\nno site changes (%s unchanged)\n", plural(p.Unchanged, "site"))
	}
	for _, s := range p.Added {
		fmt.Fprintf(w, "\n+ site %s (%s)\n    hosts: %s\n", s.Name, s.File, strings.Join(s.Hosts, ", "))
		switch {
		case s.Passthrough != "":
			fmt.Fprintf(w, "    passthrough: %s\n", s.Passthrough)
		case s.Issuer != "":
			fmt.Fprintf(w, "    cert:  issued by %s\n", s.Issuer)
		default:
			fmt.Fprintf(w, "    cert:  %s\n", s.Cert)
		}
	}
	for _, s := range p.Removed {
		fmt.Fprintf(w, "\n- site %s (%s)\n    hosts: %s\n", s.Name, s.File, strings.Join(s.Hosts, ", "))
		if s.Passthrough != "" {
			fmt.Fprintf(w, "    passthrough: %s\n", s.Passthrough)
		}
	}
	for _, c := range p.Changed {
		fmt.Fprintf(w, "\n~ site %s (%s)\n", c.Name, c.File)
		for _, ch := range c.Changes {
			fmt.Fprintf(w, "    %s: %s\n", ch.What, ch.Detail)
		}
	}
	if len(p.HostsAdded)+len(p.HostsRemoved) > 0 {
		fmt.Fprintln(w)
	}
	if len(p.HostsAdded) > 0 {
		fmt.Fprintf(w, "hosts added:   %s\n", strings.Join(p.HostsAdded, ", "))
	}
	if len(p.HostsRemoved) > 0 {
		fmt.Fprintf(w, "hosts removed: %s\n", strings.Join(p.HostsRemoved, ", "))
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, d := range r.Warnings {
			fmt.Fprintln(w, "  "+d.String())
		}
	}
	fmt.Fprintf(w, "\n%d added, %d removed, %d changed, %d unchanged\n", len(p.Added), len(p.Removed), len(p.Changed), p.Unchanged)
}

func (r *planReport) markdown(w io.Writer) {
	fmt.Fprintf(w, "### edge plan: `%s` → `%s`\n\n", short(r.Base.Commit), short(r.Head.Commit))
	if !r.Base.Valid {
		fmt.Fprint(w, "> The base revision is not valid; every site is shown as added.\n\n")
	}
	if r.Plan == nil {
		fmt.Fprintf(w, ":x: **HEAD is invalid** (%s):\n\n", plural(len(r.Errors), "problem"))
		for _, d := range r.Errors {
			fmt.Fprintf(w, "- %s %s: %s\n", mdPos(d), d.Severity, mdEscape(schema.EscapeText(d.Message)))
		}
		return
	}
	p := r.Plan
	fmt.Fprintf(w, "%d added, %d removed, %d changed, %d unchanged\n\n", len(p.Added), len(p.Removed), len(p.Changed), p.Unchanged)
	if len(p.Security) > 0 {
		fmt.Fprintf(w, ":warning: **Security review (%d): changes that weaken or alter a site's protection**\n\n", len(p.Security))
		for _, s := range p.Security {
			fmt.Fprintf(w, "- %s\n", mdEscape(s.Message))
		}
		fmt.Fprintln(w)
	}
	if !p.Empty() {
		fmt.Fprintln(w, "| | site | change |\n|---|---|---|")
		for _, s := range p.Added {
			if s.Passthrough != "" {
				fmt.Fprintf(w, "| ➕ | `%s` | hosts %s; passthrough %s |\n", s.Name, mdCodeList(s.Hosts), mdEscape(s.Passthrough))
				continue
			}
			if s.Issuer != "" {
				fmt.Fprintf(w, "| ➕ | `%s` | hosts %s; cert issued by %s |\n", s.Name, mdCodeList(s.Hosts), mdEscape(s.Issuer))
				continue
			}
			fmt.Fprintf(w, "| ➕ | `%s` | hosts %s; cert %s |\n", s.Name, mdCodeList(s.Hosts), mdEscape(s.Cert))
		}
		for _, s := range p.Removed {
			if s.Passthrough != "" {
				fmt.Fprintf(w, "| ➖ | `%s` | hosts %s; passthrough %s |\n", s.Name, mdCodeList(s.Hosts), mdEscape(s.Passthrough))
				continue
			}
			fmt.Fprintf(w, "| ➖ | `%s` | hosts %s |\n", s.Name, mdCodeList(s.Hosts))
		}
		for _, c := range p.Changed {
			var parts []string
			for _, ch := range c.Changes {
				parts = append(parts, "**"+mdEscape(ch.What)+"**: "+mdEscape(ch.Detail))
			}
			fmt.Fprintf(w, "| ✏️ | `%s` | %s |\n", c.Name, strings.Join(parts, "<br>"))
		}
		fmt.Fprintln(w)
	}
	if len(p.HostsAdded) > 0 {
		fmt.Fprintf(w, "**Hosts added:** %s\n\n", mdCodeList(p.HostsAdded))
	}
	if len(p.HostsRemoved) > 0 {
		fmt.Fprintf(w, "**Hosts removed:** %s\n\n", mdCodeList(p.HostsRemoved))
	}
	if len(r.Warnings) > 0 {
		fmt.Fprint(w, ":warning: **Warnings**\n\n")
		for _, d := range r.Warnings {
			fmt.Fprintf(w, "- %s %s\n", mdPos(d), mdEscape(schema.EscapeText(d.Message)))
		}
	}
}

// mdPos is the file:line:col of d as a Markdown code span; a name holding a backtick gets
// a double-backtick span, and one with unprintable characters is quoted (schema.QuoteName).
func mdPos(d schema.Diagnostic) string {
	p := fmt.Sprintf("%s:%d:%d", schema.QuoteName(d.File), max(d.Line, 1), max(d.Col, 1))
	if strings.Contains(p, "`") {
		return "`` " + p + " ``"
	}
	return "`" + p + "`"
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "\n", " ").Replace(s)
}

func mdCodeList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}
