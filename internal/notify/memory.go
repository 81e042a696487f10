package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/redeploy-drill/drill/internal/resultstore"
)

// memory is what each hook was last told about one scenario, keyed by a
// hash of the hook's URL: the URL itself often carries a token and is not
// written down.
type memory struct {
	file   *resultstore.NotifyMemory
	states map[string]entry
	dirty  bool
}

type entry struct {
	State State `json:"state"`
	// RunID and RunStart are of the newest run the told state was judged
	// from: a judgement made from an older history (a drill status that
	// read the folder before a run finished) is not news.
	RunID    string     `json:"runId,omitempty"`
	RunStart *time.Time `json:"runStart,omitempty"`
	At       time.Time  `json:"at"`
}

func hookKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:8])
}

// openMemory locks and reads the scenario's memory. An unreadable memory
// is taken as empty: the worst is one notice told twice.
func openMemory(ctx context.Context, store *resultstore.Store, scenario string) (*memory, error) {
	m := &memory{states: map[string]entry{}}
	if store == nil {
		return m, nil
	}
	f, data, err := store.OpenNotifyMemory(ctx, scenario)
	if err != nil {
		return nil, err
	}
	m.file = f
	var doc struct {
		Hooks map[string]entry `json:"hooks"`
	}
	if json.Unmarshal(data, &doc) == nil && doc.Hooks != nil {
		m.states = doc.Hooks
	}
	return m, nil
}

func (m *memory) set(key string, n Notice) {
	e := entry{State: n.State, RunID: n.RunID, At: n.At}
	if !n.runStart.IsZero() {
		e.RunStart = &n.runStart
	}
	m.states[key] = e
	m.dirty = true
}

func (m *memory) save() error {
	if m.file == nil || !m.dirty {
		return nil
	}
	data, err := json.Marshal(map[string]any{"hooks": m.states})
	if err != nil {
		return err
	}
	return m.file.Save(data)
}

func (m *memory) close() {
	if m.file != nil {
		m.file.Close()
	}
}
