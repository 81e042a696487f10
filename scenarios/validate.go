package scenarios

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/redeploy-drill/drill/internal/textsafe"
)

// Validate checks a Scenario built or changed in Go with the rules Load
// applies to files, and returns a *LoadError listing every problem, or nil.
// Without a file to point into, problems carry only the field path, and a
// zero field counts as unset (Load can tell "cycles: 0" from no cycles;
// Validate cannot). A scenario Load returned, defaults applied, is valid.
// Like Parse it checks that every ${NAME} will be defined (WithLookupEnv
// sets how DRILL_* variables of the environment are read). It does not look
// at the disk: spec.source is Load's to check.
func (s *Scenario) Validate(opts ...LoadOption) error {
	v := &validator{file: s.File, idx: newIndex(), opts: newLoadOptions(opts)}
	if s.APIVersion != "" && s.APIVersion != APIVersion {
		v.at("apiVersion", "unsupported apiVersion %q: want %s", s.APIVersion, APIVersion)
	}
	if s.Kind != "" && s.Kind != Kind {
		v.at("kind", "unsupported kind %q: want %s", s.Kind, Kind)
	}
	v.scenario(s)
	if len(v.problems) > 0 {
		return &LoadError{Problems: v.problems}
	}
	return nil
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// validator checks the decoded Scenario. It works on the Go values, and
// finds positions through the decoder's index (empty for Validate).
type validator struct {
	file     string
	idx      *index
	opts     loadOptions
	defs     *definitions
	spec     *Spec // the spec being checked, once scenario reached it
	problems []Problem
}

func (v *validator) parsed() bool { _, ok := v.idx.val[""]; return ok }

func (v *validator) has(path string) bool {
	_, k := v.idx.key[path]
	_, val := v.idx.val[path]
	return k || val
}

// ok reports whether path and its ancestors decoded cleanly: checking what
// could not be decoded would report the same mistake twice.
func (v *validator) ok(path string) bool {
	for p, i := path, 0; i < 64; i++ {
		if v.idx.bad[p] {
			return false
		}
		if p == "" {
			return true
		}
		p = v.parentOf(p)
	}
	return true
}

// parentOf returns the path of the field that holds path: the decoder's
// record when it saw path, else path minus its last .name or [index].
func (v *validator) parentOf(path string) string {
	if parent, ok := v.idx.parent[path]; ok {
		return parent
	}
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// pos finds the position of path, or of its nearest recorded ancestor.
func (v *validator) pos(path string, preferKey bool) position {
	for p, i := path, 0; i < 64; i++ {
		if preferKey {
			if k, ok := v.idx.key[p]; ok {
				return k
			}
		}
		if val, ok := v.idx.val[p]; ok {
			return val
		}
		if k, ok := v.idx.key[p]; ok {
			return k
		}
		if p == "" {
			break
		}
		p = v.parentOf(p)
	}
	return v.idx.val[""]
}

func (v *validator) report(p position, field, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: p.line, Column: p.col, Field: field, Message: fmt.Sprintf(format, args...)})
}

// at reports a problem with the value of path.
func (v *validator) at(path, format string, args ...any) {
	v.report(v.pos(path, false), path, format, args...)
}

// atKey reports a problem with the field path itself (pointing at its key).
func (v *validator) atKey(path, format string, args ...any) {
	v.report(v.pos(path, true), path, format, args...)
}

// missing reports that field is missing from parent, at parent's key,
// unless an unknown key of parent looks like a typo of it (already reported).
func (v *validator) missing(parent, field, format string, args ...any) {
	if v.typo(parent, field) {
		return
	}
	v.report(v.pos(parent, true), childPath(parent, field), format, args...)
}

// typo reports whether an unknown key of parent looks like one of fields.
func (v *validator) typo(parent string, fields ...string) bool {
	for _, t := range v.idx.typos[parent] {
		if slices.Contains(fields, t) {
			return true
		}
	}
	return false
}

// lineOf describes where path is, for "first used by" hints.
func (v *validator) lineOf(path string) string {
	if p, ok := v.idx.key[path]; ok {
		return fmt.Sprintf("%s at line %d", path, p.line)
	}
	return path
}

