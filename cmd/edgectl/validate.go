package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema"
)

func init() {
	register(command{name: "validate", summary: "check a config repo (exit 1 if invalid)", run: runValidate})
}

const validateUsage = `usage: edgectl validate [flags] [DIR]

Validates the config repo in DIR (default "."): edge.cue, every sites/*.cue file and the
certificates they name. Prints each problem as file:line:col: severity: message.

With --rev, validates that revision of the git repository at DIR (a branch, tag, hash or
expression such as HEAD~1) without checking it out; --subdir names the directory of that
repository holding the config, as the agent's --subdir does.

Each file is evaluated in a child process with the limits --eval-memory and --eval-timeout;
a file that exceeds one is an error at its line 1, column 1. SIGINT or SIGTERM stops the
evaluation at once.

Exit status: 0 valid, 1 invalid, 2 usage or I/O error, or interrupted.

flags:
`

// validateFlags are the flags validate and plan share.
type validateFlags struct {
	format      string
	formats     []string // the accepted --format values
	warnWithin  durationFlag
	errorWithin durationFlag
	eval        evalFlags
}

// newCheckFlags returns the flag set of validate or plan (named name, with usage): --format,
// one of formats (the first is the default), and the expiry windows.
func newCheckFlags(name, usage string, formats []string, formatHelp string, stderr io.Writer) (*flag.FlagSet, *validateFlags) {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage); fl.PrintDefaults() }
	vf := &validateFlags{formats: formats}
	fl.StringVar(&vf.format, "format", formats[0], formatHelp)
	fl.Var(&vf.warnWithin, "warn-within", "warn about certificates expiring within this window (overrides policy.cert_warn_within), e.g. 30d")
	fl.Var(&vf.errorWithin, "error-within", "fail on certificates expiring within this window (overrides policy.cert_error_within), e.g. 7d")
	vf.eval.add(fl, "", "")
	return fl, vf
}

// parse parses args (see parseArgs) and checks --format.
func (v *validateFlags) parse(fl *flag.FlagSet, args []string, stderr io.Writer) (pos []string, code int, ok bool) {
	if pos, code, ok = parseArgs(fl, args); !ok {
		return nil, code, false
	}
	if !slices.Contains(v.formats, v.format) {
		fmt.Fprintf(stderr, "edgectl %s: --format %q: want %s\n", fl.Name(), v.format, strings.Join(v.formats, ", "))
		return nil, exitUsage, false
	}
	return pos, 0, true
}

// durationFlag accepts config-style durations ("30d", "12h").
type durationFlag struct {
	d   time.Duration
	set bool
}

func (f *durationFlag) String() string {
	if !f.set {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := schema.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d, f.set = d, true
	return nil
}

// loaderOptions turns the evaluation limits and the expiry flags into LoaderOptions (an explicit 0 means "no window").
func (v *validateFlags) loaderOptions() schema.LoaderOptions {
	o := schema.LoaderOptions{Isolation: v.eval.isolation()}
	if v.warnWithin.set {
		o.CertWarnWithin = v.warnWithin.d
		if o.CertWarnWithin == 0 {
			o.CertWarnWithin = -1
		}
	}
	if v.errorWithin.set {
		o.CertErrorWithin = v.errorWithin.d
		if o.CertErrorWithin == 0 {
			o.CertErrorWithin = -1
		}
	}
	return o
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl, vf := newCheckFlags("validate", validateUsage, []string{"text", "json", "github"},
		"output format: text, json or github (workflow annotations)", stderr)
	rev := fl.String("rev", "", "validate this revision of the git repository at DIR instead of the files on disk")
	subdir := fl.String("subdir", "", "with --rev: the repository's directory holding the config")
	pos, code, ok := vf.parse(fl, args, stderr)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "edgectl validate: at most one DIR; got %q\n", pos)
		return exitUsage
	}
	if *subdir != "" && *rev == "" {
		fmt.Fprintln(stderr, "edgectl validate: --subdir needs --rev; without it, pass the directory as DIR")
		return exitUsage
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	fsys, prefix, err := openRepo(ctx, dir, *rev, *subdir)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl validate: %v\n", err)
		return exitUsage
	}
	cfg, err := schema.NewLoader(vf.loaderOptions()).LoadContext(ctx, fsys)
	var ds schema.Diagnostics
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "edgectl validate: interrupted")
		return exitUsage
	}
	if err != nil && !errors.As(err, &ds) {
		fmt.Fprintf(stderr, "edgectl validate: %v\n", err)
		return exitUsage
	}
	if cfg != nil {
		ds = cfg.Warnings
	}
	for i := range ds {
		ds[i].File = path.Join(prefix, ds[i].File)
	}
	writeDiagnostics(stdout, vf.format, cfg, ds)
	if cfg == nil {
		return exitInvalid
	}
	return exitOK
}

