package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ErrSecretNotSet is what a SecretError wraps when the environment variable
// a secret is read from is not set.
var ErrSecretNotSet = errors.New("is not set")

// ErrSecretEmpty is what a SecretError wraps when a secret's source holds an
// empty value. An empty secret is refused because CI systems turn a secret
// nobody configured into an empty string, and the drill would then fail far
// from the cause (or, worse, pass against an unprotected service).
var ErrSecretEmpty = errors.New("is empty")

// SecretError says which secret could not be read, from where, and why.
type SecretError struct {
	Name   string // the secret's name
	Field  string // spec.secrets[1].fromEnv
	Source string // the variable name or the file path
	Err    error  // ErrSecretNotSet, ErrSecretEmpty, or the file error
}

func (e *SecretError) Error() string {
	prefix := fmt.Sprintf("secret %s (%s): ", e.Name, e.Field)
	switch {
	case strings.HasSuffix(e.Field, ".fromEnv"):
		return prefix + "environment variable " + e.Source + " " + e.Err.Error()
	case strings.HasSuffix(e.Field, ".fromFile"):
		msg := e.Err.Error()
		if pe, ok := errors.AsType[*fs.PathError](e.Err); ok {
			msg = pe.Err.Error() // the path is already in the message
		}
		if errors.Is(e.Err, ErrSecretEmpty) {
			return prefix + "file " + e.Source + " " + msg
		}
		return prefix + "file " + e.Source + ": " + msg
	default:
		return prefix + e.Err.Error()
	}
}

func (e *SecretError) Unwrap() error { return e.Err }

// ResolveSecrets reads every spec.secrets value: fromEnv through getenv
// (os.LookupEnv in production, a map in tests), fromFile from disk with one
// trailing newline trimmed (echo adds one; the secret does not have it). It
// returns the values by secret name. Every secret that cannot be read is
// reported, as *SecretError values joined with errors.Join, so a missing
// variable or file is named with its field path.
func (s *Scenario) ResolveSecrets(getenv func(string) (string, bool)) (map[string]string, error) {
	values := make(map[string]string, len(s.Spec.Secrets))
	var errs []error
	for i, sec := range s.Spec.Secrets {
		field := itemPath("spec.secrets", i)
		if sec.FromFile != "" {
			sec.FromFile = s.SecretFile(sec)
		}
		value, err := ReadSecret(sec, field, getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		values[sec.Name] = value
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return values, nil
}

// SecretFile returns the absolute path a fromFile secret is read from: a
// relative fromFile is relative to the scenario file's folder.
func (s *Scenario) SecretFile(sec Secret) string { return resolveSource(sec.FromFile, s.File) }

// ReadSecret reads one secret's value: fromEnv through getenv, fromFile
// (a path used as it is) from disk with one trailing newline trimmed. Field
// names where the secret is declared, for the error. Every failure is a
// *SecretError. drill gc reads the secrets of a dead run's ledger with it,
// exactly as the run did.
func ReadSecret(sec Secret, field string, getenv func(string) (string, bool)) (string, error) {
	switch {
	case sec.FromEnv != "":
		field += ".fromEnv"
		v, ok := getenv(sec.FromEnv)
		switch {
		case !ok:
			return "", &SecretError{Name: sec.Name, Field: field, Source: sec.FromEnv, Err: ErrSecretNotSet}
		case v == "":
			return "", &SecretError{Name: sec.Name, Field: field, Source: sec.FromEnv, Err: ErrSecretEmpty}
		}
		return v, nil
	case sec.FromFile != "":
		field += ".fromFile"
		data, err := os.ReadFile(sec.FromFile)
		value := trimNewline(string(data))
		switch {
		case err != nil:
			return "", &SecretError{Name: sec.Name, Field: field, Source: sec.FromFile, Err: err}
		case value == "":
			return "", &SecretError{Name: sec.Name, Field: field, Source: sec.FromFile, Err: ErrSecretEmpty}
		}
		return value, nil
	}
	return "", &SecretError{Name: sec.Name, Field: field, Err: errors.New("has neither fromEnv nor fromFile")}
}

// trimNewline removes one trailing line ending, \n or \r\n.
func trimNewline(s string) string {
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		return t
	}
	return strings.TrimSuffix(s, "\n")
}
