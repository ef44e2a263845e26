package h3srv

import "sync/atomic"

// huffCache remembers, for one connection, the Huffman-coded strings its client sent and
// what they decode to: a client sends the same user-agent, accept-encoding and authority
// with every request, and QPACK without a dynamic table makes it send them coded in full
// each time. A hit copies the decoded string instead of decoding it again (Huffman
// decoding was about a fifth of a request's header decoding). It is copy-on-write, so
// that the connection's requests, decoded on several workers, look it up without a lock;
// it holds at most huffCacheEntries strings of at most huffCacheMaxLen coded bytes, so
// a client can make it neither large nor slow for another connection.
type huffCache struct {
	m atomic.Pointer[map[string]string]
}

// Bounds of a huffCache.
const (
	huffCacheEntries = 32
	huffCacheMaxLen  = 256
)

// get returns what coded decodes to, if cached.
func (c *huffCache) get(coded []byte) (string, bool) {
	if c == nil {
		return "", false
	}
	m := c.m.Load()
	if m == nil {
		return "", false
	}
	v, ok := (*m)[string(coded)]
	return v, ok
}

// put caches coded's decoding, while there is room.
func (c *huffCache) put(coded, decoded []byte) {
	if c == nil || len(coded) > huffCacheMaxLen {
		return
	}
	for {
		old := c.m.Load()
		n := 0
		if old != nil {
			n = len(*old)
		}
		if n >= huffCacheEntries {
			return
		}
		m := make(map[string]string, n+1)
		if old != nil {
			for k, v := range *old {
				m[k] = v
			}
		}
		m[string(coded)] = string(decoded)
		if c.m.CompareAndSwap(old, &m) {
			return
		}
	}
}
