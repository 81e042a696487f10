package drills

import (
	"fmt"
	"strings"
	"time"
)

// TimeoutError is the cause attached to a step's deadline
// (context.WithTimeoutCause), so that "this step timed out" can be told apart
// from "the whole run was canceled" with context.Cause and errors.As.
type TimeoutError struct {
	What    string // "step start", "teardown", "budget"
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s timed out after %s", e.What, e.Timeout)
}

// ToolMissingError says that a tool drill needs (terraform, docker) is not
// usable on this machine, and how to get it. The CLI maps it to exit code 3.
type ToolMissingError struct {
	Tool string
	Err  error
	Hint string
}

func (e *ToolMissingError) Error() string {
	msg := e.Tool + " is not available"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *ToolMissingError) Unwrap() error { return e.Err }

// ClusterUnreachableError says that the Kubernetes cluster a scenario names
// cannot be used from this machine: its kubeconfig does not exist, the
// context is not in it, or the API server does not answer. Nothing was
// created. The CLI maps it to exit code 3, like a missing tool: it is the
// environment that cannot run the drill, not the runbook that failed.
type ClusterUnreachableError struct {
	Kubeconfig string // the kubeconfig file(s) read, colon-separated
	Context    string // the context, when known
	Server     string // the API server, when known
	Err        error
	Hint       string
}

// SourceUnreachableError is a git source whose repository could not be
// reached (the runner reports ReasonSourceUnreachable, exit 3).
type SourceUnreachableError struct {
	URL string // fit to print: no credentials
	Err error
}

func (e *SourceUnreachableError) Error() string {
	return "source repository unreachable: " + e.Err.Error()
}

func (e *SourceUnreachableError) Unwrap() error { return e.Err }

func (e *ClusterUnreachableError) Error() string {
	msg := "cluster not usable"
	if e.Context != "" {
		msg += " (context " + e.Context
		if e.Server != "" {
			msg += ", server " + e.Server
		}
		msg += ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *ClusterUnreachableError) Unwrap() error { return e.Err }

// ManualStepError is returned for a manual step that nobody could confirm: the
// runbook still needs a human, which is what the guideline forbids.
type ManualStepError struct{ Step string }

func (e *ManualStepError) Error() string {
	return fmt.Sprintf("step %q is manual and no operator is attached: the runbook is not automated", e.Step)
}

// NotIdempotentError lists what re-applying right after deploy would change.
type NotIdempotentError struct{ Changes []string }

func (e *NotIdempotentError) Error() string {
	return "not idempotent: re-applying would change " + strings.Join(e.Changes, ", ")
}

// LeftoverError lists what is still there after a target was destroyed, or
// before it was provisioned.
type LeftoverError struct {
	When  string // "after destroy" or "before provision"
	Items []string
}

func (e *LeftoverError) Error() string {
	return fmt.Sprintf("left %s: %s", e.When, strings.Join(e.Items, ", "))
}

// EvidenceError carries what a failing step collected to explain itself
// (resource status, events, pod logs). The runner writes Evidence into the
// step log and the result's output tail.
type EvidenceError struct {
	Err      error
	Evidence string
}

func (e *EvidenceError) Error() string { return e.Err.Error() }
func (e *EvidenceError) Unwrap() error { return e.Err }
