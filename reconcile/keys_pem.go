package reconcile

import (
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/edgectl/edge/schema"
)

// keyRefName names a key reference for errors and logs: mount/path#field, plus @vN when
// pinned. It never includes key material.
func keyRefName(ref schema.KeyRef) string {
	s := strings.Trim(ref.Mount, "/") + "/" + strings.Trim(ref.Path, "/") + "#" + ref.Field
	if ref.Version > 0 {
		s += fmt.Sprintf("@v%d", ref.Version)
	}
	return s
}

// checkKeyPEM reports whether b holds a PEM private key block. Its errors describe the shape
// of b (never its content) so they are safe to log.
func checkKeyPEM(b []byte) error {
	block, _ := pem.Decode(b)
	if block == nil {
		return errors.New("no PEM block found (want a PEM private key)")
	}
	if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return fmt.Errorf("PEM block is %q; want a private key", block.Type)
	}
	return nil
}