func (v *validator) scenario(s *Scenario) {
	v.metadata(&s.Metadata)
	if v.parsed() && !v.has("spec") {
		v.missing("", "spec", "required field is missing")
		return
	}
	if !v.ok("spec") {
		return
	}
	sp := &s.Spec
	v.spec = sp
	v.defs = newDefinitions(sp, v.opts.lookupEnv)
	if sp.Cycles != 0 || v.has("spec.cycles") {
		v.intRange("spec.cycles", sp.Cycles, 1, MaxCycles)
	}
	v.duration("spec.budget", sp.Budget)
	v.duration("spec.freshness", sp.Freshness)
	v.env(sp)
	v.secrets(sp)
	v.notify(sp)
	if sp.Source.Git != nil && v.ok("spec.source") {
		v.gitSource("spec.source", sp.Source.Git)
	}
	if v.ok("spec.defaults") {
		v.intRange("spec.defaults.retries", sp.Defaults.Retries, 0, MaxRetries)
		v.duration("spec.defaults.timeout", sp.Defaults.Timeout)
		v.duration("spec.defaults.retryDelay", sp.Defaults.RetryDelay)
	}
	v.target(&sp.Target)

	if len(sp.Steps) == 0 && v.ok("spec.steps") {
		if v.has("spec.steps") {
			v.at("spec.steps", "at least one step is required")
		} else {
			v.missing("spec", "steps", "required field is missing: at least one step")
		}
	}
	names := map[string]string{}
	for i := range sp.Steps {
		v.step(itemPath("spec.steps", i), &sp.Steps[i], false, names)
	}
	for i := range sp.Teardown {
		v.step(itemPath("spec.teardown", i), &sp.Teardown[i], true, names)
	}
}

func (v *validator) metadata(m *Metadata) {
	if v.parsed() && !v.has("metadata") {
		v.missing("", "metadata", "required field is missing: metadata.name at least")
		return
	}
	if !v.ok("metadata") {
		return
	}
	v.text("metadata.description", m.Description, multiLine)
	v.text("metadata.owner", m.Owner, oneLine)
	if v.ok("metadata.labels") {
		for _, k := range sortedKeys(m.Labels) {
			lp := childPath("metadata.labels", k)
			v.text(lp, k, labelKey)
			v.text(lp, m.Labels[k], oneLine)
		}
	}
	if !v.ok("metadata.name") {
		return
	}
	switch {
	case m.Name == "" && v.has("metadata.name"):
		v.at("metadata.name", "must not be empty")
	case m.Name == "":
		v.missing("metadata", "name", "required field is missing")
	case len(m.Name) > 63 || !dnsLabel.MatchString(m.Name):
		v.at("metadata.name", "invalid name %q: use a lowercase DNS label (a-z, 0-9 and -, at most 63 characters, starting and ending with a letter or digit)", short(m.Name))
	}
}

func (v *validator) env(sp *Spec) {
	if v.ok("spec.env") {
		for _, k := range sortedKeys(sp.Env) {
			v.varName(childPath("spec.env", k), k, "variable")
		}
	}
	if v.ok("spec.passEnv") {
		for i, k := range sp.PassEnv {
			p := itemPath("spec.passEnv", i)
			if v.ok(p) {
				v.varName(p, k, "variable")
			}
		}
	}
}

// varName checks an environment variable name drill will set for steps.
func (v *validator) varName(path, name, what string) bool {
	switch {
	case !isVarName(name):
		v.atKey(path, "invalid %s name %q: want [A-Za-z_][A-Za-z0-9_]*", what, short(name))
	case strings.HasPrefix(name, ReservedPrefix):
		v.atKey(path, "%s name %q is reserved: drill sets the %s* variables itself", what, name, ReservedPrefix)
	default:
		return true
	}
	return false
}

func (v *validator) secrets(sp *Spec) {
	if !v.ok("spec.secrets") {
		return
	}
	seen := map[string]string{}
	for i, sec := range sp.Secrets {
		p := itemPath("spec.secrets", i)
		if !v.ok(p) {
			continue
		}
		np := p + ".name"
		switch {
		case sec.Name == "" && v.has(np):
			v.at(np, "must not be empty")
		case sec.Name == "":
			v.missing(p, "name", "required field is missing")
		case !v.varName(np, sec.Name, "secret"):
		case seen[sec.Name] != "":
			v.at(np, "duplicate secret %q (first used by %s)", sec.Name, v.lineOf(seen[sec.Name]))
		default:
			seen[sec.Name] = np
			if _, clash := sp.Env[sec.Name]; clash {
				v.at(np, "secret %q is also set in spec.env: keep secret values out of the scenario file", sec.Name)
			}
		}
		switch {
		case sec.FromEnv == "" && sec.FromFile == "":
			v.at(p, "set one of fromEnv or fromFile")
		case sec.FromEnv != "" && sec.FromFile != "":
			v.atKey(p+".fromFile", "set only one of fromEnv or fromFile")
		case sec.FromEnv != "" && !isVarName(sec.FromEnv):
			v.at(p+".fromEnv", "invalid environment variable name %q", short(sec.FromEnv))
		}
	}
}

