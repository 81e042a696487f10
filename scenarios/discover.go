package scenarios

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// skipDirs are folders Discover never enters: fixtures (including invalid
// scenarios on purpose), version control and dependencies.
var skipDirs = map[string]bool{"testdata": true, ".git": true, "node_modules": true}

// Discover turns the PATH arguments of `drill run` and `drill validate` into
// scenario files. A file is taken as given, whatever it holds, so that
// validating it reports what is wrong with it. A folder is walked for *.yaml
// and *.yml files whose top-level kind is Scenario, skipping testdata, .git,
// node_modules and hidden folders below it. The result is sorted and without
// repeats. A path that does not exist is an error naming it (errors.Is
// fs.ErrNotExist holds).
func Discover(paths []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("find scenarios: %w", err)
		}
		if !fi.IsDir() {
			add(filepath.Clean(root))
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			ext := filepath.Ext(p)
			if ext != ".yaml" && ext != ".yml" {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
					return nil
				}
			} else if !d.Type().IsRegular() {
				return nil
			}
			ok, err := isScenarioFile(p)
			if err != nil {
				return err
			}
			if ok {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("find scenarios in %s: %w", root, err)
		}
	}
	slices.Sort(out)
	return out, nil
}

// isScenarioFile reports whether the file's top-level kind is Scenario. A
// file that is not valid YAML still counts when a line reads "kind: Scenario"
// at column 1: a scenario with a syntax error must fail validation, not
// silently drop out of the drill.
func isScenarioFile(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return false, err
	}
	if len(data) <= MaxFileSize {
		var doc yaml.Node
		if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err == nil {
			root := content(&doc)
			if root == nil || root.Kind != yaml.MappingNode {
				return false, nil
			}
			_, v := lookupKey(root, "kind")
			return v != nil && resolveAlias(v).Kind == yaml.ScalarNode && resolveAlias(v).Value == Kind, nil
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxFileSize+1)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "kind:"); ok {
			value, _, _ := strings.Cut(rest, "#")
			if strings.Trim(strings.TrimSpace(value), `"'`) == Kind {
				return true, nil
			}
		}
	}
	return false, nil
}
