// Package shard splits the scenarios of one `drill run` between N runners
// (the pods of a Kubernetes Indexed Job, CI matrix jobs) without a
// coordinator: every runner finds the same scenarios, sorts them by name
// and keeps every N-th one, so that together they run each scenario exactly
// once, whatever order the files were found in.
//
// Shards count from 1 to N, as Playwright's and Jest's --shard do. Inside
// an Indexed Job, where Kubernetes gives each pod JOB_COMPLETION_INDEX
// (from 0), the index defaults to JOB_COMPLETION_INDEX+1 and only the count
// needs to be given (--shards or DRILL_SHARDS).
package shard

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Environment variables Resolve reads.
const (
	// EnvShard is --shard's default, I/N.
	EnvShard = "DRILL_SHARD"
	// EnvShards is --shards' default, the count N.
	EnvShards = "DRILL_SHARDS"
	// EnvJobIndex is what Kubernetes sets in each pod of an Indexed Job,
	// counting from 0.
	EnvJobIndex = "JOB_COMPLETION_INDEX"
)

// MaxShards bounds N: far more runners than anyone schedules, small enough
// that a typo (--shard 1/10000000) is refused rather than obeyed.
const MaxShards = 10000

// Shard is one part of N. The zero value is no sharding: Select keeps
// everything.
type Shard struct {
	Index int // 1..Count
	Count int
}

// IsZero reports whether no sharding was asked for.
func (s Shard) IsZero() bool { return s.Count == 0 }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Error is a shard that cannot be taken, naming where it came from (a flag
// or an environment variable), for an exit 2.
type Error struct {
	Source string // "--shard", "DRILL_SHARD", ...
	Value  string
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Source, e.Value, e.Reason)
}

// Parse reads I/N as --shard gives it; source names the flag or variable
// for the error.
func Parse(source, value string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(value), "/")
	if !ok {
		return Shard{}, &Error{source, value, "want I/N, the shard's number (from 1) and the number of shards, as in 1/4"}
	}
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil {
		return Shard{}, &Error{source, value, "I and N must be whole numbers, as in 1/4"}
	}
	return check(source, value, Shard{Index: index, Count: count})
}

func check(source, value string, s Shard) (Shard, error) {
	switch {
	case s.Count < 1:
		return Shard{}, &Error{source, value, "the number of shards must be at least 1"}
	case s.Count > MaxShards:
		return Shard{}, &Error{source, value, fmt.Sprintf("the number of shards must be at most %d", MaxShards)}
	case s.Index < 1 || s.Index > s.Count:
		return Shard{}, &Error{source, value, fmt.Sprintf("the shard's number must be from 1 to %d (shards count from 1)", s.Count)}
	}
	return s, nil
}

// Resolve is the one place the shard of a command is decided, from its
// flags and then the environment (getenv), first match wins:
//
//  1. --shard I/N;
//  2. DRILL_SHARD=I/N;
//  3. a count (--shards N, else DRILL_SHARDS=N) with the index from
//     JOB_COMPLETION_INDEX+1 (an Indexed Job); a count without an index is
//     an error, since it cannot pick a shard;
//  4. none of them: no sharding.
//
// JOB_COMPLETION_INDEX alone does not shard: a Job without a count may run
// every scenario in every pod on purpose.
func Resolve(flagShard string, flagCount int, getenv func(string) string) (Shard, error) {
	if flagShard != "" {
		if flagCount != 0 {
			return Shard{}, &Error{"--shards", strconv.Itoa(flagCount), "give either --shard I/N or --shards N, not both"}
		}
		return Parse("--shard", flagShard)
	}
	if v := getenv(EnvShard); v != "" && flagCount == 0 {
		return Parse(EnvShard, v)
	}
	source, count := "--shards", strconv.Itoa(flagCount)
	if flagCount == 0 {
		source, count = EnvShards, getenv(EnvShards)
		if count == "" {
			return Shard{}, nil
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil {
		return Shard{}, &Error{source, count, "the number of shards must be a whole number"}
	}
	idx := getenv(EnvJobIndex)
	if idx == "" {
		return Shard{}, &Error{source, count, "a number of shards needs the shard's own number: give --shard I/N, or run in an Indexed Job (" + EnvJobIndex + ")"}
	}
	i, err := strconv.Atoi(strings.TrimSpace(idx))
	if err != nil {
		return Shard{}, &Error{EnvJobIndex, idx, "must be a whole number (Kubernetes counts Indexed Job pods from 0)"}
	}
	return check(EnvJobIndex+"+1 of "+source, fmt.Sprintf("%d/%s", i+1, count), Shard{Index: i + 1, Count: n})
}

// Select returns the positions, in names, of the items this shard runs:
// names sorted (byte order, so every runner agrees whatever its locale),
// then every Count-th from the Index-th. Sorting and dealing round-robin
// keeps shards within one scenario of each other in size. The positions
// come back in ascending order of their names; without sharding, every
// position in its own order. Names must be unique (drill refuses two
// scenarios of one name before this).
func (s Shard) Select(names []string) []int {
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	if s.IsZero() {
		return order
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	out := []int{}
	for k, i := range order {
		if k%s.Count == s.Index-1 {
			out = append(out, i)
		}
	}
	return out
}
