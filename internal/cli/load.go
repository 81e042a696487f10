package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/internal/shard"
	"github.com/redeploy-drill/drill/scenarios"
)

// loadAll discovers and loads every scenario under paths, and checks each
// against what only the CLI knows: the results folder (--results) may not be
// inside a source, names must be unique, and a compose target's files must
// exist in the source and load (plan.CheckCompose). Every problem of every file is
// reported, not just the first file's: the error joins one
// *scenarios.LoadError per invalid file (printError prints them all), and
// is exit 2. The valid scenarios are returned even then, for `drill
// validate` to say which are ok.
func loadAll(a *app, paths []string) ([]*scenarios.Scenario, error) {
	// One path at a time, so that a path that does not exist is one more
	// problem rather than the only one reported.
	var (
		files []string
		errs  []error
	)
	for _, p := range paths {
		found, err := scenarios.Discover([]string{p})
		if err != nil {
			errs = append(errs, err)
		}
		files = append(files, found...)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	if len(files) == 0 && len(errs) == 0 {
		return nil, exitf(ExitUsage, "no scenario (kind: Scenario) found in %v", paths)
	}
	var out []*scenarios.Scenario
	names := map[string]string{}
	for _, f := range files {
		s, err := scenarios.Load(f)
		if err == nil {
			err = s.CheckResultsFolder(a.localResults())
		}
		if err == nil {
			// Reading local compose files, like reading the scenario, is
			// not something to interrupt.
			err = plan.CheckCompose(context.Background(), s, nil, nil)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := names[s.Metadata.Name]; ok {
			line, col := s.Pos("metadata.name")
			errs = append(errs, &scenarios.LoadError{Problems: []scenarios.Problem{{File: f, Line: line, Column: col, Field: "metadata.name",
				Message: fmt.Sprintf("%q is also used by %s: names must be unique, they name the results folder", s.Metadata.Name, prev)}}})
			continue
		}
		names[s.Metadata.Name] = f
		out = append(out, s)
	}
	if len(errs) > 0 {
		return out, &ExitError{Code: ExitUsage, Err: errors.Join(errs...)}
	}
	return out, nil
}

// shardFlags are --shard and --shards, which run and plan share.
type shardFlags struct {
	shard  string
	shards int
}

func (f *shardFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.shard, "shard", "", "run only shard I of N (I/N, from 1): the scenarios sorted by name, every N-th from the I-th; default $"+shard.EnvShard)
	cmd.Flags().IntVar(&f.shards, "shards", 0, "the number of shards, the shard being $"+shard.EnvJobIndex+"+1 (a Kubernetes Indexed Job); default $"+shard.EnvShards)
}

// selectShard keeps the scenarios of the shard the flags and environment
// name (shard.Resolve), all of them without one. Every scenario was loaded
// and checked first, so that every shard refuses the same invalid input
// and agrees on the names it splits.
func selectShard(f *shardFlags, list []*scenarios.Scenario) ([]*scenarios.Scenario, shard.Shard, error) {
	sh, err := shard.Resolve(f.shard, f.shards, os.Getenv)
	if err != nil {
		return nil, sh, &ExitError{Code: ExitUsage, Err: err}
	}
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.Metadata.Name
	}
	out := []*scenarios.Scenario{}
	for _, i := range sh.Select(names) {
		out = append(out, list[i])
	}
	return out, sh, nil
}
