package schema

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// DefaultMaxFileSize is the largest file the loader reads when LoaderOptions.MaxFileSize is
// zero: 1 MiB.
const DefaultMaxFileSize = 1 << 20

// maxLinkHops bounds how many symbolic links are followed to reach one file.
const maxLinkHops = 8

// repoReader reads files of a config repo through an fs.FS, refusing what a config repo
// should never contain: files that are too large, symbolic links out of the repo, and
// directories where a file is expected.
type repoReader struct {
	fsys    fs.FS
	maxSize int64
	rec     *[]string // when set, every path looked up is appended (a site's inputs, incremental.go)
}

// forJob returns a reader of the same files that records the paths it looks up in j.inputs.
func (r *repoReader) forJob(j *siteJob) *repoReader {
	c := *r
	c.rec = &j.inputs
	return &c
}

// note records that the load looked up name, when r records.
func (r *repoReader) note(name string) {
	if r.rec != nil {
		*r.rec = append(*r.rec, name)
	}
}

// fileError is a problem with a file as a whole, already worded for a person.
type fileError struct {
	file string
	msg  string
	err  error // errNotExist for a missing file, else nil
}

func (e *fileError) Error() string { return e.file + ": " + e.msg }
func (e *fileError) Unwrap() error { return e.err }

func (e *fileError) diag() Diagnostic {
	return Diagnostic{File: e.file, Line: 1, Col: 1, Severity: SeverityError, Message: e.file + " " + e.msg}
}

// errNotExist reports a missing file (a *fileError wraps it in messages).
var errNotExist = errors.New("schema: file does not exist")

// resolve follows symbolic links from name, which is a slash-separated path relative to the
// repo root, and returns the path of the file or directory it finally names. It refuses
// links that leave the repo and link chains longer than maxLinkHops.
func (r *repoReader) resolve(name string) (string, fs.FileInfo, error) {
	orig := name
	for hop := 0; ; hop++ {
		r.note(name)
		info, err := lstat(r.fsys, name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", nil, errNotExist
			}
			return "", nil, &fileError{file: orig, msg: fmt.Sprintf("cannot read it: %v", cleanErr(err))}
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return name, info, nil
		}
		if hop >= maxLinkHops {
			return "", nil, &fileError{file: orig, msg: fmt.Sprintf("is a chain of more than %d symbolic links (a loop?); replace it with the file itself", maxLinkHops)}
		}
		target, err := fs.ReadLink(r.fsys, name)
		if err != nil {
			return "", nil, &fileError{file: orig, msg: fmt.Sprintf("is a symbolic link that cannot be read: %v", cleanErr(err))}
		}
		if path.IsAbs(target) || strings.HasPrefix(target, "\\") || (len(target) > 1 && target[1] == ':') {
			return "", nil, &fileError{file: orig, msg: fmt.Sprintf("is a symbolic link to %q, outside the repo; links may only point at files inside the repo (use a relative path)", target)}
		}
		next := path.Join(path.Dir(name), target)
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", nil, &fileError{file: orig, msg: fmt.Sprintf("is a symbolic link to %q, which is outside the repo; links may only point at files inside the repo", target)}
		}
		name = next
	}
}

// lstat is fs.Lstat when the file system supports it (Go 1.25+ ReadLinkFS), else fs.Stat.
func lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if _, ok := fsys.(fs.ReadLinkFS); ok {
		return fs.Lstat(fsys, name)
	}
	return fs.Stat(fsys, name)
}

// fileRef is a regular file of the repo, resolved and checked but maybe not yet read.
type fileRef struct {
	r       *repoReader
	name    string   // as asked for
	real    string   // after following links
	hashID  [32]byte // from the HashFS, if hasHash
	hasHash bool
	data    []byte
}

