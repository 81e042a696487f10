package cli

import (
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the zap logger for drill's own diagnostics on stderr.
// Quiet by default (warnings and errors): the progress display is what an
// operator reads; -v adds info, -vv debug.
func newLogger(w io.Writer, format string, verbose int) (*zap.Logger, error) {
	level := zapcore.WarnLevel
	switch {
	case verbose >= 2:
		level = zapcore.DebugLevel
	case verbose == 1:
		level = zapcore.InfoLevel
	}
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey = "time"
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(cfg)
	case "console", "":
		cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(cfg)
	default:
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--log-format: %q is not console or json", format)}
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), level)
	return zap.New(core), nil
}