// IsHTTPURL reports whether s is an absolute http:// or https:// URL with a
// host: what an http step polls and a webhook is posted to.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// notifyFormats are the bodies a spec.notify webhook can get.
var notifyFormats = []string{"json", "slack"}

func (v *validator) notify(sp *Spec) {
	if !v.ok("spec.notify") {
		return
	}
	for i, n := range sp.Notify {
		p := itemPath("spec.notify", i)
		if !v.ok(p) {
			continue
		}
		up := p + ".url"
		switch {
		case n.URL == "" && v.has(up):
			v.at(up, "must not be empty")
		case n.URL == "":
			v.missing(p, "url", "required field is missing")
		case !v.expandable(up, n.URL, targetScope):
		case !strings.Contains(n.URL, "${") && !IsHTTPURL(n.URL):
			// The URL is not repeated: a webhook URL is its credential.
			v.at(up, "want an absolute http:// or https:// URL (better: ${NAME} of a secret, as the URL carries the webhook's token)")
		}
		if n.Secret != "" {
			v.expandable(p+".secret", n.Secret, targetScope)
		}
		if fp := p + ".format"; (n.Format != "" || v.has(fp)) && !slices.Contains(notifyFormats, n.Format) {
			v.at(fp, "unsupported format %q: want one of %s", short(n.Format), strings.Join(notifyFormats, ", "))
		}
	}
}

func (v *validator) target(t *Target) {
	const tp = "spec.target"
	if !v.ok(tp) {
		return
	}
	var kinds []string
	if t.Terraform != nil {
		kinds = append(kinds, "terraform")
	}
	if t.Kind != nil {
		kinds = append(kinds, "kind")
	}
	if t.Cluster != nil {
		kinds = append(kinds, "cluster")
	}
	if t.Compose != nil {
		kinds = append(kinds, "compose")
	}
	if t.None != nil {
		kinds = append(kinds, "none")
	}
	switch {
	case len(kinds) == 0 && v.has(tp):
		v.at(tp, "set exactly one of terraform, kind, cluster, compose or none")
	case len(kinds) == 0:
		v.missing("spec", "target", "required field is missing: set one of terraform, kind, cluster, compose or none")
	case len(kinds) > 1:
		v.at(tp, "set exactly one of terraform, kind, cluster, compose or none, not %s", strings.Join(kinds, " and "))
	}
	if tf := t.Terraform; tf != nil && v.ok(tp+".terraform") {
		p := tp + ".terraform"
		if v.expandable(p+".dir", tf.Dir, targetScope) {
			v.relPath(p+".dir", tf.Dir)
		}
		for _, k := range sortedKeys(tf.Vars) {
			if !isTerraformName(k) {
				v.atKey(childPath(p+".vars", k), "invalid Terraform variable name %q", short(k))
			}
			v.expandable(childPath(p+".vars", k), tf.Vars[k], targetScope)
		}
		v.relPaths(p+".varFiles", tf.VarFiles, targetScope)
	}
	if k := t.Kind; k != nil && v.ok(tp+".kind") {
		p := tp + ".kind"
		v.expandable(p+".nodeImage", k.NodeImage, targetScope)
		if v.expandable(p+".config", k.Config, targetScope) {
			v.relPath(p+".config", k.Config)
		}
		v.duration(p+".waitReady", k.WaitReady)
		for i, img := range k.LoadImages {
			if strings.TrimSpace(img) == "" {
				v.at(itemPath(p+".loadImages", i), "must not be empty")
			}
		}
	}
	if c := t.Cluster; c != nil && v.ok(tp+".cluster") {
		p := tp + ".cluster"
		v.expandable(p+".kubeconfig", c.Kubeconfig, targetScope)
		if v.expandable(p+".context", c.Context, targetScope) {
			v.text(p+".context", c.Context, oneLine)
		}
		v.namespaceIn(p+".namespace", c.Namespace, targetScope)
		v.duration(p+".deleteTimeout", c.DeleteTimeout)
	}
	if c := t.Compose; c != nil && v.ok(tp+".compose") {
		v.compose(tp+".compose", c)
	}
}