// stat resolves name (following links inside the repo) to a regular file within the size
// limit.
func (r *repoReader) stat(name string) (*fileRef, error) {
	real, info, err := r.resolve(name)
	if err != nil {
		if err == errNotExist {
			return nil, &fileError{file: name, msg: "does not exist", err: errNotExist}
		}
		return nil, err
	}
	if info.IsDir() {
		return nil, &fileError{file: name, msg: "is a directory, but a file is expected here"}
	}
	if !info.Mode().IsRegular() {
		return nil, &fileError{file: name, msg: fmt.Sprintf("is not a regular file but %s; commit the file itself", describeType(info.Mode()))}
	}
	if info.Size() > r.maxSize {
		return nil, &fileError{file: name, msg: fmt.Sprintf("is %d bytes, larger than the limit of %d bytes; a site declaration or certificate is never this large", info.Size(), r.maxSize)}
	}
	f := &fileRef{r: r, name: name, real: real}
	// A HashFS (a git tree) knows each file's hash: equal hashes mean equal content, so
	// unchanged files need not even be read.
	if hfs, ok := r.fsys.(HashFS); ok {
		if h, ok := hfs.FileHash(real); ok && len(h) > 0 {
			f.hashID, f.hasHash = hashFSID(h), true
		}
	}
	return f, nil
}

// read returns the file's content.
func (f *fileRef) read() ([]byte, error) { return f.readWith(fs.ReadFile) }

// readShared is read, without a copy when the file system is a SharedFileFS: for files
// whose content is kept (certificates) and never modified.
func (f *fileRef) readShared() ([]byte, error) {
	if sfs, ok := f.r.fsys.(SharedFileFS); ok {
		return f.readWith(func(_ fs.FS, name string) ([]byte, error) { return sfs.ReadFileShared(name) })
	}
	return f.read()
}

func (f *fileRef) readWith(readFile func(fs.FS, string) ([]byte, error)) ([]byte, error) {
	if f.data != nil {
		return f.data, nil
	}
	b, err := readFile(f.r.fsys, f.real)
	if err != nil {
		return nil, &fileError{file: f.name, msg: fmt.Sprintf("cannot be read: %v", cleanErr(err))}
	}
	if int64(len(b)) > f.r.maxSize {
		return nil, &fileError{file: f.name, msg: fmt.Sprintf("is larger than the limit of %d bytes; a site declaration or certificate is never this large", f.r.maxSize)}
	}
	f.data = b
	return b, nil
}

// id identifies the file's content: from its hash when the file system is a HashFS that
// knows it, else the SHA-256 of the content.
func (f *fileRef) id() ([32]byte, error) {
	if f.hasHash {
		return f.hashID, nil
	}
	b, err := f.read()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// readDir lists dir (following links inside the repo). A missing directory yields
// errNotExist.
func (r *repoReader) readDir(dir string) ([]fs.DirEntry, error) {
	real, info, err := r.resolve(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, &fileError{file: dir, msg: "is a file, but a directory of site declarations is expected here"}
	}
	ents, err := fs.ReadDir(r.fsys, real)
	if err != nil {
		return nil, &fileError{file: dir, msg: fmt.Sprintf("cannot be listed: %v", cleanErr(err))}
	}
	return ents, nil
}

// cleanErr drops the *fs.PathError wrapper, whose path is absolute and repeats the file name.
func cleanErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkText reports where b is not UTF-8 text (or holds a NUL byte) as a 1-based line and
// column, or ok.
func checkText(b []byte) (line, col int, msg string, ok bool) {
	line, col = 1, 1
	for i := 0; i < len(b); {
		c := b[i]
		if c == 0 {
			return line, col, "holds a NUL byte; it is binary, not a CUE text file", false
		}
		if c < utf8.RuneSelf {
			i++
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return line, col, fmt.Sprintf("is not valid UTF-8 (byte 0x%02x); save the file as UTF-8", c), false
		}
		i += n
		col++
	}
	return 0, 0, "", true
}

// describeType names a file type that is not a regular file, for messages.
func describeType(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t&fs.ModeIrregular != 0:
		return "of an unknown type"
	default:
		return fmt.Sprintf("of type %v", t)
	}
}
