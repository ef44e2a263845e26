package edge

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"sync"
	"time"
)

// DefaultTicketKeyRotation is how often session ticket keys are rotated when nobody sets
// them from outside.
const DefaultTicketKeyRotation = 12 * time.Hour

// ticketKeysKept is how many keys are kept: the newest encrypts, all decrypt, so a ticket
// stays usable for two rotation periods at least.
const ticketKeysKept = 3

// ticketKeys manages the session ticket keys of the listeners' tls.Configs (TCP and QUIC). Every
// snapshot's configuration leaves its keys unset, so crypto/tls uses these: resumption
// survives swaps.
type ticketKeys struct {
	cfgs []*tls.Config

	mu       sync.Mutex
	keys     [][32]byte
	external bool // set with SetSessionTicketKeys: no automatic rotation
}

// newTicketKeys installs a first random key in cfgs.
func newTicketKeys(cfgs ...*tls.Config) *ticketKeys {
	t := &ticketKeys{cfgs: cfgs}
	t.rotate()
	return t
}

// rotate puts a new random key first unless the keys are managed from outside.
func (t *ticketKeys) rotate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.external {
		return
	}
	var k [32]byte
	rand.Read(k[:]) // never fails (crypto/rand panics rather than return an error)
	keys := append([][32]byte{k}, t.keys...)
	if len(keys) > ticketKeysKept {
		keys = keys[:ticketKeysKept]
	}
	t.keys = keys
	t.install()
}

// set installs keys from outside; nil or empty returns to automatic rotation with a fresh
// key.
func (t *ticketKeys) set(keys [][32]byte) error {
	t.mu.Lock()
	if len(keys) == 0 {
		t.external, t.keys = false, nil
		t.mu.Unlock()
		t.rotate()
		return nil
	}
	defer t.mu.Unlock()
	if len(keys) > 16 {
		return errors.New("edge: more than 16 session ticket keys")
	}
	t.external = true
	t.keys = append([][32]byte(nil), keys...)
	t.install()
	return nil
}

// install sets t.keys on every configuration (t.mu held).
func (t *ticketKeys) install() {
	for _, c := range t.cfgs {
		c.SetSessionTicketKeys(t.keys)
	}
}

// run rotates the keys every interval until ctx is done.
func (t *ticketKeys) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.rotate()
		}
	}
}

// count returns the number of keys installed.
func (t *ticketKeys) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}