// composeProject is what docker compose accepts as a project name.
var composeProject = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func (v *validator) compose(p string, c *ComposeTarget) {
	if fp := p + ".files"; v.ok(fp) {
		if len(c.Files) == 0 && v.has(fp) {
			v.at(fp, "at least one compose file is required (leave files out for %s)", DefaultComposeFile)
		}
		v.relPaths(fp, c.Files, targetScope)
	}
	pp := p + ".project"
	if c.Project != "" && v.expandable(pp, c.Project, targetScope) && !strings.Contains(c.Project, "${") &&
		(len(c.Project) > 63 || !composeProject.MatchString(c.Project)) {
		v.at(pp, "invalid project name %q: use lowercase letters, digits, - and _, starting with a letter or digit, at most 63 characters", short(c.Project))
	}
	v.duration(p+".wait", c.Wait)
}

// gitSource checks spec.source's git form. The URL and ref reach git as
// arguments, so neither may start with "-" (git would read an option:
// --upload-pack runs a command); drill also passes "--" before them.
func (v *validator) gitSource(p string, g *GitSource) {
	up := p + ".git"
	switch {
	case !v.has(up):
		v.missing(p, "git", "required field is missing: the repository to clone (a URL or a path)")
	case strings.TrimSpace(g.URL) == "":
		v.at(up, "must not be empty")
	case strings.HasPrefix(g.URL, "-"):
		v.at(up, "%q must not start with -", short(g.URL))
	case strings.ContainsAny(g.URL, " \t\r\n"):
		v.at(up, "%q must not contain whitespace", short(g.URL))
	default:
		v.expandable(up, g.URL, targetScope)
	}
	rp := p + ".ref"
	switch {
	case v.has(rp) && strings.TrimSpace(g.Ref) == "":
		v.at(rp, "must not be empty (leave ref out for the repository's default branch)")
	case strings.HasPrefix(g.Ref, "-") || strings.ContainsAny(g.Ref, " \t\r\n~^:?*[\\"):
		v.at(rp, "%q is not a branch, tag or commit", short(g.Ref))
	default:
		v.expandable(rp, g.Ref, targetScope)
	}
	if pp := p + ".path"; strings.Contains(g.Path, "${") {
		v.at(pp, "%q: path is not expanded; write the folder of the repository itself", short(g.Path))
	} else {
		v.relPath(pp, g.Path)
	}
}

