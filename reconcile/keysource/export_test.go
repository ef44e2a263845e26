package keysource

import "time"

// KeyFile is keyFile, for the tests of the key directory's layout.
var KeyFile = keyFile

// ScanNextDue is scanNextDue, for comparing NextDue with the entries it summarizes.
func (c *Cache) ScanNextDue() time.Time { return c.scanNextDue() }

// Wait returns once every reference added to p so far has been read.
func (p *Prefetch) Wait() { p.wait() }
