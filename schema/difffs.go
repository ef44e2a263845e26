package schema

import "io/fs"

// DiffFS is an fs.FS that can say what differs between itself and an earlier revision of
// the same repo (gitsource.TreeFS is one, by comparing tree hashes). Given DiffFS revisions
// one after another, a Loader reloads only the sites whose inputs changed: a one-site commit
// to a repo of 10,000 sites costs about what it costs to a repo of one site.
type DiffFS interface {
	fs.FS
	// ChangedSince returns paths (as Open takes them) such that every file, symbolic link
	// or directory added, removed or changed since prev is named, lies below a named path,
	// or (a directory) holds a named path; and true. It returns false when it cannot
	// compare itself with prev (another kind of file system): the Loader then loads in
	// full.
	//
	// A site's inputs are tracked by the paths the loader looks up, each link it meets
	// included; that is complete only if the file system refuses symbolic links in the
	// middle of a path, as TreeFS does. One that followed them (os.DirFS, fstest.MapFS)
	// would hide a change to real/a.pem reached through certs -> real.
	ChangedSince(prev fs.FS) (paths []string, ok bool)
}
