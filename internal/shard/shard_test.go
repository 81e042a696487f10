package shard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		flag  string
		count int
		env   map[string]string
		want  Shard
	}{
		{name: "nothing: no sharding", want: Shard{}},
		{name: "flag", flag: "2/4", want: Shard{2, 4}},
		{name: "flag with spaces", flag: " 1/1 ", want: Shard{1, 1}},
		{name: "flag beats the environment", flag: "1/2", env: map[string]string{EnvShard: "3/3", EnvJobIndex: "2", EnvShards: "5"}, want: Shard{1, 2}},
		{name: "DRILL_SHARD", env: map[string]string{EnvShard: "3/5"}, want: Shard{3, 5}},
		{name: "Indexed Job with --shards", count: 4, env: map[string]string{EnvJobIndex: "0"}, want: Shard{1, 4}},
		{name: "Indexed Job with DRILL_SHARDS", env: map[string]string{EnvJobIndex: "3", EnvShards: "4"}, want: Shard{4, 4}},
		{name: "--shards beats DRILL_SHARD", count: 2, env: map[string]string{EnvShard: "1/9", EnvJobIndex: "1"}, want: Shard{2, 2}},
		{name: "an Indexed Job without a count runs everything", env: map[string]string{EnvJobIndex: "3"}, want: Shard{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Resolve(tt.flag, tt.count, env(tt.env))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResolveRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		flag  string
		count int
		env   map[string]string
		want  string
	}{
		{name: "no slash", flag: "2", want: `--shard "2": want I/N, the shard's number (from 1) and the number of shards, as in 1/4`},
		{name: "not numbers", flag: "a/b", want: `--shard "a/b": I and N must be whole numbers, as in 1/4`},
		{name: "from 0", flag: "0/4", want: `--shard "0/4": the shard's number must be from 1 to 4 (shards count from 1)`},
		{name: "past N", flag: "5/4", want: `--shard "5/4": the shard's number must be from 1 to 4 (shards count from 1)`},
		{name: "no shards", flag: "1/0", want: `--shard "1/0": the number of shards must be at least 1`},
		{name: "too many", flag: "1/10001", want: `--shard "1/10001": the number of shards must be at most 10000`},
		{name: "negative", flag: "-1/4", want: `--shard "-1/4": the shard's number must be from 1 to 4 (shards count from 1)`},
		{name: "both flags", flag: "1/2", count: 2, want: `--shards "2": give either --shard I/N or --shards N, not both`},
		{name: "bad DRILL_SHARD", env: map[string]string{EnvShard: "x"}, want: `DRILL_SHARD "x": want I/N, the shard's number (from 1) and the number of shards, as in 1/4`},
		{name: "count without index", count: 3, want: `--shards "3": a number of shards needs the shard's own number: give --shard I/N, or run in an Indexed Job (JOB_COMPLETION_INDEX)`},
		{name: "bad DRILL_SHARDS", env: map[string]string{EnvShards: "many", EnvJobIndex: "0"}, want: `DRILL_SHARDS "many": the number of shards must be a whole number`},
		{name: "bad index", env: map[string]string{EnvShards: "2", EnvJobIndex: "x"}, want: `JOB_COMPLETION_INDEX "x": must be a whole number (Kubernetes counts Indexed Job pods from 0)`},
		{name: "index past the count", env: map[string]string{EnvShards: "2", EnvJobIndex: "2"}, want: `JOB_COMPLETION_INDEX+1 of DRILL_SHARDS "3/2": the shard's number must be from 1 to 2 (shards count from 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Resolve(tt.flag, tt.count, env(tt.env))
			var se *Error
			require.ErrorAs(t, err, &se)
			assert.EqualError(t, err, tt.want)
		})
	}
}

// Every scenario runs in exactly one shard, shards differ in size by at
// most one, and the split depends on the names only, not on the order the
// runners found the files in.
func TestSelectPartitionsByName(t *testing.T) {
	t.Parallel()
	names := make([]string, 23)
	for i := range names {
		names[i] = fmt.Sprintf("stack-%02d", i)
	}
	for _, n := range []int{1, 2, 3, 4, 7, 23, 30} {
		seen := map[string]int{}
		var sizes []int
		for i := 1; i <= n; i++ {
			shuffled := slices.Clone(names)
			rand.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			var got []string
			for _, p := range (Shard{i, n}).Select(shuffled) {
				got = append(got, shuffled[p])
			}
			assert.True(t, slices.IsSorted(got), "positions come in name order")
			var again []string
			for _, p := range (Shard{i, n}).Select(names) {
				again = append(again, names[p])
			}
			assert.Equal(t, again, got, "shard %d/%d is the same whatever the order found", i, n)
			for _, g := range got {
				seen[g]++
			}
			sizes = append(sizes, len(got))
		}
		assert.Len(t, seen, len(names), "%d shards: every scenario runs", n)
		for name, c := range seen {
			assert.Equal(t, 1, c, "%d shards: %s runs once", n, name)
		}
		assert.LessOrEqual(t, slices.Max(sizes)-slices.Min(sizes), 1, "%d shards: sizes %v", n, sizes)
	}
}

func TestSelectWithoutShardingKeepsOrder(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []int{0, 1, 2}, Shard{}.Select([]string{"c", "a", "b"}))
	assert.Equal(t, []int{1, 0}, Shard{1, 2}.Select([]string{"c", "a", "b"}), "a and c")
	assert.Equal(t, []int{2}, Shard{2, 2}.Select([]string{"c", "a", "b"}), "b")
	assert.Empty(t, Shard{4, 4}.Select([]string{"c", "a", "b"}), "more shards than scenarios: the last get none")
}
