package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/redeploy-drill/drill/results"
)

// The JUnit rendering follows the schema CI systems share (Jenkins'
// junit-10 XSD, which GitLab, GitHub actions and Azure read too):
// <testsuites> holds a <testsuite> per drill, named after the scenario and
// the run; each step of each cycle is a <testcase> named "cycle N / step"
// with the scenario as classname, and each guideline check one named
// "guideline / check", so a drill that passed while the guideline does not
// hold still fails the CI job.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	ID         int             `xml:"id,attr"`
	Package    string          `xml:"package,attr"`
	Properties *junitProps     `xml:"properties,omitempty"`
	Cases      []junitTestcase `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// junitTime is seconds with millisecond precision, as JUnit readers expect.
func junitTime(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }

// writeJUnit renders every detailed run of h (Scenario.Runs, and runs still
// running) as a suite.
func writeJUnit(w io.Writer, h *History) error {
	doc := junitSuites{Name: "drill"}
	var total int64
	for _, sc := range h.Scenarios {
		runs := append(append([]*results.Run(nil), sc.Runs...), sc.Running...)
		for _, r := range runs {
			s := junitSuiteOf(r)
			s.ID = len(doc.Suites)
			doc.Tests += s.Tests
			doc.Failures += s.Failures
			doc.Errors += s.Errors
			total += r.DurationMs
			doc.Suites = append(doc.Suites, s)
		}
	}
	doc.Time = junitTime(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteOf(r *results.Run) junitSuite {
	s := junitSuite{
		Name:      r.Scenario.Name + " " + r.RunID,
		Time:      junitTime(r.DurationMs),
		Timestamp: r.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		Hostname:  r.Host.Name,
		Package:   r.Scenario.Name,
	}
	props := []junitProp{
		{"runId", r.RunID},
		{"scenario", r.Scenario.Name},
		{"status", string(r.Status)},
		{"trigger", r.Trigger},
	}
	if r.Scenario.Owner != "" {
		props = append(props, junitProp{"owner", r.Scenario.Owner})
	}
	if r.Scenario.File != "" {
		props = append(props, junitProp{"file", r.Scenario.File})
	}
	if r.Source.Commit != "" {
		props = append(props, junitProp{"commit", r.Source.Commit})
	}
	if r.Guideline != nil {
		props = append(props, junitProp{"guideline.holds", fmt.Sprint(r.Guideline.Holds)})
	}
	if r.Error != nil {
		props = append(props, junitProp{"error.reason", string(r.Error.Reason)}, junitProp{"error.message", r.Error.Message})
	}
	s.Properties = &junitProps{Props: props}

	for _, c := range r.Cycles {
		for _, st := range c.Steps {
			tc := junitTestcase{
				Name:      fmt.Sprintf("cycle %d / %s", c.Index, st.Name),
				Classname: r.Scenario.Name,
				Time:      junitTime(st.DurationMs),
			}
			if st.Log != "" {
				tc.SystemOut = "log: " + st.Log
			}
			switch st.Status {
			case results.StatusPassed:
			case results.StatusSkipped:
				tc.Skipped = &junitMessage{Message: skipMessage(st)}
				s.Skipped++
			case results.StatusRunning:
				tc.Skipped = &junitMessage{Message: "still running"}
				s.Skipped++
			case results.StatusCanceled:
				tc.Error = stepMessage(st, "Canceled")
				s.Errors++
			default: // failed, timedOut
				tc.Failure = stepMessage(st, "StepFailed")
				s.Failures++
			}
			s.Cases = append(s.Cases, tc)
		}
	}
	if r.Guideline != nil {
		for _, c := range r.Guideline.Checks {
			tc := junitTestcase{Name: "guideline / " + c.Name, Classname: r.Scenario.Name, Time: junitTime(0)}
			if !c.OK {
				tc.Failure = &junitMessage{Message: "check " + c.Name + " does not hold", Type: "GuidelineCheck", Text: c.Detail}
				s.Failures++
			}
			s.Cases = append(s.Cases, tc)
		}
	}
	if len(s.Cases) == 0 {
		// A drill that stopped before its first step (an invalid
		// scenario, a missing tool) still shows up, as one failing case.
		tc := junitTestcase{Name: "drill", Classname: r.Scenario.Name, Time: junitTime(r.DurationMs)}
		if r.Status != results.StatusPassed {
			msg := junitMessage{Message: string(r.Status), Type: string(r.Status)}
			if r.Error != nil {
				msg.Message, msg.Type, msg.Text = r.Error.Message, string(r.Error.Reason), r.Error.OutputTail
			}
			tc.Failure = &msg
			s.Failures++
		}
		s.Cases = append(s.Cases, tc)
	}
	s.Tests = len(s.Cases)
	if r.Error != nil {
		s.SystemOut = fmt.Sprintf("%s: %s", r.Error.Reason, r.Error.Message)
	}
	return s
}

func skipMessage(st results.Step) string {
	if st.Error != nil && st.Error.Message != "" {
		return st.Error.Message
	}
	return "not run: an earlier step failed"
}

// stepMessage is the failure or error of a step: its error message as the
// message, the output tail as the body.
func stepMessage(st results.Step, fallback string) *junitMessage {
	m := &junitMessage{Message: string(st.Status), Type: fallback}
	if st.Error != nil {
		m.Type = string(st.Error.Reason)
		m.Message = st.Error.Message
		m.Text = st.Error.OutputTail
	}
	if m.Text == "" {
		m.Text = m.Message
	}
	m.Text = strings.ToValidUTF8(m.Text, "\uFFFD")
	return m
}
