package proxy

import "github.com/edgectl/edge/edge/site"

// weighted reports whether c's upstreams have unequal weights. Equal weights (all 1, or
// all 5) balance like no weights at all: the lock-free rotation serves them.
func weighted(c *config) bool {
	for _, w := range c.Weights {
		if w != c.Weights[0] {
			return true
		}
	}
	return false
}

// pickWeighted is pick for a route with unequal weights. Round robin is nginx's smooth
// weighted round robin: every available, untried upstream adds its weight to its current
// weight, the largest current weight wins and gives back the sum of the weights that took
// part. Weights 95 and 5 so give 5 requests in 100 to the second, spread out, never 5 in a
// row. An unavailable upstream takes no part, so its share goes to the others in
// proportion to their weights. Least conn takes the available upstream with the fewest
// requests in flight per unit of weight, ties broken by the same smooth rotation (at low
// load every upstream has 0 in flight: the weights still decide). When every untried
// upstream is passively ejected, it fails open as pick does.
func (h *Handler) pickWeighted(tried uint64) int {
	least := h.cfg.Balance == site.LeastConn
	var now int64
	h.mu.Lock()
	defer h.mu.Unlock()
	// First pass: which targets may take part, their load, and the lowest load per weight.
	fallback, fallbackUntil := -1, int64(0)
	minLoad, minWeight := int64(-1), int64(1)
	for i := range h.targets {
		t := &h.targets[i]
		t.ok = false
		if i < 64 && tried&(1<<i) != 0 {
			continue
		}
		ok, until := t.up.available(&now)
		if !ok {
			if until != 0 && (fallback < 0 || until < fallbackUntil) {
				fallback, fallbackUntil = i, until
			}
			continue
		}
		t.ok = true
		if least {
			t.load = t.up.inflight.Load()
			if w := int64(t.weight); minLoad < 0 || t.load*minWeight < minLoad*w {
				minLoad, minWeight = t.load, w
			}
		}
	}
	// Second pass: smooth weighted round robin among them (for least conn, among the
	// least loaded).
	best, total := -1, 0
	for i := range h.targets {
		t := &h.targets[i]
		if !t.ok || (least && t.load*minWeight != minLoad*int64(t.weight)) {
			continue
		}
		t.current += t.weight
		total += t.weight
		if best < 0 || t.current > h.targets[best].current {
			best = i
		}
	}
	if best < 0 {
		return fallback
	}
	h.targets[best].current -= total
	return best
}
