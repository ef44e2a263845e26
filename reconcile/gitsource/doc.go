// Package gitsource reads the config repo: it is the first stage of the pipeline, and the
// only package of edge that knows git (go-git).
//
//	gitsource (git -> Revision) -> schema (files -> sites) -> reconcile (sites + keys -> edge.Site) -> edge (serve)
//
// A Source follows one reference of a remote repository over HTTP(S), SSH, git:// or a
// local path (auth.go), keeping about one revision in memory (compact.go), verifying commit
// signatures when asked (signature.go), and saving the accepted revision to a state file so
// that a restart serves it before the repo answers (state.go, state_file.go). ReadRevision
// reads one commit of a local repository, for `edgectl validate` and `edgectl plan`.
//
// Three words are kept apart here: a Revision is the value this package yields, one commit
// with the files of its tree; a commit is the full hex hash naming it (Revision.Commit); a
// revspec is what a person types to name one ("main", "v1.2", "HEAD~1", a short hash), as
// ReadRevision takes.
//
// A Revision's files are a TreeFS: an immutable in-memory fs.FS that never follows
// symbolic links, and that tells the schema loader each file's hash (schema.HashFS) so
// unchanged files are not read again. ServeInProcess serves a local repository to this
// process's git clients without the git binary (the demo uses it).
//
// A new git transport or credential kind goes here. Error messages keep the "reconcile:"
// prefix they had when this package was part of reconcile.
package gitsource
