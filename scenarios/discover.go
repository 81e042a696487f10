package scenarios

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
// and *.yml files meant as scenarios (see isScenarioFile: kind Scenario, but
// also a misspelled kind, drill's apiVersion with another kind, or a file
// with a syntax error that reads like one), skipping testdata, .git,
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

// isScenarioFile reports whether a file found in a folder is meant as a
// scenario, so that validating the folder reports it: a scenario with a
// mistake in its header or its syntax must fail validation, not silently
// drop out of the drill. It is when its top level, as YAML, has
//
//   - a kind that reads like Scenario (any case, or up to two typos:
//     "scenario", "Senario"), whatever its apiVersion;
//   - an apiVersion of drill's (drill/...), whatever its kind;
//   - neither apiVersion nor kind, but a spec with steps (a header forgotten).
//
// A top-level list counts when one of its items does (a scenario is one
// mapping; saying so beats skipping the file).
//
// A file that is not valid YAML counts when its text has a line that reads
// like such an apiVersion or kind, at any indentation or inside braces.
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
			if root != nil && root.Kind == yaml.SequenceNode {
				// A list of scenarios is a mistake worth reporting.
				for _, item := range root.Content {
					if item = resolveAlias(item); item.Kind == yaml.MappingNode && looksLikeScenario(item) {
						return true, nil
					}
				}
			}
			if root == nil || root.Kind != yaml.MappingNode {
				return false, nil
			}
			return looksLikeScenario(root), nil
		}
	}
	for _, m := range headerText.FindAllSubmatch(data, -1) {
		key, value := string(m[1]), string(m[2])
		if key == "apiVersion" && strings.HasPrefix(value, apiGroup) || key == "kind" && kindLike(value) {
			return true, nil
		}
	}
	return false, nil
}

// apiGroup starts every apiVersion of drill's documents.
const apiGroup = "drill/"

// headerText finds apiVersion: and kind: entries in text that is not valid
// YAML: at the start of a line (after indentation, "- " or "{") or after a
// comma in a flow mapping, the value optionally quoted.
var headerText = regexp.MustCompile(`(?m)(?:^[ \t]*(?:-[ \t]+)?\{?|[{,])[ \t]*["']?(apiVersion|kind)["']?[ \t]*:[ \t]*["']?([A-Za-z0-9_./-]+)`)

func looksLikeScenario(root *yaml.Node) bool {
	_, api := lookupKey(root, "apiVersion")
	_, kind := lookupKey(root, "kind")
	if api != nil || kind != nil {
		return kind != nil && scalarIs(kind, kindLike) ||
			api != nil && scalarIs(api, func(v string) bool { return strings.HasPrefix(v, apiGroup) })
	}
	_, spec := lookupKey(root, "spec")
	if spec == nil || resolveAlias(spec).Kind != yaml.MappingNode {
		return false
	}
	_, steps := lookupKey(resolveAlias(spec), "steps")
	return steps != nil
}

func scalarIs(n *yaml.Node, ok func(string) bool) bool {
	n = resolveAlias(n)
	return n.Kind == yaml.ScalarNode && ok(n.Value)
}

// kindLike reports whether a kind reads like Scenario.
func kindLike(kind string) bool {
	k := strings.ToLower(kind)
	return k == strings.ToLower(Kind) || len(k) <= 2*len(Kind) && editDistance(k, strings.ToLower(Kind)) <= 2
}
