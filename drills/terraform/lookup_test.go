package terraform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
)

func TestFindExecPrefersTheStepPath(t *testing.T) {
	t.Parallel()

	withTerraform := t.TempDir()
	fake := filepath.Join(withTerraform, "terraform")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\nexit 1\n"), 0o755))
	notExecutable := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(notExecutable, "terraform"), []byte("#!/bin/sh\n"), 0o644))
	empty := t.TempDir()

	tests := []struct {
		name     string
		stepPath string
		want     string
		wantOK   bool
	}{
		{name: "found on the step PATH", stepPath: strings.Join([]string{empty, withTerraform}, string(os.PathListSeparator)), want: fake, wantOK: true},
		{name: "a non-executable file is skipped", stepPath: strings.Join([]string{notExecutable, withTerraform}, string(os.PathListSeparator)), want: fake, wantOK: true},
		{name: "relative entries are skipped", stepPath: "relative/bin", wantOK: false},
		{name: "not on the step PATH", stepPath: empty, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := lookPathIn(tt.stepPath)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}

	target := New("infra")
	got, err := target.findExec(&drills.Env{Vars: map[string]string{"PATH": withTerraform}})
	require.NoError(t, err)
	assert.Equal(t, fake, got, "the step PATH wins over drill's PATH")
}
