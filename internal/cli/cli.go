// Package cli is drill's command line: the cobra commands, their flags, the
// exit codes of docs/contract.md section 7, the zap logger and the live progress
// display. main only calls Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/objectstore"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/textsafe"
	"github.com/redeploy-drill/drill/scenarios"
)

// Exit codes (docs/contract.md section 7).
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitEnvironment = 3
	ExitTeardown    = 4
	ExitSIGINT      = 130
	ExitSIGTERM     = 143
)

// Streams are the standard streams of an invocation, injected so tests can
// run the CLI in-process (kind's IOStreams).
type Streams struct {
	In  io.Reader
	Out io.Writer // program output only
	Err io.Writer // progress, logs and errors
}

// Stdio returns the process's own streams.
func Stdio() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// ExitError carries an exit code out of a command. Err, when set, is printed
// to stderr as "drill: <err>".
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

func exitf(code int, format string, a ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, a...)}
}

// Run executes drill with args (without the program name) and returns the
// process exit code. It never panics at the user: a panic becomes exit 1
// with a message asking for a bug report.
func Run(ctx context.Context, args []string, streams Streams) (code int) {
	ignoreSIGPIPE()
	defer profile()()
	redactor := drills.NewRedactor()
	terminal := terminalOf(streams)
	streams, out := wrapStreams(streams, redactor)
	defer out.close()
	root, a := newRootCommand(streams, redactor, terminal)
	defer func() {
		if r := recover(); r != nil {
			a.say().errorf("internal error: %v (please report this as a bug)", r)
			code = ExitFailed
		}
	}()
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	err := root.ExecuteContext(ctx)
	if cerr := a.closeResults(); cerr != nil {
		// Results that did not reach the store are exit 3 unless the
		// command already failed for a reason of its own.
		if ee, ok := errors.AsType[*ExitError](err); err == nil || ok && ee.Code == ExitOK {
			err = cerr
		} else {
			printError(a.say(), cerr)
		}
	}
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			printError(a.say(), ee.Err)
		}
		return ee.Code
	}
	// Anything cobra itself rejects (unknown flag, wrong arguments) is usage.
	printError(a.say(), err)
	return ExitUsage
}

// profile writes a CPU profile of the invocation to the file that
// DRILL_CPUPROFILE names (for `go tool pprof`; see the README's
// performance section), and returns what stops it.
func profile() func() {
	path := os.Getenv("DRILL_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "drill: DRILL_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "drill: DRILL_CPUPROFILE: %v\n", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// printError prints err on stderr. Errors joined with errors.Join (loadAll
// joins one per file) are printed one by one, and every problem of every
// invalid scenario as file:line:col: field: message, under one heading.
// The text is escaped (textsafe): it quotes files drill did not write.
func printError(u *ui, err error) {
	var problems, others []string
	invalid := 0
	for _, e := range leaves(err) {
		if le, ok := errors.AsType[*scenarios.LoadError](e); ok {
			invalid++
			for _, p := range le.Problems {
				problems = append(problems, p.String())
			}
			if len(le.Problems) == 0 {
				problems = append(problems, le.Error())
			}
			continue
		}
		others = append(others, e.Error())
	}
	if invalid > 0 {
		head := "invalid scenario:"
		if invalid > 1 {
			head = fmt.Sprintf("%d invalid scenarios:", invalid)
		}
		var text strings.Builder
		text.WriteString("drill: " + head + "\n")
		for _, p := range problems {
			text.WriteString(textsafe.Escape(p) + "\n")
		}
		u.emit("error", text.String(), head, f("problems", escapeAll(problems)))
	}
	for _, o := range others {
		u.errorf("%s", textsafe.Escape(o))
	}
}

func escapeAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = textsafe.Escape(l)
	}
	return out
}

// leaves flattens errors joined with errors.Join, in order.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// app is what every subcommand shares: the streams, the root flags, and
// the invocation's one redactor.
type app struct {
	streams   Streams
	results   string
	logFormat string
	verbose   int
	// redactor masks every secret this invocation learns, on stdout,
	// stderr and everything drill writes (see outputStreams).
	redactor *drills.Redactor
	// terminal tells which of the original streams are terminals: the
	// wrapped streams are not *os.File any more.
	terminal terminals
	ui       *ui
	// remote is the results store in object storage when --results is a
	// URL, and store the resultstore.Store over its mirror (openResults).
	remote *objectstore.Store
	store  *resultstore.Store
}

func newRootCommand(streams Streams, redactor *drills.Redactor, terminal terminals) (*cobra.Command, *app) {
	a := &app{streams: streams, redactor: redactor, terminal: terminal}
	root := &cobra.Command{
		Use:   "drill",
		Short: "Check, on a schedule and on demand, that a stack can be rebuilt from scratch by following its scripts",
		Long: `drill runs redeploy drills. A scenario (YAML) scripts one redeploy: provision a target
(a kind cluster, or any Terraform configuration), deploy the stack, verify it, tear it all down,
and do it again from nothing. drill times every step, keeps the evidence under the results
folder, and records whether the guideline "automate, and regularly check that we can
successfully redeploy by following scripts" holds.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
		// Flags of every command are checked here, once, before any
		// command runs: a wrong --log-format is a usage error even for the
		// commands that never build a logger.
		PersistentPreRunE: func(*cobra.Command, []string) error { return a.checkFlags() },
	}
	root.SetVersionTemplate("drill {{.Version}}\n")
	def := os.Getenv("DRILL_RESULTS")
	if def == "" {
		def = "./drill-results"
	}
	root.PersistentFlags().StringVar(&a.results, "results", def, "results folder, or a store in object storage: s3://BUCKET/PREFIX?endpoint=URL&region=R&use_path_style=true or file:///PATH (env DRILL_RESULTS)")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "console", "log format on stderr: console|json")
	root.PersistentFlags().CountVarP(&a.verbose, "verbose", "v", "more logs (-v info, -vv debug)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w\nSee '%s --help'.", err, c.CommandPath())}
	})
	root.AddCommand(
		newRunCommand(a),
		newValidateCommand(a),
		newPlanCommand(a),
		newListCommand(a),
		newStatusCommand(a),
		newVersionCommand(a),
		newGCCommand(a),
		newReportCommand(a),
		newServeCommand(a),
		newSchemaCommand(a),
		newRelayCommand(),
	)
	return root, a
}

// say returns the writer of everything drill tells the operator on
// stderr, in the --log-format asked for (console until the flags are
// read: a flag that cannot be parsed is reported in plain text).
func (a *app) say() *ui {
	if a.ui == nil || a.ui.json != (a.logFormat == "json") {
		a.ui = newUI(a.streams.Err, a.logFormat)
	}
	return a.ui
}

// checkFlags checks the root flags.
func (a *app) checkFlags() error {
	if a.logFormat != "console" && a.logFormat != "json" {
		return exitf(ExitUsage, "--log-format: %q is not console or json", a.logFormat)
	}
	return nil
}

// usageArgs wraps cobra's argument validators so a wrong count is exit 2 with
// a plain message.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w\nUsage: %s", cmd.CommandPath(), err, cmd.UseLine())}
		}
		return nil
	}
}
