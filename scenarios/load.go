package scenarios

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds what Load reads: a scenario is a page of YAML, so a
// bigger file is a mistake (a wrong path), not a scenario.
const MaxFileSize = 4 << 20

// Problem is one thing wrong with a scenario file: where it is (1-based line
// and column; 0 when the scenario was built in Go rather than read from YAML),
// which field (a path like spec.steps[2].http.url; empty for a YAML syntax
// error) and what is wrong.
type Problem struct {
	File    string
	Line    int
	Column  int
	Field   string
	Message string
}

// String formats p like a compiler message, file:line:col: field: message,
// so that editors and CI annotate the right place.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(":")
	}
	if p.Line > 0 {
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(":")
		b.WriteString(strconv.Itoa(p.Column))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// LoadError is every problem found in a scenario, reported at once so that
// `drill validate` shows a whole file's mistakes in one pass. Find it with
// errors.As; the CLI maps it to exit code 2.
type LoadError struct {
	Problems []Problem
}

// Error prints one line per problem.
func (e *LoadError) Error() string {
	if len(e.Problems) == 0 {
		return "invalid scenario"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads, strictly decodes, validates and defaults the scenario at path.
// On top of what Parse checks, it checks spec.source on disk: the folder
// exists, is not the whole file system, does not hold the temporary folder
// cycle workdirs are made in (unless it is in a git work tree), and it is
// resolved through symlinks. A file that cannot be read is returned wrapped
// (errors.Is(err, fs.ErrNotExist) works); an invalid scenario is a
// *LoadError listing every problem.
func Load(path string, opts ...LoadOption) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &LoadError{Problems: []Problem{{File: path, Line: 1, Column: 1,
			Message: fmt.Sprintf("file is larger than %d bytes: not a scenario", MaxFileSize)}}}
	}
	return parse(path, data, true, newLoadOptions(opts))
}

// Parse decodes data as the scenario file named file (used in messages, and
// to resolve spec.source against the file's folder; it is not read). It
// reads apiVersion and kind first and stops there when they are not drill/v1
// Scenario, since the rest of the file then follows another schema. It then
// walks the YAML nodes against the Go types and reports, all at once, unknown
// fields, wrong types, duplicate keys and every validation problem. Anchors,
// aliases and merge keys (<<) are resolved, with a bound on the total number
// of nodes so that an alias bomb fails instead of eating memory. On success
// the scenario has its defaults applied (ApplyDefaults) and File and SHA256 set.
//
// Every ${NAME} in a field drill expands at run time must be defined by
// then: by spec.env, spec.passEnv or spec.secrets, as one of HostVars or
// ProvidedVars, as a target output (DRILL_OUTPUT_<NAME>, in steps only), or
// as a DRILL_* variable of the environment drill runs in (WithLookupEnv).
func Parse(file string, data []byte, opts ...LoadOption) (*Scenario, error) {
	return parse(file, data, false, newLoadOptions(opts))
}

func parse(file string, data []byte, checkFS bool, o loadOptions) (*Scenario, error) {
	root, problems := parseDocument(file, data)
	if root == nil {
		return nil, &LoadError{Problems: problems}
	}
	d := newDecoder(file)
	d.problems = problems
	if !d.header(root) {
		return nil, d.loadError()
	}
	s := &Scenario{}
	d.decode("", root, reflectValue(s))
	if d.overflow {
		// Half a document validated is noise next to the alias bomb.
		return nil, d.loadError()
	}
	v := &validator{file: file, idx: d.idx, opts: o}
	v.scenario(s)
	var source string
	if checkFS {
		source = v.source(s, file)
	}
	d.problems = append(d.problems, v.problems...)
	if len(d.problems) > 0 {
		return nil, d.loadError()
	}
	s.File = file
	sum := sha256.Sum256(data)
	s.SHA256 = hex.EncodeToString(sum[:])
	s.idx = d.idx
	s.ApplyDefaults()
	if source != "" {
		s.Spec.Source.Dir = source
	}
	return s, nil
}

// Pos returns where the value of field (a path like spec.source or
// spec.steps[2].http.url) is in the file, or, when the file does not write
// it, where the key of its nearest written ancestor is (spec: for an
// unwritten spec.source); 0, 0 for a scenario that was not loaded from a
// file. It is for problems found after Load, such as CheckResultsFolder's.
func (s *Scenario) Pos(field string) (line, col int) {
	if s.idx == nil {
		return 0, 0
	}
	if p, ok := s.idx.val[field]; ok {
		return p.line, p.col
	}
	v := &validator{idx: s.idx}
	p := v.pos(v.parentOf(field), true)
	return p.line, p.col
}

// parseDocument parses data into the root node of its single document. It
// returns nil and the problems when the file is not one YAML mapping.
func parseDocument(file string, data []byte) (*yaml.Node, []Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return nil, []Problem{{File: file, Line: 1, Column: 1,
			Message: "the file is empty: a scenario starts with apiVersion: drill/v1 and kind: Scenario"}}
	}
	if err != nil {
		return nil, []Problem{syntaxProblem(file, data, err)}
	}
	var problems []Problem
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, []Problem{syntaxProblem(file, data, err)}
	default:
		if c := content(&extra); c != nil && !isNull(c) {
			problems = append(problems, Problem{File: file, Line: c.Line, Column: c.Column,
				Message: "a scenario file holds exactly one YAML document; split the others into their own files"})
		}
	}
	root := content(&doc)
	if root == nil || isNull(root) {
		return nil, []Problem{{File: file, Line: 1, Column: 1,
			Message: "the document is empty: a scenario starts with apiVersion: drill/v1 and kind: Scenario"}}
	}
	if root.Kind != yaml.MappingNode {
		return nil, append(problems, Problem{File: file, Line: root.Line, Column: root.Column,
			Message: "a scenario must be a mapping (apiVersion, kind, metadata, spec), got " + describe(resolveAlias(root))})
	}
	return root, problems
}