func (v *validator) step(p string, st *Step, teardown bool, names map[string]string) {
	if !v.ok(p) {
		return
	}
	np := p + ".name"
	if v.ok(np) {
		switch {
		case st.Name == "" && v.has(np):
			v.at(np, "must not be empty")
		case st.Name == "":
			v.missing(p, "name", "required field is missing")
		case !validStepName(st.Name):
			v.at(np, "invalid step name %q: use printable characters, no / or \\, no leading or trailing space, at most 100 characters", short(st.Name))
		case names[st.Name] != "":
			v.at(np, "duplicate step name %q (first used by %s): names are unique across steps and teardown", short(st.Name), v.lineOf(names[st.Name]))
		default:
			names[st.Name] = np
		}
	}
	pp := p + ".phase"
	switch {
	case !v.ok(pp):
	case teardown && v.has(pp):
		v.atKey(pp, "steps under teardown may not set phase: they always run in the teardown phase")
	case teardown && st.Phase != "" && st.Phase != PhaseTeardown:
		v.at(pp, "unsupported phase %q for a teardown step", short(st.Phase))
	case !teardown && (st.Phase != "" || v.has(pp)) && st.Phase != PhaseDeploy && st.Phase != PhaseVerify:
		v.at(pp, "unsupported phase %q: want deploy or verify", short(st.Phase))
	}
	if st.Retries != nil {
		v.intRange(p+".retries", *st.Retries, 0, MaxRetries)
	}
	v.duration(p+".timeout", st.Timeout)
	v.duration(p+".retryDelay", st.RetryDelay)
	v.text(p+".owner", st.Owner, oneLine)
	if v.ok(p + ".manual") {
		v.text(p+".manual", st.Manual, multiLine)
	}

	loadImages := st.LoadImages != nil || v.has(p+".loadImages")
	var actions []string
	for _, a := range []struct {
		name string
		set  bool
	}{{"run", st.Run != nil}, {"http", st.HTTP != nil}, {"apply", st.Apply != nil}, {"wait", st.Wait != nil}, {"helm", st.Helm != nil}, {"loadImages", loadImages}} {
		if a.set {
			actions = append(actions, a.name)
		}
	}
	switch {
	case len(actions) == 0 && st.Manual == "" && v.ok(p+".manual") && !v.typo(p, append(slices.Clone(stepActions), "manual")...):
		v.at(p, "a step needs one action: %s (or manual: instructions for a human)", orList(stepActions))
	case len(actions) > 1:
		for _, extra := range actions[1:] {
			v.atKey(p+"."+extra, "a step has exactly one action (%s), and this one already has %s", orList(stepActions), actions[0])
		}
	}
	if st.Run != nil && v.ok(p+".run") && strings.TrimSpace(*st.Run) == "" {
		v.at(p+".run", "the script is empty")
	}
	if st.HTTP != nil && v.ok(p+".http") {
		v.http(p+".http", st.HTTP)
	}
	if st.Apply != nil && v.ok(p+".apply") {
		v.apply(p+".apply", st.Apply)
	}
	if st.Wait != nil && v.ok(p+".wait") {
		v.wait(p+".wait", st.Wait)
	}
	if loadImages && v.ok(p+".loadImages") {
		v.loadImages(p+".loadImages", st.LoadImages)
	}
	if st.Helm != nil && v.ok(p+".helm") {
		v.helm(p+".helm", st.Helm, st.Name)
	}
	if ip := p + ".idempotent"; st.Idempotent != nil && v.ok(ip) && st.Apply == nil && st.Helm == nil {
		kind := "manual"
		if len(actions) > 0 {
			kind = actions[0]
		}
		v.atKey(ip, "only a helm or apply step has an idempotency check to turn off; this one is a %s step", kind)
	}
}

