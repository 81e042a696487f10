package scenarios

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUndefinedVariable is what an *UndefinedVariableError matches with errors.Is.
var ErrUndefinedVariable = errors.New("undefined variable")

// UndefinedVariableError is a ${NAME} whose NAME the step's environment does
// not define. It is an error, not an empty string, because a silently empty
// URL or path makes a drill fail far from its cause.
type UndefinedVariableError struct{ Name string }

func (e *UndefinedVariableError) Error() string { return "undefined variable " + e.Name }

// Is makes errors.Is(err, ErrUndefinedVariable) true.
func (e *UndefinedVariableError) Is(target error) bool { return target == ErrUndefinedVariable }

// ExpandSyntaxError is a malformed reference: an unterminated ${ or a name
// that is not [A-Za-z_][A-Za-z0-9_]*. Offset is the byte offset of its "${".
type ExpandSyntaxError struct {
	Offset int
	Msg    string
}

func (e *ExpandSyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset)
}

// Expand replaces every ${NAME} in s with lookup(NAME), for the fields drill
// expands (docs/contract.md section 2.8). The rules are deliberately narrow,
// so that the shell scripts and URLs steps carry, which use $ for their own
// purposes, pass through untouched:
//
//   - ${NAME}, NAME matching [A-Za-z_][A-Za-z0-9_]*, is replaced by its value.
//     Values are inserted as they are and never expanded again.
//   - $${ is a literal ${ (to write ${NAME} itself, write $${NAME}).
//     Read left to right, so $$${A} is "$" followed by the literal "${A}".
//   - A $ not followed by { (a lone $, $NAME, $1, $$, a regexp's $) is kept.
//   - A NAME lookup does not define is an *UndefinedVariableError
//     ("undefined variable NAME"); an unterminated ${ or a bad name such as
//     ${A-B}, ${} or ${A:-x} is an *ExpandSyntaxError. No defaults, no nesting.
func Expand(s string, lookup func(name string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", &ExpandSyntaxError{Offset: i, Msg: "unterminated ${"}
		}
		name := s[i+2 : i+2+end]
		if !isVarName(name) {
			return "", &ExpandSyntaxError{Offset: i, Msg: fmt.Sprintf("bad variable name %q in ${...}: want [A-Za-z_][A-Za-z0-9_]*", short(name))}
		}
		v, ok := lookup(name)
		if !ok {
			return "", &UndefinedVariableError{Name: name}
		}
		b.WriteString(v)
		i += 2 + end + 1
	}
	return b.String(), nil
}

// isVarName reports whether s is an environment variable name drill accepts.
func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// References returns the names s refers to with ${NAME}, in order, without
// repeats; nil when s has a syntax error (Expand reports it). The planner
// uses it to say which variables a step needs before running anything.
func References(s string) []string {
	var names []string
	seen := map[string]bool{}
	_, err := Expand(s, func(name string) (string, bool) {
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		return "", true
	})
	if err != nil {
		return nil
	}
	return names
}
