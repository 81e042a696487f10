package scenarios

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the nodes one file may expand to once anchors, aliases and
// merge keys are resolved. A real scenario has a few hundred; an alias bomb
// (a billion laughs) has billions and would otherwise eat the machine.
const maxNodes = 100_000

// maxMergeDepth bounds merge keys (<<) that merge mappings that merge mappings.
const maxMergeDepth = 16

// position is a 1-based line and column in the file.
type position struct{ line, col int }

func posOf(n *yaml.Node) position { return position{n.Line, n.Column} }

// index remembers, per field path, where the decoder found each field, so
// that validation working on the typed Scenario can still point at a line
// and column, and can tell "cycles: 0" (set, invalid) from no cycles (unset).
type index struct {
	key    map[string]position // the key naming the field
	val    map[string]position // the field's value
	parent map[string]string   // path of the enclosing field
	bad    map[string]bool     // fields whose value could not be decoded
	raw    map[string]string   // a number's or duration's value as written, for messages
	// typos maps a mapping's path to the known fields its unknown keys
	// look like, so that "rnu: make" is not also reported as a step
	// without an action.
	typos map[string][]string
}

func newIndex() *index {
	return &index{
		key:    map[string]position{},
		val:    map[string]position{},
		parent: map[string]string{},
		bad:    map[string]bool{},
		raw:    map[string]string{},
		typos:  map[string][]string{},
	}
}

// decoder walks YAML nodes against the Go types by reflection on their yaml
// tags, recording each problem and going on, so a file's mistakes are all
// reported together, each with its line, column and field path. yaml.v3's
// Decode with KnownFields(true) was measured against every invalid fixture
// and kept none of their messages: it names unknown fields and type
// mismatches by line only and in Go's terms ("line 9: field rnu not found
// in type scenarios.Step"), stops at the first value a TextUnmarshaler
// refuses (a duration), and reports a merge cycle or an alias bomb without a
// position. TestYAMLv3StrictCannotKeepTheMessages keeps that evidence; when
// it fails, yaml.v3 does what this walker does and the walker can go.
type decoder struct {
	file     string
	idx      *index
	problems []Problem
	budget   int
	overflow bool
	merging  map[*yaml.Node]bool // mappings whose merge keys are being resolved
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, idx: newIndex(), budget: maxNodes, merging: map[*yaml.Node]bool{}}
}

func (d *decoder) add(p position, field, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: p.line, Column: p.col, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) loadError() *LoadError {
	return &LoadError{Problems: sortProblems(d.problems)}
}

// header checks apiVersion and kind before anything else, the way kind's
// encoding/load.go does: a document of another version follows another
// schema, and decoding it against this one would only produce noise.
func (d *decoder) header(root *yaml.Node) bool {
	d.idx.val[""] = posOf(root)
	ok := true
	check := func(name, want string) {
		_, v := lookupKey(root, name)
		if v == nil {
			d.add(posOf(root), name, "required field is missing: want %s: %s", name, want)
			ok = false
			return
		}
		v = resolveAlias(v)
		if v.Kind != yaml.ScalarNode || v.Value != want {
			got := describe(v)
			if v.Kind == yaml.ScalarNode {
				got = strconv.Quote(short(v.Value))
			}
			d.add(posOf(v), name, "unsupported %s %s: want %s", name, got, want)
			ok = false
		}
	}
	check("apiVersion", APIVersion)
	check("kind", Kind)
	return ok
}

// lookupKey returns the first key named name in mapping n and its value.
func lookupKey(n *yaml.Node, name string) (*yaml.Node, *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolveAlias(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == name {
			return k, n.Content[i+1]
		}
	}
	return nil, nil
}

// integerText is a decimal integer as YAML writes one, of any size.
var integerText = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

func reflectValue(s *Scenario) reflect.Value { return reflect.ValueOf(s).Elem() }

var (
	durationType = reflect.TypeFor[Duration]()
	sourceType   = reflect.TypeFor[Source]()
	stepType     = reflect.TypeFor[Step]()
)

