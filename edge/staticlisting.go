package edge

import (
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

// maxListing bounds the entries a directory listing shows.
const maxListing = 10000

// serveListing answers r with an HTML list of directory dir of fsys (a static route with
// browse on and no index file there). Hidden entries are left out, like the files
// themselves.
func serveListing(w http.ResponseWriter, r *http.Request, fsys fs.FS, dir string) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	title := html.EscapeString(r.URL.Path)
	b.WriteString("<!doctype html>\n<meta charset=\"utf-8\">\n<title>Index of " + title + "</title>\n<h1>Index of " + title + "</h1>\n<ul>\n")
	if r.URL.Path != "/" {
		b.WriteString("<li><a href=\"../\">../</a></li>\n")
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !validStaticName(name) {
			continue
		}
		if n++; n > maxListing {
			b.WriteString("<li>…</li>\n")
			break
		}
		if e.IsDir() {
			name += "/"
		}
		href := (&url.URL{Path: name}).EscapedPath()
		if strings.Contains(strings.SplitN(href, "/", 2)[0], ":") {
			href = "./" + href // not read as a scheme
		}
		b.WriteString("<li><a href=\"" + html.EscapeString(href) + "\">" + html.EscapeString(name) + "</a></li>\n")
	}
	b.WriteString("</ul>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
}