// stepActions are the actions a step can have, exactly one of them.
var stepActions = []string{"run", "http", "apply", "wait", "helm", "loadImages"}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// validStepName accepts names that read well in logs and file names.
func validStepName(name string) bool {
	if len(name) > 100 || strings.TrimSpace(name) != name {
		return false
	}
	for _, r := range name {
		if r == '/' || r == '\\' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (v *validator) http(p string, h *HTTPAction) {
	up := p + ".url"
	switch {
	case h.URL == "" && v.has(up):
		v.at(up, "must not be empty")
	case h.URL == "":
		v.missing(p, "url", "required field is missing")
	case !v.expandable(up, h.URL, stepScope):
	case !strings.Contains(h.URL, "${") && !IsHTTPURL(h.URL):
		v.at(up, "invalid URL %q: want an absolute http:// or https:// URL", short(h.URL))
	}
	// A method is one of a fixed list, so a ${NAME} in it is refused as
	// unsupported rather than expanded.
	if mp := p + ".method"; (h.Method != "" || v.has(mp)) && !slices.Contains(httpMethods, h.Method) {
		v.at(mp, "unsupported method %q: want one of %s", short(h.Method), strings.Join(httpMethods, ", "))
	}
	if sp := p + ".status"; h.Status != 0 || v.has(sp) {
		v.intRange(sp, h.Status, 100, 599)
	}
	if bp := p + ".body"; h.Body != "" && v.expandable(bp, h.Body, stepScope) {
		pattern, _ := Expand(h.Body, placeholder)
		if _, err := regexp.Compile(pattern); err != nil {
			v.at(bp, "invalid regular expression: %v", err)
		}
	}
	for _, k := range sortedKeys(h.Headers) {
		hp := childPath(p+".headers", k)
		if !validHeaderName(k) {
			v.atKey(hp, "invalid header name %q", short(k))
		}
		v.expandable(hp, h.Headers[k], stepScope)
	}
	v.duration(p+".within", h.Within)
	v.duration(p+".interval", h.Interval)
}

func (v *validator) apply(p string, a *ApplyAction) {
	v.requiredPath(p, "path", a.Path, "required field is missing")
	v.namespace(p+".namespace", a.Namespace)
}

func (v *validator) wait(p string, w *WaitAction) {
	if fp := p + ".for"; (w.For != "" || v.has(fp)) && w.For != DefaultWaitFor {
		v.at(fp, "unsupported for %q: only %q is supported", short(w.For), DefaultWaitFor)
	}
	for i, r := range w.Resources {
		rp := itemPath(p+".resources", i)
		if !v.expandable(rp, r, stepScope) {
			continue
		}
		kind, name, ok := strings.Cut(r, "/")
		if !ok || kind == "" || name == "" || strings.Contains(name, "/") {
			v.at(rp, "invalid resource %q: want kind/name, like deployment/web", short(r))
		}
	}
	v.namespace(p+".namespace", w.Namespace)
}

// loadImages checks a loadImages action: at least one image, none empty,
// each a reference docker can take as an argument, and a kind target to
// load them into (the only target with nodes of its own).
func (v *validator) loadImages(p string, images []string) {
	if t := &v.spec.Target; v.ok("spec.target") && t.Kind == nil && (t.Terraform != nil || t.None != nil || t.Cluster != nil || t.Compose != nil) {
		v.atKey(p, "loadImages needs a kind target: it loads images into the nodes of the cycle's kind cluster")
	}
	if len(images) == 0 {
		v.at(p, "at least one image is required, like [hello:dev]")
	}
	for i, img := range images {
		ip := itemPath(p, i)
		switch {
		case !v.ok(ip):
		case strings.TrimSpace(img) == "":
			v.at(ip, "must not be empty")
		case v.expandable(ip, img, stepScope):
			ref, _ := Expand(img, placeholder)
			if strings.HasPrefix(ref, "-") || strings.ContainsFunc(ref, unicode.IsSpace) {
				v.at(ip, "invalid image reference %q: want a name as docker images shows it, like hello:dev, with no spaces and no leading -", short(img))
			}
		}
	}
}

// releaseName is what Helm accepts as a release name: a lowercase DNS
// name (labels separated by dots), at most 53 characters, so that the
// names Helm derives from it still fit Kubernetes' limits.
var releaseName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// maxReleaseName is Helm's limit on release names.
const maxReleaseName = 53

func (v *validator) helm(p string, h *HelmAction, stepName string) {
	v.requiredPath(p, "chart", h.Chart, "required field is missing: a chart folder or .tgz, relative to the workdir")
	rp := p + ".release"
	switch {
	case !v.ok(rp):
	case h.Release == "" && v.has(rp):
		v.at(rp, "must not be empty (leave it out to use the step's name)")
	case h.Release == "":
		// The default: the step's name, checked as a release name.
		if stepName != "" && (len(stepName) > maxReleaseName || !releaseName.MatchString(stepName)) {
			v.atKey(p, "the release name defaults to the step's name %q, which is not a valid Helm release name (lowercase letters, digits, - and ., at most %d characters): set release", short(stepName), maxReleaseName)
		}
	case !v.expandable(rp, h.Release, stepScope):
	case strings.Contains(h.Release, "${"):
	case len(h.Release) > maxReleaseName || !releaseName.MatchString(h.Release):
		v.at(rp, "invalid release name %q: want lowercase letters, digits, - and ., at most %d characters", short(h.Release), maxReleaseName)
	}
	v.namespace(p+".namespace", h.Namespace)
	if v.ok(p + ".valuesFiles") {
		v.relPaths(p+".valuesFiles", h.ValuesFiles, stepScope)
	}
	if v.ok(p + ".values") {
		for _, k := range sortedAnyKeys(h.Values) {
			v.freeValue(childPath(p+".values", k), h.Values[k])
		}
	}
	if v.ok(p + ".set") {
		for _, k := range sortedKeys(h.Set) {
			sp := childPath(p+".set", k)
			switch {
			case strings.TrimSpace(k) == "" || strings.ContainsAny(k, "=,"):
				v.atKey(sp, "invalid key %q: a values path like image.tag or list[0].name, without = or ,", short(k))
			default:
				v.expandable(sp, h.Set[k], stepScope)
			}
		}
	}
}

// freeValue checks the ${NAME} references of every string in a free-form
// value (helm.values), which drill expands like any other string field.
func (v *validator) freeValue(path string, x any) {
	switch x := x.(type) {
	case string:
		v.expandable(path, x, stepScope)
	case map[string]any:
		for _, k := range sortedAnyKeys(x) {
			v.freeValue(childPath(path, k), x[k])
		}
	case []any:
		for i, e := range x {
			v.freeValue(itemPath(path, i), e)
		}
	}
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (v *validator) namespace(path, ns string) { v.namespaceIn(path, ns, stepScope) }

func (v *validator) namespaceIn(path, ns string, sc scope) {
	if ns == "" || !v.expandable(path, ns, sc) || strings.Contains(ns, "${") {
		return
	}
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		v.at(path, "invalid namespace %q: want a lowercase DNS label", short(ns))
	}
}

// placeholder stands for every variable when a string is checked before run
// time, when the values are not known yet.
func placeholder(string) (string, bool) { return "x", true }

// expandable checks, now rather than in the middle of a drill, the ${NAME}
// syntax of a field drill expands at run time, and that every NAME will be
// defined there (see definitions). It reports whether s is fine.
func (v *validator) expandable(path, s string, sc scope) bool {
	if !strings.Contains(s, "${") {
		return true
	}
	if _, err := Expand(s, placeholder); err != nil {
		v.at(path, "%v", err)
		return false
	}
	ok := true
	for _, name := range References(s) {
		if v.defs == nil {
			break
		}
		if why := v.defs.undefined(name, sc); why != "" {
			v.at(path, "%s", why)
			ok = false
		}
	}
	return ok
}

// requiredPath checks the required field of a step (p) that names a path
// relative to the workdir: written, not empty, its ${NAME}s defined, inside
// the workdir. missing is the message when it is not written.
func (v *validator) requiredPath(p, field, value, missing string) {
	fp := p + "." + field
	switch {
	case value == "" && v.has(fp):
		v.at(fp, "must not be empty")
	case value == "":
		v.missing(p, field, "%s", missing)
	case v.expandable(fp, value, stepScope):
		v.relPath(fp, value)
	}
}

// relPaths checks a list of paths relative to the workdir (lp is the
// list's field path): none empty, each one's ${NAME}s defined where sc
// expands them, each inside the workdir.
func (v *validator) relPaths(lp string, items []string, sc scope) {
	for i, f := range items {
		ip := itemPath(lp, i)
		switch {
		case strings.TrimSpace(f) == "":
			v.at(ip, "must not be empty")
		case v.expandable(ip, f, sc):
			v.relPath(ip, f)
		}
	}
}

// relPath checks a path that is relative to the workdir: it may not be
// absolute nor climb out with "..", because the workdir is all a cycle has.
// ${NAME} references stand for a plain name while checking.
func (v *validator) relPath(path, p string) {
	if p == "" {
		return
	}
	clean, err := Expand(p, placeholder)
	if err != nil {
		v.at(path, "%v", err)
		return
	}
	if filepath.IsAbs(clean) {
		v.at(path, "%q must be relative to the workdir (a fresh copy of spec.source)", short(p))
		return
	}
	clean = filepath.ToSlash(filepath.Clean(clean))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		v.at(path, "%q escapes the workdir with ..", short(p))
	}
}

func isTerraformName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// textKind says which characters a free-text field may hold besides the
// printable ones.
type textKind int

const (
	oneLine   textKind = iota // owner, label value: no tab, no newline
	labelKey                  // a label's key (the problem points at the key)
	multiLine                 // description, manual instructions: tab and newline allowed
)

// text refuses terminal control characters and bidi overrides in a field
// drill prints as it is (drill plan, list, the manual prompt, reports):
// from a scenario someone else wrote, they could rewrite the screen, hide
// text or make it read backwards (textsafe.Unsafe says which).
func (v *validator) text(path, s string, kind textKind) {
	if s == "" || !v.ok(path) {
		return
	}
	report := v.at
	if kind == labelKey {
		report = v.atKey
	}
	if r, pos, found := textsafe.Find(s); found {
		report(path, "character %s at position %d is not allowed: terminal control characters and bidi overrides could change what a terminal shows", textsafe.Name(r), pos)
		return
	}
	if kind == multiLine {
		return
	}
	if i := strings.IndexAny(s, "\t\n"); i >= 0 {
		name := map[byte]string{'\t': "a tab", '\n': "a newline"}[s[i]]
		report(path, "must be one line: %s at position %d", name, utf8.RuneCountInString(s[:i])+1)
	}
}