// spend takes one node from the budget, and reports the alias bomb once.
func (d *decoder) spend(path string, n *yaml.Node) bool {
	if d.overflow {
		return false
	}
	d.budget--
	if d.budget < 0 {
		d.overflow = true
		p, ok := d.idx.val[path]
		if !ok {
			p = posOf(n)
		}
		d.add(p, path, "more than %d YAML nodes once anchors and aliases are resolved: too big for a scenario, or an alias bomb", maxNodes)
		return false
	}
	return true
}

// decode decodes node n into v, recording where path's value is.
func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value) {
	if !d.spend(path, n) {
		return
	}
	n = resolveAlias(n)
	d.idx.val[path] = posOf(n)
	d.decodeNode(path, n, v)
}

func (d *decoder) decodeNode(path string, n *yaml.Node, v reflect.Value) {
	switch v.Type() {
	case durationType:
		d.duration(path, n, v)
		return
	case sourceType:
		d.source(path, n, v.Addr().Interface().(*Source))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := v.Type().Elem()
		if isNull(n) {
			// "http:" or "run:" with nothing after it still says which
			// action the step has; an unset retries or idempotent stays unset.
			if elem.Kind() == reflect.Struct || elem.Kind() == reflect.String {
				v.Set(reflect.New(elem))
			}
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(elem))
		}
		d.decodeNode(path, n, v.Elem())
	case reflect.Struct:
		d.structure(path, n, v)
	case reflect.Map:
		d.mapping(path, n, v)
	case reflect.Slice:
		d.sequence(path, n, v)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.wrongType(path, n, "a string")
			return
		}
		if !isNull(n) {
			// Any scalar is taken as written (APP_PORT: 18080 is "18080"):
			// n.Value is the source text, so nothing is lost.
			v.SetString(n.Value)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if isNull(n) {
			return
		}
		d.idx.raw[path] = n.Value
		// yaml.v3 resolves a decimal integer too big for 64 bits as a
		// float (99999999999999999999): it is still an integer, only out
		// of range, and is reported so with the text as written.
		huge := n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && n.Style&yaml.TaggedStyle == 0 && integerText.MatchString(n.Value)
		if !huge && (n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int") {
			d.wrongType(path, n, "an integer")
			return
		}
		var i int64
		if huge || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.add(posOf(n), path, "%s", intRangeMessage(path, short(n.Value), strings.HasPrefix(n.Value, "-")))
			d.idx.bad[path] = true
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if isNull(n) {
			return
		}
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.wrongType(path, n, "true or false")
			return
		}
		v.SetBool(b)
	case reflect.Interface:
		if x := d.free(path, n); x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		// Only reached if types.go gains a field of a kind this walker
		// does not know; the test loading valid-full.yaml catches it.
		d.add(posOf(n), path, "internal error: cannot decode into %s", v.Type())
	}
}

// free decodes a free-form value (helm.values) into JSON-like data:
// mappings with string keys, lists, strings, numbers, booleans and null,
// what a Helm values file holds. It keeps the walker's guarantees: every
// node counts against the alias budget, merge keys are resolved, duplicate
// keys are reported, and every nested field has a position for messages.
// A timestamp or any other tagged scalar stays the string it is written as,
// as Helm (which reads values through JSON) would see it.
func (d *decoder) free(path string, n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range d.pairs(path, n) {
			child := childPath(path, p.key.Value)
			d.idx.key[child] = posOf(p.key)
			d.idx.parent[child] = path
			if !d.spend(child, p.val) {
				return m
			}
			val := resolveAlias(p.val)
			d.idx.val[child] = posOf(val)
			m[p.key.Value] = d.free(child, val)
		}
		return m
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			child := itemPath(path, i)
			d.idx.parent[child] = path
			if !d.spend(child, item) {
				return list
			}
			item = resolveAlias(item)
			d.idx.val[child] = posOf(item)
			list = append(list, d.free(child, item))
		}
		return list
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i
			}
			// Too big for 64 bits: a number all the same, as JSON has it.
			fallthrough
		case "!!float":
			var f float64
			if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
			d.add(posOf(n), path, "%s is not a number a values file can hold (no infinity or NaN)", short(n.Value))
			d.idx.bad[path] = true
			return nil
		}
		return n.Value
	}
	d.wrongType(path, n, "a value")
	return nil
}

