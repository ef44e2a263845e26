package keysource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/edgectl/edge/schema"
)

// Dir is a Source reading private keys from a local directory, for a single machine
// and the demo. The layout mirrors the Vault reference of each site:
//
//	<Dir>/<mount>/<path>/<field>.pem
//
// so the key of {Mount: "secret", Path: "edge/acme.example", Field: "key"} is
// <Dir>/secret/edge/acme.example/key.pem. Fetch refuses, with an error naming the file, its mode
// and the chmod that fixes it, any key file or directory on the way to it (Dir included) that
// group or others may access, and any symlink that leads outside Dir (absolute symlink
// targets count as outside; relative ones staying within Dir are followed). A local directory has no
// versions: a pinned ref.Version is ignored and Key.Version is always 0.
//
// The zero value is unusable; Dir must be set. Dir is safe for concurrent use.
type Dir struct {
	// Dir is the key directory (mode 0700, files 0600).
	Dir string
}

// keyFile returns the path of ref's key file below dir (see Dir for the layout), or an
// error if a component of ref is empty, absolute or contains "..".
func keyFile(dir string, ref schema.KeyRef) (string, error) {
	rel, err := keyFileRel(ref)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(rel)), nil
}

func keyFileRel(ref schema.KeyRef) (string, error) {
	for _, c := range []struct{ name, v string }{{"mount", ref.Mount}, {"path", ref.Path}, {"field", ref.Field}} {
		v := strings.Trim(c.v, "/")
		if v == "" {
			return "", fmt.Errorf("key %s: empty %s", RefName(ref), c.name)
		}
		for _, part := range strings.Split(v, "/") {
			if part == "" || part == "." || part == ".." {
				return "", fmt.Errorf("key %s: %s %q has an empty, \".\" or \"..\" component", RefName(ref), c.name, c.v)
			}
		}
	}
	if strings.Contains(ref.Field, "/") {
		return "", fmt.Errorf("key %s: field %q contains \"/\"", RefName(ref), ref.Field)
	}
	return path.Join(strings.Trim(ref.Mount, "/"), strings.Trim(ref.Path, "/"), ref.Field+".pem"), nil
}

// Fetch reads ref's key file. A missing file wraps ErrNotFound.
func (d Dir) Fetch(ctx context.Context, ref schema.KeyRef) (Key, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	if d.Dir == "" {
		return Key{}, errors.New("reconcile: DirKeys.Dir is empty")
	}
	rel, err := keyFileRel(ref)
	if err != nil {
		return Key{}, err
	}
	full := filepath.Join(d.Dir, filepath.FromSlash(rel))
	dfi, err := os.Stat(d.Dir)
	if err := checkPrivate(d.Dir, dfi, err); err != nil {
		return Key{}, fmt.Errorf("key %s: %w", RefName(ref), err)
	}
	root, err := os.OpenRoot(d.Dir)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: open key directory: %w", RefName(ref), err)
	}
	defer root.Close()

	// Every directory between Dir and the file must be private too.
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		sub := strings.Join(parts[:i], "/")
		fi, err := root.Stat(sub)
		if err != nil {
			return Key{}, dirKeysErr(ref, full, err)
		}
		if err := checkPrivate(filepath.Join(d.Dir, filepath.FromSlash(sub)), fi, nil); err != nil {
			return Key{}, fmt.Errorf("key %s: %w", RefName(ref), err)
		}
	}
	f, err := root.OpenFile(rel, keyOpenFlag, 0)
	if err != nil {
		return Key{}, dirKeysErr(ref, full, err)
	}
	defer f.Close()
	return readKeyFile(ref, full, f)
}

// readKeyFile reads and checks the key file f (full is its path, for errors): a private
// regular file of at most maxKeySize bytes holding a PEM private key.
func readKeyFile(ref schema.KeyRef, full string, f *os.File) (Key, error) {
	fi, err := f.Stat()
	if err != nil {
		return Key{}, dirKeysErr(ref, full, err)
	}
	if !fi.Mode().IsRegular() {
		return Key{}, fmt.Errorf("key %s: %s is not a regular file", RefName(ref), full)
	}
	if err := checkPrivate(full, fi, nil); err != nil {
		return Key{}, fmt.Errorf("key %s: %w", RefName(ref), err)
	}
	// Read into a buffer of the file's size (plus one byte, to see it did not grow past
	// the limit), so the key kept is not in a larger buffer.
	buf := make([]byte, 0, min(max(fi.Size(), 0), maxKeySize)+1)
	pemBytes, err := readAllInto(io.LimitReader(f, maxKeySize+1), buf)
	if err != nil {
		return Key{}, dirKeysErr(ref, full, err)
	}
	if len(pemBytes) > maxKeySize {
		return Key{}, fmt.Errorf("key %s: %s is larger than %d bytes", RefName(ref), full, maxKeySize)
	}
	if cap(pemBytes) > len(pemBytes)+len(pemBytes)/4 {
		// The key is kept (the Cache holds it): not in a larger buffer. The buffer left
		// behind is cleared.
		read := pemBytes
		pemBytes = bytes.Clone(read)
		clear(read[:cap(read)])
	}
	signer, err := checkKeyPEM(pemBytes)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %s: %w", RefName(ref), full, err)
	}
	return Key{PEM: pemBytes, Signer: signer}, nil
}

// readAllInto reads r to its end, appending to buf (growing it if needed).
func readAllInto(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// Put writes pem as ref's key file, creating missing directories (0700) and replacing the file
// (0600) atomically. It is for tools that prepare a key directory (site generators, the demo).
func (d Dir) Put(ref schema.KeyRef, pemBytes []byte) error {
	full, err := keyFile(d.Dir, ref)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
		return fmt.Errorf("key %s: %w", RefName(ref), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(full), ".key-*.tmp")
	if err != nil {
		return fmt.Errorf("key %s: %w", RefName(ref), err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pemBytes); err != nil {
		tmp.Close()
		return fmt.Errorf("key %s: write %s: %w", RefName(ref), tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("key %s: write %s: %w", RefName(ref), tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), full); err != nil {
		return fmt.Errorf("key %s: %w", RefName(ref), err)
	}
	return nil
}

// maxKeySize bounds a key file read: an RSA-8192 PEM key is about 6.5 kB.
const maxKeySize = 64 << 10

// checkPrivate refuses a file or directory group or others can access.
func checkPrivate(name string, fi fs.FileInfo, statErr error) error {
	if statErr != nil {
		return fmt.Errorf("key directory: %w", statErr)
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	want := "600"
	if fi.IsDir() {
		want = "700"
	}
	return fmt.Errorf("%s has mode %04o: group or others can access it; fix with: chmod %s %s", name, perm, want, name)
}

func dirKeysErr(ref schema.KeyRef, full string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("key %s: %s: %w", RefName(ref), full, ErrNotFound)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return fmt.Errorf("key %s: %s leads outside the key directory (symlink refused)", RefName(ref), full)
	}
	return fmt.Errorf("key %s: %w", RefName(ref), err)
}
