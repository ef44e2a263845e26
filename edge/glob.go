package edge

import "github.com/edgectl/edge/edge/site"

// globWords is the size of a glob's state set: one bit per token position, and the final
// one (a pattern of at most site.MaxCachePattern bytes has at most as many tokens).
const globWords = (site.MaxCachePattern + 1 + 63) / 64

type globSet [globWords]uint64

// glob is a compiled Cache-Control pattern ("*" any bytes but "/", "**" any bytes, "?"
// one byte but "/"), matched as a bit-parallel automaton (shift-and): the work is a few
// word operations per byte of the path whatever the pattern, so no pattern makes matching
// slow (a backtracking glob is exponential, an NFA quadratic).
type glob struct {
	n     int       // tokens; bit n is the final state
	words int       // words of the sets in use
	class [256]byte // byte -> class index into adv and loop
	adv   []globSet // per class: tokens that consume the byte and move on
	loop  []globSet // per class: star tokens that consume the byte and stay
	star  globSet   // star tokens, which may also match nothing
}

// Token kinds.
const (
	tokLit  byte = iota
	tokOne       // ?
	tokStar      // *
	tokAny       // **
)

// compileGlob compiles p, which site.CheckCachePattern accepted.
func compileGlob(p string) *glob {
	var kinds, lits []byte
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '*' && i+1 < len(p) && p[i+1] == '*':
			kinds, lits = append(kinds, tokAny), append(lits, 0)
			i++
		case p[i] == '*':
			kinds, lits = append(kinds, tokStar), append(lits, 0)
		case p[i] == '?':
			kinds, lits = append(kinds, tokOne), append(lits, 0)
		default:
			kinds, lits = append(kinds, tokLit), append(lits, p[i])
		}
	}
	g := &glob{n: len(kinds), words: len(kinds)/64 + 1}
	// Class 0: bytes the pattern does not name, but "/"; class 1: "/"; then one class per
	// literal byte.
	reps := []int{-1, '/'}
	for i, k := range kinds {
		if k == tokLit && lits[i] != '/' && g.class[lits[i]] == 0 {
			g.class[lits[i]] = byte(len(reps))
			reps = append(reps, int(lits[i]))
		}
	}
	g.class['/'] = 1
	g.adv, g.loop = make([]globSet, len(reps)), make([]globSet, len(reps))
	for c, rep := range reps {
		for i, k := range kinds {
			bit := uint64(1) << (i % 64)
			switch {
			case k == tokLit && int(lits[i]) == rep, k == tokOne && rep != '/':
				g.adv[c][i/64] |= bit
			case k == tokStar && rep != '/', k == tokAny:
				g.loop[c][i/64] |= bit
			}
			if k == tokStar || k == tokAny {
				g.star[i/64] |= bit
			}
		}
	}
	return g
}

// match reports whether the whole of s matches g.
func (g *glob) match(s string) bool {
	var st globSet
	st[0] = 1
	g.closure(&st)
	for i := 0; i < len(s); i++ {
		c := g.class[s[i]]
		adv, loop := &g.adv[c], &g.loop[c]
		var next globSet
		var carry, any uint64
		for w := 0; w < g.words; w++ {
			a := st[w] & adv[w]
			next[w] = a<<1 | carry | st[w]&loop[w]
			carry = a >> 63
			any |= next[w]
		}
		if any == 0 {
			return false
		}
		st = next
		g.closure(&st)
	}
	return st[g.n/64]&(1<<(g.n%64)) != 0
}

// closure adds to st the positions reached by letting active star tokens match nothing.
func (g *glob) closure(st *globSet) {
	for {
		var carry, added uint64
		for w := 0; w < g.words; w++ {
			s := st[w] & g.star[w]
			t := s<<1 | carry
			carry = s >> 63
			added |= t &^ st[w]
			st[w] |= t
		}
		if added == 0 {
			return
		}
	}
}