func (d *decoder) wrongType(path string, n *yaml.Node, want string) {
	d.add(posOf(n), path, "expected %s, got %s", want, describe(n))
	d.idx.bad[path] = true
}

func (d *decoder) duration(path string, n *yaml.Node, v reflect.Value) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.wrongType(path, n, "a duration like 30s, 5m or 1h30m")
		return
	}
	d.idx.raw[path] = n.Value
	dur, err := parseDuration(n.Value)
	if errors.Is(err, errDurationTooLong) {
		_, hi := durationBounds(path)
		d.add(posOf(n), path, "%v: at most %s", err, formatDuration(hi))
		d.idx.bad[path] = true
		return
	}
	if err != nil {
		d.add(posOf(n), path, "%v", err)
		d.idx.bad[path] = true
		return
	}
	v.SetInt(int64(dur))
}

// source decodes spec.source: a folder (a string) or a git repository (a
// mapping of git, ref and path, decoded as any structure is, so unknown
// fields and wrong types are reported the same way).
func (d *decoder) source(path string, n *yaml.Node, v *Source) {
	switch {
	case isNull(n):
	case n.Kind == yaml.ScalarNode:
		v.Dir = n.Value
	case n.Kind == yaml.MappingNode:
		v.Git = &GitSource{}
		d.structure(path, n, reflect.ValueOf(v.Git).Elem())
	default:
		d.wrongType(path, n, "a folder (a string) or a git repository ({git: URL, ref: REF, path: SUBDIR})")
	}
}

// manual decodes Step.Manual: instructions for the operator, or true for
// generic ones, or false for none.
func (d *decoder) manual(path string, n *yaml.Node, v reflect.Value) {
	if !d.spend(path, n) {
		return
	}
	n = resolveAlias(n)
	d.idx.val[path] = posOf(n)
	if isNull(n) {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if n.Decode(&b) == nil {
			if b {
				v.SetString(ManualGeneric)
			}
			return
		}
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.wrongType(path, n, "instructions for the operator (a string) or true")
		return
	}
	v.SetString(n.Value)
}

func (d *decoder) structure(path string, n *yaml.Node, v reflect.Value) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(path, n, "a mapping")
		return
	}
	fs := fieldsOf(v.Type())
	for _, p := range d.pairs(path, n) {
		name := p.key.Value
		child := childPath(path, name)
		i, ok := fs.byName[name]
		if !ok {
			hint := suggest(name, fs.names)
			if hint != "" {
				d.idx.typos[path] = append(d.idx.typos[path], hint)
			}
			if hint != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", hint)
			}
			d.add(posOf(p.key), child, "unknown field %q%s", short(name), hint)
			continue
		}
		d.idx.key[child] = posOf(p.key)
		d.idx.parent[child] = path
		if v.Type() == stepType && name == "manual" {
			d.manual(child, p.val, v.Field(i))
			continue
		}
		d.decode(child, p.val, v.Field(i))
	}
	if v.Type() == stepType {
		v.FieldByName("Line").SetInt(int64(n.Line))
	}
}

func (d *decoder) mapping(path string, n *yaml.Node, v reflect.Value) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(path, n, "a mapping")
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(path, n) {
		child := childPath(path, p.key.Value)
		d.idx.key[child] = posOf(p.key)
		d.idx.parent[child] = path
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(child, p.val, ev)
		m.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
}

func (d *decoder) sequence(path string, n *yaml.Node, v reflect.Value) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.wrongType(path, n, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		child := itemPath(path, i)
		d.idx.parent[child] = path
		d.decode(child, item, s.Index(i))
	}
	v.Set(s)
}

// pair is one key and its value in a mapping.
type pair struct{ key, val *yaml.Node }

// pairs returns the entries of mapping n with merge keys (<<) resolved: keys
// written in n win over merged ones, and earlier merged mappings win over
// later ones, as the YAML merge key spec says. Duplicate keys are reported.
func (d *decoder) pairs(path string, n *yaml.Node) []pair {
	return d.mergedPairs(path, n, 0)
}

