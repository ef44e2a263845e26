package statuspage

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// linker turns a diagnostic's position into a link to the config repo's web UI, from the
// operator's URL template (see Options.RepoURL).
type linker struct {
	template string // empty: no links
	subdir   string // cleaned, "" for the repo root
}

func newLinker(tmpl, subdir string) (*linker, error) {
	l := &linker{template: tmpl}
	if subdir = strings.Trim(path.Clean("/"+subdir), "/"); subdir != "" {
		l.subdir = subdir
	}
	if tmpl == "" {
		return l, nil
	}
	u, err := url.Parse(strings.NewReplacer("{commit}", "c", "{file}", "f", "{line}", "1", "{col}", "1").Replace(tmpl))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("statuspage: repo URL template %q: want an http or https URL with {commit}, {file}, {line}", tmpl)
	}
	return l, nil
}

// link returns the URL of file (relative to the agent's subdir) at line and col in commit,
// or "" when there is no template. Each part is escaped for its place in the URL; the
// result is an http or https URL or "".
func (l *linker) link(commit, file string, line, col int) string {
	if l.template == "" || file == "" {
		return ""
	}
	full := file
	if l.subdir != "" {
		full = l.subdir + "/" + file
	}
	segs := strings.Split(full, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	s := strings.NewReplacer("{commit}", url.PathEscape(commit), "{file}", strings.Join(segs, "/"),
		"{line}", strconv.Itoa(max(line, 1)), "{col}", strconv.Itoa(max(col, 1))).Replace(l.template)
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return s
}