// openRepo returns the files of the config repo at dir (or of directory subdir of revision
// rev of the git repository at dir) and the prefix that makes their paths relative to the
// working directory (for a revision: to the repository's root, as CI annotations want).
func openRepo(ctx context.Context, dir, rev, subdir string) (fs.FS, string, error) {
	if rev != "" {
		r, err := gitsource.ReadRevision(ctx, dir, rev, subdir)
		if err != nil {
			return nil, "", err
		}
		return r.FS, subdirPrefix(subdir), nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, "", err
	}
	if !st.IsDir() {
		return nil, "", fmt.Errorf("%s is not a directory", dir)
	}
	prefix := dir
	if prefix == "." {
		prefix = ""
	}
	return os.DirFS(dir), prefix, nil
}

// writeDiagnostics prints the outcome in format.
func writeDiagnostics(w io.Writer, format string, cfg *schema.Config, ds schema.Diagnostics) {
	nerr, nwarn := 0, 0
	for _, d := range ds {
		if d.Severity == schema.SeverityError {
			nerr++
		} else {
			nwarn++
		}
	}
	switch format {
	case "json":
		out := struct {
			Valid       bool                `json:"valid"`
			Sites       int                 `json:"sites"`
			Diagnostics []schema.Diagnostic `json:"diagnostics"`
		}{Valid: cfg != nil, Diagnostics: ds}
		if cfg != nil {
			out.Sites = len(cfg.Sites)
		}
		if out.Diagnostics == nil {
			out.Diagnostics = []schema.Diagnostic{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	case "github":
		for _, d := range ds {
			fmt.Fprintln(w, githubAnnotation(d))
		}
		fmt.Fprintln(w, summary(cfg, nerr, nwarn))
	default:
		for _, d := range ds {
			fmt.Fprintln(w, d.String())
		}
		fmt.Fprintln(w, summary(cfg, nerr, nwarn))
	}
}

func summary(cfg *schema.Config, nerr, nwarn int) string {
	if cfg == nil {
		return fmt.Sprintf("invalid: %s, %s", plural(nerr, "error"), plural(nwarn, "warning"))
	}
	return fmt.Sprintf("valid: %s, %s", plural(len(cfg.Sites), "site"), plural(nwarn, "warning"))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// githubAnnotation formats d as a GitHub Actions workflow command.
func githubAnnotation(d schema.Diagnostic) string {
	kind := "error"
	if d.Severity == schema.SeverityWarning {
		kind = "warning"
	}
	line, col := max(d.Line, 1), max(d.Col, 1)
	props := fmt.Sprintf("file=%s,line=%d,col=%d", escapeProp(schema.QuoteName(d.File)), line, col)
	return fmt.Sprintf("::%s %s::%s", kind, props, escapeData(schema.EscapeText(d.Message)))
}

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// subdirPrefix is the path prefix of files under the repository directory subdir: "" for
// the root.
func subdirPrefix(subdir string) string {
	if d := strings.Trim(path.Clean("/"+subdir), "/"); d != "" {
		return d
	}
	return ""
}
