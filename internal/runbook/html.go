package runbook

import (
	"html/template"
	"io"
	"strings"
)

// HTML writes the runbooks as one self-contained page (no script, no
// external resource: it opens from a file, a CI artifact or a wiki), a
// section per scenario with the anchor #runbook-NAME.
func HTML(w io.Writer, rbs []*Runbook, version string) error {
	type phase struct {
		ID, Title string
		Steps     []Step
		Note      string
	}
	type view struct {
		*Runbook
		Budget, Measured, Environment string
		Phases                        []phase
	}
	var views []view
	for _, rb := range rbs {
		v := view{Runbook: rb, Budget: budgetText(rb), Measured: measuredText(rb), Environment: environment(rb)}
		for _, p := range Phases {
			steps := rb.InPhase(p)
			if len(steps) == 0 {
				continue
			}
			ph := phase{ID: p, Title: phaseTitles[p], Steps: steps}
			if p == "idempotency" {
				ph.Steps, ph.Note = nil, "After the deploy steps of every cycle: "+steps[0].Action+"."
			}
			v.Phases = append(v.Phases, ph)
		}
		views = append(views, v)
	}
	return page.Execute(w, map[string]any{"Runbooks": views, "Version": version})
}

var page = template.Must(template.New("runbook").Funcs(template.FuncMap{
	"measured":  measured,
	"multiline": func(s string) bool { return strings.Contains(s, "\n") },
	"dash":      orDash,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="drill {{.Version}}">
<title>Runbook{{range $i, $r := .Runbooks}}{{if $i}},{{end}} {{$r.Name}}{{end}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}h2{font-size:1.2rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}pre{background:#f6f8fa;padding:.6rem;overflow:auto}
.manual{background:#fff8c5}.always{color:#57606a}section.runbook{margin-bottom:3rem}
@media print{pre{white-space:pre-wrap}section.runbook{page-break-after:always}}
</style>
</head>
<body>
{{range .Runbooks}}{{$rb := .}}<section class="runbook" id="runbook-{{.Name}}" data-scenario="{{.Name}}">
<h1>Runbook: {{.Name}}</h1>
{{if .Description}}<p class="description">{{.Description}}</p>{{end}}
<table class="facts">
<tr><th>Owner</th><td>{{dash .Owner}}</td></tr>
<tr><th>Scenario file</th><td>{{.File}}</td></tr>
<tr><th>Cycles</th><td>{{.Cycles}}, each from nothing: provision, deploy, verify, tear down</td></tr>
<tr><th>Budget</th><td>{{.Budget}}</td></tr>
<tr><th>Freshness</th><td>{{.Freshness}}: a drill must pass with the guideline holding at least this often</td></tr>
<tr><th>Source</th><td>{{.Source}}</td></tr>
<tr><th>Environment</th><td>{{.Environment}}</td></tr>
<tr><th>Measured</th><td class="measured">{{.Measured}}</td></tr>
</table>
<h2>Who does what</h2>
<table class="owners"><tr><th>Owner</th><th>Steps</th></tr>
{{range .Owners}}<tr data-owner="{{.Owner}}"><td>{{.Owner}}</td><td>{{range $i, $s := .Steps}}{{if $i}}, {{end}}{{$s.N}}. {{$s.Name}}{{end}}</td></tr>
{{end}}</table>
<h2>Manual steps</h2>
{{with .Manual}}<ul class="manual-steps">{{range .}}<li data-step="{{.Name}}"><strong>{{.N}}. {{.Name}}</strong> ({{dash .Owner}}): {{.Manual}}</li>{{end}}</ul>
{{else}}<p class="manual-steps">None: every step is automated.</p>{{end}}
{{range .Phases}}<h2 id="runbook-{{$rb.Name}}-{{.ID}}">{{.Title}}</h2>
{{if .Note}}<p class="note">{{.Note}}</p>{{else}}<table class="steps" data-phase="{{.ID}}">
<tr><th>#</th><th>Step</th><th>Owner</th><th>Runs</th><th>Timeout</th><th>Retries</th><th>Median</th><th>p95</th></tr>
{{range .Steps}}<tr data-step="{{.Name}}"{{if .Manual}} class="manual"{{end}}><td class="num">{{.N}}</td><td>{{.Name}}</td><td>{{dash .Owner}}</td><td>{{.Action}}{{if .Manual}} (manual: needs an operator){{end}}{{if multiline .Script}}<pre>{{.Script}}</pre>{{end}}</td><td class="num">{{.Timeout}}</td><td class="num">{{.Retries}}</td><td class="num median">{{measured .MedianMs .Count}}</td><td class="num p95">{{measured .P95Ms .Count}}</td></tr>
{{end}}</table>{{end}}
{{end}}</section>
{{end}}<footer><p>Made by drill {{.Version}} from the scenario files: the scenario is the runbook.</p></footer>
</body>
</html>
`))
