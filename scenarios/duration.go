package scenarios

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errDurationTooLong is what parseDuration wraps for a duration that does
// not fit a time.Duration (about 106751 days): the decoder adds the field's
// own limit to the message.
var errDurationTooLong = errors.New("too long")

// durationSyntax is what time.ParseDuration accepts, signs aside: when it
// matches and time.ParseDuration still fails, the number overflowed.
var durationSyntax = regexp.MustCompile(`^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// maxDays is the most whole days a time.Duration holds.
const maxDays = uint64(math.MaxInt64 / int64(24*time.Hour))

// parseDuration reads a duration as time.ParseDuration does ("30s", "5m",
// "1h30m"), plus a leading whole number of days ("7d", "1d12h"), because a
// freshness of a week is naturally written 7d. A bare number is refused
// rather than guessed (seconds? minutes?), and so is a negative duration.
// A duration too long for a time.Duration is refused with the text as
// written, never wrapped around.
func parseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(text, "-"); ok {
		// "-1d" is negative too, not a syntax error.
		if d, err := parseText(s, rest); err == nil && d > 0 || errors.Is(err, errDurationTooLong) {
			return 0, fmt.Errorf("invalid duration %q: must not be negative", short(s))
		}
	}
	return parseText(s, text)
}

// parseText parses text, the trimmed s; messages quote s.
func parseText(s, text string) (time.Duration, error) {
	var days time.Duration
	hasDays := false
	if i := strings.IndexByte(text, 'd'); i > 0 && digitsOnly(text[:i]) {
		n, err := strconv.ParseUint(text[:i], 10, 64)
		if err != nil || n > maxDays {
			return 0, fmt.Errorf("invalid duration %q: %w", short(s), errDurationTooLong)
		}
		days, hasDays = time.Duration(n)*24*time.Hour, true
		text = text[i+1:]
	}
	var rest time.Duration
	if text != "" || !hasDays {
		var err error
		rest, err = time.ParseDuration(text)
		if err != nil {
			if durationSyntax.MatchString(strings.TrimPrefix(text, "+")) {
				return 0, fmt.Errorf("invalid duration %q: %w", short(s), errDurationTooLong)
			}
			if _, numErr := strconv.ParseFloat(text, 64); numErr == nil {
				return 0, fmt.Errorf("invalid duration %q: missing unit, write it like 30s, 5m or 1h30m", short(s))
			}
			return 0, fmt.Errorf("invalid duration %q: write it like 30s, 5m, 1h30m or 7d", short(s))
		}
	}
	if rest < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", short(s))
	}
	if days+rest < days {
		return 0, fmt.Errorf("invalid duration %q: %w", short(s), errDurationTooLong)
	}
	return days + rest, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String formats d like time.Duration ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d like time.Duration, so that JSON and YAML output
// (drill plan -o json) show "30s" rather than nanoseconds.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads d as the scenario loader does ("30s", "7d"), so that
// other decoders (yaml.v3, encoding/json) agree with Load.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
