package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that every failure
// is a *LoadError whose problems all point at a line, so `drill validate`
// can always say where.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil {
			if s == nil {
				t.Fatal("nil scenario without an error")
			}
			if verr := s.Validate(); verr != nil {
				t.Fatalf("Parse accepted a scenario Validate rejects: %v", verr)
			}
			return
		}
		le, ok := errors.AsType[*LoadError](err)
		if !ok {
			t.Fatalf("error %T is not a *LoadError: %v", err, err)
		}
		if len(le.Problems) == 0 {
			t.Fatal("a *LoadError without problems")
		}
		for _, p := range le.Problems {
			if p.Line < 1 || p.Column < 1 || p.File != "fuzz.yaml" {
				t.Fatalf("problem without a position: %+v", p)
			}
		}
	})
}
