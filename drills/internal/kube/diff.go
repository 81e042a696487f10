package kube

import (
	"reflect"
	"sort"
	"strconv"
)

// DiffPaths lists the dotted paths where two objects (or any JSON-like
// values) differ, sorted, at most max of them (then "..."; max <= 0: all),
// so that an idempotency check can say which fields would change: apply's
// live and dry-run objects, helm's installed and re-rendered manifests.
func DiffPaths(a, b map[string]any, max int) []string {
	var out []string
	walk("", a, b, &out)
	sort.Strings(out)
	if max > 0 && len(out) > max {
		out = append(out[:max], "...")
	}
	return out
}

func walk(prefix string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, am[k], bm[k], out)
		}
		return
	}
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok && len(as) == len(bs) {
		for i := range as {
			walk(prefix+"["+strconv.Itoa(i)+"]", as[i], bs[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, prefix)
	}
}
