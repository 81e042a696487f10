package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseDuration reads a duration as time.ParseDuration does ("30s", "5m",
// "1h30m"), plus a leading whole number of days ("7d", "1d12h"), because a
// freshness of a week is naturally written 7d. A bare number is refused
// rather than guessed (seconds? minutes?), and so is a negative duration.
func parseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(text, 'd'); i > 0 {
		n, err := strconv.ParseUint(text[:i], 10, 16)
		if err == nil {
			days = time.Duration(n) * 24 * time.Hour
			text = text[i+1:]
		}
	}
	var rest time.Duration
	if text != "" || days == 0 {
		var err error
		rest, err = time.ParseDuration(text)
		if err != nil {
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
		return 0, fmt.Errorf("invalid duration %q: too long", short(s))
	}
	return days + rest, nil
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