func (d *decoder) mergedPairs(path string, n *yaml.Node, depth int) []pair {
	d.merging[n] = true
	defer delete(d.merging, n)
	var out, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !d.spend(path, n.Content[i]) {
			return out
		}
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(posOf(k), path, "a mapping key must be a name, got %s", describe(k))
			continue
		}
		if isMergeKey(k) {
			merged = append(merged, d.mergeSource(path, val, depth)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(posOf(k), childPath(path, k.Value), "duplicate key %q (first at line %d)", short(k.Value), first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k, val})
	}
	for _, p := range merged {
		if _, dup := seen[p.key.Value]; !dup {
			seen[p.key.Value] = p.key
			out = append(out, p)
		}
	}
	return out
}

// mergeSource returns the entries a merge key's value brings in.
func (d *decoder) mergeSource(path string, val *yaml.Node, depth int) []pair {
	if !d.spend(path, val) {
		return nil
	}
	val = resolveAlias(val)
	if d.merging[val] {
		d.add(posOf(val), path, "a merge key (<<) refers to the mapping that holds it")
		return nil
	}
	if depth >= maxMergeDepth {
		d.add(posOf(val), path, "merge keys (<<) nested more than %d deep", maxMergeDepth)
		return nil
	}
	switch val.Kind {
	case yaml.MappingNode:
		return d.mergedPairs(path, val, depth+1)
	case yaml.SequenceNode:
		var out []pair
		seen := map[string]bool{}
		for _, item := range val.Content {
			if !d.spend(path, item) {
				return out
			}
			item = resolveAlias(item)
			if d.merging[item] {
				d.add(posOf(item), path, "a merge key (<<) refers to the mapping that holds it")
				continue
			}
			if item.Kind != yaml.MappingNode {
				d.add(posOf(item), path, "a merge key (<<) takes a mapping or a list of mappings, got %s", describe(item))
				continue
			}
			for _, p := range d.mergedPairs(path, item, depth+1) {
				if !seen[p.key.Value] {
					seen[p.key.Value] = true
					out = append(out, p)
				}
			}
		}
		return out
	default:
		d.add(posOf(val), path, "a merge key (<<) takes a mapping or a list of mappings, got %s", describe(val))
		return nil
	}
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

// resolveAlias follows an alias to the node its anchor names. yaml.v3 has
// already rejected aliases to unknown anchors, and an anchor cannot sit on
// an alias, so one hop is the rule; the bound is for safety.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		switch tag := n.ShortTag(); tag {
		case "!!null":
			return "nothing (null)"
		case "!!str":
			return "the string " + strconv.Quote(short(n.Value))
		case "!!int", "!!float":
			return "the number " + short(n.Value)
		case "!!bool":
			return short(n.Value)
		default:
			return tag + " " + strconv.Quote(short(n.Value))
		}
	}
	return "an unknown node"
}

// short truncates what a message quotes from the file.
func short(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit]) + "…"
}

// childPath is the path of field key under parent: spec.steps, or
// metadata.labels["app.kubernetes.io/name"] when key is not a plain name.
func childPath(parent, key string) string {
	if !plainKey(key) {
		return parent + "[" + strconv.Quote(short(key)) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func itemPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

func plainKey(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r < unicode.MaxASCII && unicode.IsLetter(r):
		case i > 0 && (r == '-' || r < unicode.MaxASCII && unicode.IsDigit(r)):
		default:
			return false
		}
	}
	return true
}

// fieldSet is a struct type's fields by yaml name.
type fieldSet struct {
	byName map[string]int
	names  []string
}

var fieldCache sync.Map // reflect.Type → *fieldSet

func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fs.byName[name] = i
		fs.names = append(fs.names, name)
	}
	fieldCache.Store(t, fs)
	return fs
}

// suggest returns the known field name that name is likely a typo of: one
// that differs only in case or separators, or by at most two edits; or "".
func suggest(name string, names []string) string {
	if len(name) > 64 {
		return ""
	}
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	best, bestDist := "", 3
	for _, c := range names {
		if norm(c) == norm(name) {
			return c
		}
		if dist := editDistance(name, c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best == "" || len(name) < 3 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
