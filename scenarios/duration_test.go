package scenarios

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"30s": 30 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute, "200ms": 200 * time.Millisecond,
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "0": 0, " 2m ": 2 * time.Minute,
		"0d": 0, "-0": 0, "106751d": 106751 * 24 * time.Hour,
	}
	for in, want := range good {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	bad := map[string]string{
		"30":                    "missing unit",
		"1.5":                   "missing unit",
		"soon":                  "write it like",
		"-1m":                   "must not be negative",
		"1d-1h":                 "must not be negative",
		"d":                     "write it like",
		"":                      "write it like",
		"65535d2562047h":        "too long",
		"9999999999999d":        "too long",
		"99999999999999999999d": "too long",
		"106752d":               "too long",
		"9999999999999h":        "too long",
		"1d2562047h":            "too long",
		"-1d":                   "must not be negative",
		"-9999999999999d":       "must not be negative",
		"--5m":                  "write it like",
		"1.5d":                  "write it like",
	}
	for in, msg := range bad {
		_, err := parseDuration(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), msg, in)
	}
}

// Duration also works with other decoders and encoders, as "30s" text.
func TestDurationText(t *testing.T) {
	var v struct {
		D Duration `yaml:"d" json:"d"`
	}
	require.NoError(t, yaml.Unmarshal([]byte("d: 1m30s\n"), &v))
	assert.Equal(t, Duration(90*time.Second), v.D)

	out, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"d":"1m30s"}`, string(out))

	require.NoError(t, json.Unmarshal([]byte(`{"d":"2d"}`), &v))
	assert.Equal(t, Duration(48*time.Hour), v.D)
	assert.Error(t, json.Unmarshal([]byte(`{"d":"2"}`), &v))
}