// content returns the node a document node wraps.
func content(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return doc.Content[0]
	}
	if doc.Kind == 0 {
		return nil
	}
	return doc
}

// syntaxProblem turns a yaml.v3 syntax error into a Problem with a position.
// yaml.v3 reports only a line, and for parser errors the line where the
// enclosing block started rather than the offending one. So the position is
// found again: the shortest prefix of whole lines that fails with the same
// message holds the culprit on its last line (binary search, best effort),
// and the column is that line's first character that is not a space (a tab
// in indentation, the commonest mistake, is then pointed at exactly).
func syntaxProblem(file string, data []byte, err error) Problem {
	reported, msg := splitYAMLError(err)
	line := culpritLine(data, msg)
	if line == 0 {
		line = max(reported, 1)
	}
	return Problem{File: file, Line: line, Column: culpritColumn(data, line, msg), Message: "invalid YAML: " + msg}
}

// splitYAMLError splits "yaml: line 3: did not find expected key" into 3 and
// the message. yaml.v3 has no typed syntax error, so its text is all there is.
func splitYAMLError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				return n, tail
			}
		}
	}
	return 0, msg
}

// culpritLine returns the 1-based number of the first line whose prefix of
// the file fails to parse with msg, or 0.
func culpritLine(data []byte, msg string) int {
	ends := lineEnds(data)
	failsAt := func(k int) bool {
		err := firstYAMLError(data[:ends[k-1]])
		if err == nil {
			return false
		}
		_, m := splitYAMLError(err)
		return m == msg
	}
	n := len(ends)
	if n == 0 || !failsAt(n) {
		return 0
	}
	lo, hi := 1, n
	for lo < hi {
		mid := lo + (hi-lo)/2
		if failsAt(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// lineEnds returns the offset just past each line of data.
func lineEnds(data []byte) []int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}

// firstYAMLError parses every document of data and returns the first error.
func firstYAMLError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// culpritColumn returns the 1-based column on line of the first character
// that is not a space, or of the undefined alias an "unknown anchor" error names.
func culpritColumn(data []byte, line int, msg string) int {
	ends := lineEnds(data)
	if line < 1 || line > len(ends) {
		return 1
	}
	start := 0
	if line > 1 {
		start = ends[line-2]
	}
	text := string(data[start:ends[line-1]])
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		name, _, _ = strings.Cut(name, "'")
		if i := strings.Index(text, "*"+name); i >= 0 {
			return len([]rune(text[:i])) + 1
		}
	}
	for i, r := range []rune(text) {
		if r != ' ' && r != '\n' && r != '\r' {
			return i + 1
		}
	}
	return 1
}

// sortProblems orders problems by position and drops exact repeats (an
// anchored mapping used twice is reported once per use, but the same place
// and message twice is noise).
func sortProblems(ps []Problem) []Problem {
	seen := make(map[Problem]bool, len(ps))
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return out
}
