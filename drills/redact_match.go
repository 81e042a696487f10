package drills

import (
	"maps"
	"slices"
)

// matcher finds the registered forms in text. It is immutable once built:
// Add publishes a new one, so the scans of writers in use never lock.
//
// The scan is leftmost first, longest first at the same position: at each
// position the longest form that starts there is masked and the scan goes on
// after it. That rule only ever looks forward from the position being
// decided, which is what lets a streaming writer decide every position but a
// short tail and still agree with a scan of the whole text.
type matcher struct {
	values []string            // distinct values registered by the caller, in order
	forms  map[string]struct{} // every text masked: values, their lines, their escaped forms
	maxLen int                 // the longest form

	// first marks the bytes some form starts with, and pair the two-byte
	// starts of the forms longer than one byte (a 65536-bit set): together
	// they skip almost every position of ordinary text after a lookup or two.
	// single marks the forms of one byte, which pair cannot see.
	first  [256]bool
	single [256]bool
	pair   [1 << 16 / 64]uint64
	// byFirst lists the forms by first byte, longest first, so the first one
	// that matches is the longest.
	byFirst [256][]string
}

// with returns a matcher for m's values and values (m may be nil), or m
// itself when values adds nothing, so that adding the same outputs every
// cycle costs no rebuild.
func (m *matcher) with(values []string) *matcher {
	var known []string
	if m != nil {
		known = m.values
	}
	var added []string
	for _, v := range values {
		if v != "" && !slices.Contains(known, v) && !slices.Contains(added, v) {
			added = append(added, v)
		}
	}
	if len(added) == 0 {
		return m
	}
	n := &matcher{values: append(slices.Clone(known), added...), forms: map[string]struct{}{}}
	if m != nil {
		n.forms = maps.Clone(m.forms)
	}
	for _, v := range added {
		for _, value := range valuesOf(v) {
			for _, f := range formsOf(value) {
				n.forms[f] = struct{}{}
			}
		}
	}
	for f := range n.forms {
		c := f[0]
		n.first[c] = true
		if len(f) == 1 {
			n.single[c] = true
		} else {
			k := uint16(c)<<8 | uint16(f[1])
			n.pair[k/64] |= 1 << (k % 64)
		}
		n.byFirst[c] = append(n.byFirst[c], f)
		n.maxLen = max(n.maxLen, len(f))
	}
	for c := range n.byFirst {
		slices.SortFunc(n.byFirst[c], func(a, b string) int { return len(b) - len(a) })
	}
	return n
}

// next scans data from i for the leftmost form. It returns its position j
// and length n > 0; or, unless final, the position j where data[j:] is a
// proper prefix of a form, so that what follows decides whether it is masked
// (hold); or len(data) when data[i:] has no form at all. final says data is
// the whole text: a form cut short by its end is then no form.
func next[T string | []byte](m *matcher, data T, i int, final bool) (j, n int, hold bool) {
	for j = i; j < len(data); j++ {
		c := data[j]
		if !m.first[c] {
			continue
		}
		if j+1 < len(data) && !m.single[c] {
			k := uint16(c)<<8 | uint16(data[j+1])
			if m.pair[k/64]&(1<<(k%64)) == 0 {
				continue
			}
		}
		rest := data[j:]
		for _, f := range m.byFirst[c] {
			if len(f) > len(rest) {
				if !final && f[:len(rest)] == string(rest) {
					return j, 0, true
				}
				continue
			}
			if string(rest[:len(f)]) == f {
				return j, len(f), false
			}
		}
	}
	return len(data), 0, false
}
