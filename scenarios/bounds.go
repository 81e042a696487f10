package scenarios

import (
	"fmt"
	"strings"
	"time"
)

// Limits on numbers and durations. A scenario outside them is a typo (an
// extra zero, ms for s, a unit forgotten), not a drill anyone means to run:
// a thousand cycles or a timeout of a year only ties up a machine, and an
// interval of a few nanoseconds hammers the service being probed.
const (
	MaxCycles  = 100
	MaxRetries = 100
	// MaxDuration bounds every duration but freshness: timeouts, retry
	// delays, budget, within, interval and waitReady.
	MaxDuration = 7 * 24 * time.Hour
	// MaxFreshness bounds spec.freshness: a drill expected less than once a
	// year is not a regular check.
	MaxFreshness = 366 * 24 * time.Hour
	// MinInterval bounds http.interval from below.
	MinInterval = 100 * time.Millisecond
)

// fieldName is the last name of a field path: spec.steps[0].retries → retries.
func fieldName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// intRangeMessage says why the integer written at path is out of its range.
// The decoder uses it for numbers too big for Go, the validator for the
// rest, so that both read the same and quote the value as written.
func intRangeMessage(path, written string, negative bool) string {
	switch fieldName(path) {
	case "status":
		return fmt.Sprintf("HTTP status %s is out of range: want 100 to 599", written)
	case "cycles":
		if negative {
			return fmt.Sprintf("must be at least 1, got %s", written)
		}
		return fmt.Sprintf("must be at most %d, got %s", MaxCycles, written)
	case "retries":
		if negative {
			return fmt.Sprintf("must not be negative, got %s", written)
		}
		return fmt.Sprintf("must be at most %d, got %s", MaxRetries, written)
	}
	return fmt.Sprintf("integer %s is out of range", written)
}

// durationBounds returns the shortest and longest value the duration field
// at path accepts (zero, "not set", is always accepted).
func durationBounds(path string) (lo, hi time.Duration) {
	switch fieldName(path) {
	case "freshness":
		return 0, MaxFreshness
	case "interval":
		return MinInterval, MaxDuration
	}
	return 0, MaxDuration
}

// formatDuration writes d the way a scenario would: whole days as 7d.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// written is the value of path as the file wrote it, or fallback for a
// scenario built in Go.
func (v *validator) written(path, fallback string) string {
	if raw, ok := v.idx.raw[path]; ok {
		return short(strings.TrimSpace(raw))
	}
	return fallback
}

// intRange checks an integer field against its range [lo, hi].
func (v *validator) intRange(path string, n, lo, hi int) {
	if !v.ok(path) || n >= lo && n <= hi {
		return
	}
	v.at(path, "%s", intRangeMessage(path, v.written(path, fmt.Sprint(n)), n < lo))
}

// duration checks a duration field: not negative, and within its bounds.
func (v *validator) duration(path string, d Duration) {
	if !v.ok(path) || d == 0 {
		return
	}
	lo, hi := durationBounds(path)
	got := v.written(path, formatDuration(d.D()))
	switch {
	case d < 0:
		v.at(path, "must not be negative, got %s", d.D())
	case d.D() > hi:
		v.at(path, "must be at most %s, got %s", formatDuration(hi), got)
	case d.D() < lo:
		v.at(path, "must be at least %s, got %s", formatDuration(lo), got)
	}
}
