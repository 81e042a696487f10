package procs

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// procargs2 builds a kern.procargs2 buffer the way macOS lays it out: argc,
// the exec path, NUL padding, argv, env, then what follows the environment.
func procargs2(argc int32, exec string, pad int, argv, env []string, tail string) []byte {
	buf := binary.NativeEndian.AppendUint32(nil, uint32(argc))
	buf = append(buf, exec...)
	buf = append(buf, make([]byte, 1+pad)...)
	for _, s := range argv {
		buf = append(append(buf, s...), 0)
	}
	for _, s := range env {
		buf = append(append(buf, s...), 0)
	}
	return append(buf, tail...)
}

func TestParseProcargs2(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
		want procArgs
	}{
		{
			name: "argv and env after padding",
			buf: procargs2(3, "/bin/bash", 6, []string{"bash", "-c", "sleep 300"},
				[]string{"PATH=/usr/bin:/bin", "DRILL_RUN_ID=20261127T071500Z-3f9a1c"}, "\x00\x00\x00"),
			want: procArgs{
				Exec: "/bin/bash",
				Argv: []string{"bash", "-c", "sleep 300"},
				Env:  []string{"PATH=/usr/bin:/bin", "DRILL_RUN_ID=20261127T071500Z-3f9a1c"},
			},
		},
		{
			name: "no padding, env ends at the buffer's end",
			buf:  procargs2(1, "/usr/bin/sleep", 0, []string{"sleep"}, []string{"A=1", "B=2"}, ""),
			want: procArgs{Exec: "/usr/bin/sleep", Argv: []string{"sleep"}, Env: []string{"A=1", "B=2"}},
		},
		{
			name: "an empty string ends the environment",
			buf:  procargs2(1, "/x", 2, []string{"x"}, []string{"A=1"}, "\x00executable_path=/x\x00"),
			want: procArgs{Exec: "/x", Argv: []string{"x"}, Env: []string{"A=1"}},
		},
		{
			name: "an argv entry that looks like the marker is not env",
			buf:  procargs2(2, "/bin/env", 1, []string{"env", "DRILL_RUN_ID=fake"}, []string{"DRILL_RUN_ID=real"}, ""),
			want: procArgs{Exec: "/bin/env", Argv: []string{"env", "DRILL_RUN_ID=fake"}, Env: []string{"DRILL_RUN_ID=real"}},
		},
		{
			name: "no environment",
			buf:  procargs2(1, "/x", 3, []string{"x"}, nil, ""),
			want: procArgs{Exec: "/x", Argv: []string{"x"}},
		},
		{
			name: "a truncated last env entry is dropped",
			buf:  append(procargs2(1, "/x", 0, []string{"x"}, []string{"A=1"}, ""), "DRILL_RUN_ID=cut"...),
			want: procArgs{Exec: "/x", Argv: []string{"x"}, Env: []string{"A=1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcargs2(tt.buf)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseProcargs2Invalid(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
		want string
	}{
		{"empty", nil, "too short for argc"},
		{"argc only", []byte{1, 0}, "too short for argc"},
		{"negative argc", procargs2(-1, "/x", 0, nil, nil, ""), "negative argc -1"},
		{"exec path not terminated", binary.NativeEndian.AppendUint32(nil, 1), "exec path not terminated"},
		{"fewer argv than argc", procargs2(3, "/x", 1, []string{"x", "y"}, nil, ""), "argv[2] of 3 missing"},
		{"last argv not terminated", append(procargs2(2, "/x", 1, []string{"x"}, nil, ""), 'y'), "argv[1] of 2 missing or not terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseProcargs2(tt.buf)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
