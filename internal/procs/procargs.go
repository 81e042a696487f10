package procs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// procArgs is what macOS's kern.procargs2 sysctl holds for one process: the
// path it was executed from, its argv and its environment, as they were at
// exec time.
type procArgs struct {
	Exec string
	Argv []string
	Env  []string
}

// parseProcargs2 decodes a kern.procargs2 buffer. Its layout (the top of
// the process's initial stack, see ps(1)'s sources in Apple's adv_cmds):
//
//	argc       int32, native byte order
//	exec path  NUL-terminated
//	padding    NUL bytes up to the next boundary
//	argv       argc NUL-terminated strings
//	env        NUL-terminated strings, ending at an empty string or the buffer's end
//
// Strings the kernel appends after the environment (the "apple" strings,
// such as executable_path=...) may be read as environment entries; they hold
// no DRILL_ variable, so matching an exact key=value is not misled. A buffer
// shorter than its argc says is an error, since the environment would then
// be missing.
//
// It is a pure function, kept free of build tags, so it is tested on every
// system.
func parseProcargs2(buf []byte) (procArgs, error) {
	var out procArgs
	if len(buf) < 4 {
		return out, fmt.Errorf("procargs2: %d bytes, too short for argc", len(buf))
	}
	argc := int32(binary.NativeEndian.Uint32(buf))
	if argc < 0 {
		return out, fmt.Errorf("procargs2: negative argc %d", argc)
	}
	rest := buf[4:]
	exec, rest, ok := cutString(rest)
	if !ok {
		return out, errors.New("procargs2: exec path not terminated")
	}
	out.Exec = exec
	rest = bytes.TrimLeft(rest, "\x00")
	for i := range int(argc) {
		arg, r, ok := cutString(rest)
		if !ok {
			return out, fmt.Errorf("procargs2: argv[%d] of %d missing or not terminated", i, argc)
		}
		out.Argv = append(out.Argv, arg)
		rest = r
	}
	for len(rest) > 0 {
		kv, r, ok := cutString(rest)
		if kv == "" {
			break // the empty string that ends the environment
		}
		if !ok {
			break // a truncated last entry is not an entry
		}
		out.Env = append(out.Env, kv)
		rest = r
	}
	return out, nil
}

// cutString splits b at its first NUL: the string before it and the bytes
// after it. ok is false when b holds no NUL; s is then all of b.
func cutString(b []byte) (s string, rest []byte, ok bool) {
	before, after, found := bytes.Cut(b, []byte{0})
	return string(before), after, found
}
