package runner

import (
	"bytes"
	"strings"
	"sync"
)

// tailBuffer keeps the last n lines written to it, so a failing step's
// result carries the end of its output without holding all of it in memory.
type tailBuffer struct {
	mu    sync.Mutex
	n     int
	lines []string
	part  []byte
}

// maxLineLen bounds one kept line; very long lines are cut.
const maxLineLen = 2000

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{n: n} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data := append(t.part, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		t.push(string(data[:i]))
		data = data[i+1:]
	}
	if len(data) > maxLineLen {
		data = data[len(data)-maxLineLen:]
	}
	t.part = append([]byte(nil), data...)
	return len(p), nil
}

func (t *tailBuffer) push(line string) {
	if len(line) > maxLineLen {
		line = line[:maxLineLen] + "…"
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

// String returns the kept lines, the unfinished last line included.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.part) > 0 {
		lines = append(append([]string(nil), lines...), string(t.part))
	}
	return strings.Join(lines, "\n")
}
