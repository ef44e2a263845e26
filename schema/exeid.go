package schema

import (
	"crypto/sha256"
	"debug/elf"
	"io"
	"os"
	"runtime/debug"
	"sync"
)

// executableID identifies the running program's build: its Go build ID (an ELF note) when
// it has one, else the SHA-256 of the executable, plus its module build information. A
// cache keyed by it is not used by another build, whose evaluation may differ.
var executableID = sync.OnceValue(func() [32]byte {
	h := sha256.New()
	if bi, ok := debug.ReadBuildInfo(); ok {
		io.WriteString(h, bi.String())
	}
	h.Write([]byte{0})
	if exe, err := os.Executable(); err == nil {
		if id, ok := goBuildID(exe); ok {
			h.Write(id)
		} else if f, err := os.Open(exe); err == nil {
			io.Copy(h, f)
			f.Close()
		}
	}
	var s [32]byte
	h.Sum(s[:0])
	return s
})

// goBuildID returns the Go build ID note of an ELF executable.
func goBuildID(exe string) ([]byte, bool) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return nil, false
	}
	b, err := s.Data()
	if err != nil || len(b) < 16 {
		return nil, false
	}
	return b, true
}
