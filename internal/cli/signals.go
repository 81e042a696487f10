package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// exit ends the process on a third signal; tests replace it.
var exit = os.Exit

// signalError is the cancellation cause of an interrupted drill.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "interrupted by " + e.sig.String() }

// signals implements docs/contract.md section 8.5: the first SIGINT or SIGTERM
// cancels the current step and lets teardown run; a second one is answered
// with a message while teardown goes on; a third exits at once, saying what
// may be left and how to remove it.
type signals struct {
	mu      sync.Mutex
	first   os.Signal
	ch      chan os.Signal
	done    chan struct{}
	u       *ui
	onThird func() string
}

func withSignals(parent context.Context, u *ui) (context.Context, *signals) {
	ctx, cancel := context.WithCancelCause(parent)
	s := &signals{ch: make(chan os.Signal, 3), done: make(chan struct{}), u: u}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for {
			select {
			case <-s.done:
				return
			case sig := <-s.ch:
				n++
				switch n {
				case 1:
					s.mu.Lock()
					s.first = sig
					s.mu.Unlock()
					u.emit("warn", fmt.Sprintf("\ndrill: %s: canceling the current step; teardown runs now (signal again to see this message, a third time to exit at once)", sig),
						"interrupted: canceling the current step; teardown runs now", f("signal", sig.String()))
					cancel(&signalError{sig})
				case 2:
					u.emit("warn", "\ndrill: teardown is running so nothing is left behind; a third signal exits at once and may leave resources",
						"teardown is running so nothing is left behind; a third signal exits at once and may leave resources", f("signal", sig.String()))
				default:
					left := "unknown"
					s.mu.Lock()
					onThird := s.onThird
					s.mu.Unlock()
					if onThird != nil {
						left = onThird()
					}
					u.emit("error", fmt.Sprintf("\ndrill: exiting at once without finishing teardown; %s\nremove what is left with `drill gc`", left),
						"exiting at once without finishing teardown; remove what is left with `drill gc`", f("left", left), f("signal", sig.String()))
					exit(signalCode(s.received()))
				}
			}
		}
	}()
	return ctx, s
}

// setOnThird sets what describes the leftovers when drill exits at once.
func (s *signals) setOnThird(f func() string) {
	s.mu.Lock()
	s.onThird = f
	s.mu.Unlock()
}

func (s *signals) received() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

func (s *signals) stop() {
	signal.Stop(s.ch)
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}

func signalCode(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return ExitSIGTERM
	}
	return ExitSIGINT
}
