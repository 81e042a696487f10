package scenarios

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	s := &Scenario{Spec: Spec{Secrets: []Secret{
		{Name: "FROM_ENV", FromEnv: "HOST_TOKEN"},
		{Name: "ONE_NEWLINE", FromFile: write("a", "s3cret\n\n")},
		{Name: "CRLF", FromFile: write("b", "s3cret\r\n")},
		{Name: "NO_NEWLINE", FromFile: write("c", "  spaced  ")},
	}}}
	env := lookupIn(map[string]string{"HOST_TOKEN": "tok"})

	got, err := s.ResolveSecrets(env)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"FROM_ENV":    "tok",
		"ONE_NEWLINE": "s3cret\n", // exactly one trailing newline is trimmed
		"CRLF":        "s3cret",
		"NO_NEWLINE":  "  spaced  ",
	}, got)
}

func TestResolveSecretsErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	missing := filepath.Join(dir, "missing")
	s := &Scenario{Spec: Spec{Secrets: []Secret{
		{Name: "UNSET", FromEnv: "NOT_THERE"},
		{Name: "BLANK", FromEnv: "BLANK_VAR"},
		{Name: "NOFILE", FromFile: missing},
		{Name: "EMPTYFILE", FromFile: empty},
	}}}
	env := lookupIn(map[string]string{"BLANK_VAR": ""})

	got, err := s.ResolveSecrets(env)
	require.Error(t, err)
	assert.Nil(t, got)
	assert.ErrorIs(t, err, ErrSecretNotSet)
	assert.ErrorIs(t, err, ErrSecretEmpty)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t,
		"secret UNSET (spec.secrets[0].fromEnv): environment variable NOT_THERE is not set\n"+
			"secret BLANK (spec.secrets[1].fromEnv): environment variable BLANK_VAR is empty\n"+
			"secret NOFILE (spec.secrets[2].fromFile): file "+missing+": no such file or directory\n"+
			"secret EMPTYFILE (spec.secrets[3].fromFile): file "+empty+" is empty",
		err.Error())

	se, ok := errors.AsType[*SecretError](err)
	require.True(t, ok)
	assert.Equal(t, SecretError{Name: "UNSET", Field: "spec.secrets[0].fromEnv", Source: "NOT_THERE", Err: ErrSecretNotSet}, *se)
}

// A relative fromFile is relative to the scenario's folder, like source.
func TestResolveSecretsRelativeFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token.txt"), []byte("abc\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: rel}
spec:
  secrets: [{name: TOKEN, fromFile: token.txt}]
  target: {none: {}}
  steps: [{name: a, run: "true"}]
`), 0o644))
	s, err := Load(filepath.Join(dir, "s.yaml"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "token.txt"), s.Spec.Secrets[0].FromFile)

	got, err := s.ResolveSecrets(lookupIn(nil))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"TOKEN": "abc"}, got)
}
