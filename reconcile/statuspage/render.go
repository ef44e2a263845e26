package statuspage

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// indexView is what the first view of the page is rendered from.
type indexView struct {
	Summary summary
	Sites   sitePage
	Routes  routePage
	Err     string // a bad query, shown above the (default) table
}

// serveIndex renders the whole page on the server, the site table for the query in the
// URL: the page works without JavaScript.
func (p *page) serveIndex(w http.ResponseWriter, r *http.Request) {
	st := p.opts.Status.Status()
	v := indexView{Summary: p.summarize(&st)}
	q, err := parseSiteQuery(r.URL.Query())
	if err != nil {
		v.Err = err.Error()
		q, _ = parseSiteQuery(url.Values{})
	}
	v.Sites = p.sitePage(st.Sites, q)
	v.Routes = p.routePage(url.Values{})
	var buf bytes.Buffer
	if err := p.tmpl.Execute(&buf, v); err != nil {
		http.Error(w, "statuspage: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// templateFuncs are the helpers of index.html.
var templateFuncs = template.FuncMap{
	"short": short,
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"clock": clock,
	"when": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return clock(t) + " (" + ago(now.Sub(t)) + ")"
	},
	"expiry": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02") + " (" + daysLeft(t.Sub(now)) + ")"
	},
	"join":      func(s []string) string { return strings.Join(s, ", ") },
	"issueText": issueText,
	"pct":       func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"secs":      func(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) + "s" },
	"list":      func(s ...string) []string { return s },
	"mul":       func(a, b int) int { return a * b },
	"add":       func(a, b int) int { return a + b },
	"bar": func(n, max int) int {
		if max == 0 {
			return 0
		}
		return n * 400 / max
	},
	"maxCount": func(bs []expiryBucket) int {
		m := 0
		for _, b := range bs {
			m = max(m, b.Count)
		}
		return m
	},
	"sortLink": func(q siteQuery, key string) string {
		q.Sort, q.Order, q.Offset = key, flip(q, key), 0
		return q.link()
	},
	"siteLink": func(q siteQuery, field string, n int) string {
		switch field {
		case "offset":
			q.Offset = n
		case "expires":
			q.Expires, q.Offset = n, 0
		}
		return q.link()
	},
	"prev":      func(s sitePage) int { return max(s.Query.Offset-s.Query.Limit, 0) },
	"next":      func(s sitePage) int { return s.Query.Offset + s.Query.Limit },
	"hasNext":   func(s sitePage) bool { return s.Query.Offset+s.Query.Limit < s.Matched },
	"rangeText": rangeText,
}

// flip is the order a click on the column key asks for: the other order if the table is
// sorted by key, else the key's first order (busiest and most failing first).
func flip(q siteQuery, key string) string {
	first := "asc"
	if key == "requests" || key == "errors" {
		first = "desc"
	}
	if q.Sort != key {
		return first
	}
	if q.Order == "asc" {
		return "desc"
	}
	return "asc"
}

// link is the page's URL showing q ("?q=...&sort=..."), defaults left out.
func (q siteQuery) link() string {
	v := url.Values{}
	set := func(k, val, def string) {
		if val != def {
			v.Set(k, val)
		}
	}
	set("q", q.Q, "")
	set("state", q.State, "")
	set("sort", q.Sort, "name")
	v.Set("order", q.Order)
	set("expires", strconv.Itoa(q.Expires), "-1")
	set("offset", strconv.Itoa(q.Offset), "0")
	set("limit", strconv.Itoa(q.Limit), strconv.Itoa(defaultLimit))
	return "?" + v.Encode()
}

// rangeText says which rows are shown: "1–50 of 10000 sites" or "no site matches".
func rangeText(s sitePage) string {
	if s.Matched == 0 {
		return "no site matches"
	}
	of := fmt.Sprintf("%d sites", s.Matched)
	if s.Matched != s.Total {
		of = fmt.Sprintf("%d matching of %d sites", s.Matched, s.Total)
	}
	return fmt.Sprintf("%d–%d of %s", s.Query.Offset+1, s.Query.Offset+len(s.Sites), of)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago says how long ago d was, roughly.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d ago"
}

// daysLeft says how long until an expiry d from now: "in 12 days", "expired 3 days ago".
func daysLeft(d time.Duration) string {
	days := int(d.Hours() / 24)
	if d < 0 {
		return "expired " + strconv.Itoa(-days) + " days ago"
	}
	return "in " + strconv.Itoa(days) + " days"
}
