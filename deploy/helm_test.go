package deploy_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/release/v1/util"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "helm/drill"

// helm lint, strict (warnings fail too), with the default values and with
// every optional part turned on.
func TestChartLints(t *testing.T) {
	t.Parallel()
	for name, vals := range map[string]map[string]any{"defaults": nil, "everything": everything()} {
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = "drill"
		kv, err := common.ParseKubeVersion("v1.34.0")
		require.NoError(t, err)
		lint.KubeVersion = kv
		res := lint.Run([]string{chartDir}, vals)
		for _, m := range res.Messages {
			t.Logf("%s: %s", name, m)
		}
		assert.Empty(t, res.Errors, "%s: %v", name, res.Errors)
	}
}

func everything() map[string]any {
	return map[string]any{
		"image":     map[string]any{"repository": "drill", "tag": "1.2.3"},
		"scenarios": map[string]any{"git": map[string]any{"url": "https://git.example/platform/drills.git", "ref": "main", "path": "scenarios"}, "envFromSecret": "drill-git"},
		"schedules": []any{
			map[string]any{"name": "nightly", "schedule": "0 2 * * *", "timeZone": "Europe/Berlin", "args": []any{"--cycles=2"}},
			map[string]any{"name": "weekly", "schedule": "0 3 * * 0"},
		},
		"fanout":  map[string]any{"enabled": true, "shards": 4},
		"results": map[string]any{"url": "s3://drills/nightly?region=eu-west-1", "credentialsSecret": "drill-s3"},
		"serve":   map[string]any{"enabled": true, "allowHosts": []any{"drill.example.com"}},
		"rbac":    map[string]any{"extraRules": []any{map[string]any{"apiGroups": []any{"example.com"}, "resources": []any{"widgets"}, "verbs": []any{"get"}}}},
	}
}

// render is `helm template`: the chart rendered client-side, split into
// its manifests, each decoded strictly (an unknown or misplaced field is an
// error) into its Kubernetes type.
func render(t *testing.T, vals map[string]any) map[string]any {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	require.NoError(t, err)
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = "drill"
	install.Namespace = "drill"
	install.Replace = true
	// The Kubernetes the tests' kind clusters run; client-side, helm
	// would otherwise assume an old one.
	install.KubeVersion, err = common.ParseKubeVersion("v1.34.0")
	require.NoError(t, err)
	rel, err := install.RunWithContext(context.Background(), chrt, vals)
	require.NoError(t, err)
	r, ok := rel.(*release.Release)
	require.True(t, ok, "%T", rel)
	objs := map[string]any{}
	for _, m := range util.SplitManifests(r.Manifest) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(m), &head))
		var obj any
		switch head.Kind {
		case "CronJob":
			obj = &batchv1.CronJob{}
		case "Job":
			obj = &batchv1.Job{}
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "Service":
			obj = &corev1.Service{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		default:
			require.FailNow(t, "unexpected kind", head.Kind)
		}
		require.NoError(t, yaml.UnmarshalStrict([]byte(m), obj), "%s:\n%s", head.Kind, m)
		objs[head.Kind+"/"+head.Metadata.Name] = obj
	}
	return objs
}

func names(objs map[string]any) []string {
	var out []string
	for k := range objs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// exitCodes are the failure policy's rules in short: the action, then the
// exit codes or the pod condition it applies to.
func exitCodes(p *batchv1.PodFailurePolicy) []string {
	var out []string
	for _, r := range p.Rules {
		if r.OnExitCodes != nil {
			out = append(out, fmt.Sprintf("%s %s %v", r.Action, r.OnExitCodes.Operator, r.OnExitCodes.Values))
		}
		for _, c := range r.OnPodConditions {
			out = append(out, fmt.Sprintf("%s %s", r.Action, c.Type))
		}
	}
	return out
}

// The defaults: one nightly CronJob that never runs two drills at once,
// whose failed drills are recorded and not retried (exit 1, 2, 4) while an
// environment failure (exit 3) or a disrupted pod is retried; the
// scenarios from a ConfigMap; a ServiceAccount allowed what the cluster
// target does; the pod not root.
func TestChartDefaults(t *testing.T) {
	t.Parallel()
	objs := render(t, map[string]any{"scenarios": map[string]any{"files": map[string]any{"web.yaml": "apiVersion: drill/v1\nkind: Scenario\n"}}})
	assert.Equal(t, []string{"ClusterRole/drill", "ClusterRoleBinding/drill", "ConfigMap/drill-scenarios", "CronJob/drill-nightly", "ServiceAccount/drill"}, names(objs))

	cj := objs["CronJob/drill-nightly"].(*batchv1.CronJob)
	assert.Equal(t, "0 2 * * *", cj.Spec.Schedule)
	assert.Equal(t, batchv1.ForbidConcurrent, cj.Spec.ConcurrencyPolicy)
	job := cj.Spec.JobTemplate.Spec
	assert.Nil(t, job.CompletionMode, "not sharded")
	require.NotNil(t, job.PodFailurePolicy)
	assert.Equal(t, []string{"FailJob In [1 2 4]", "Ignore DisruptionTarget"}, exitCodes(job.PodFailurePolicy))
	assert.Equal(t, int32(2), *job.BackoffLimit, "exit 3 is retried")
	pod := job.Template.Spec
	assert.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy, "podFailurePolicy needs it")
	assert.Equal(t, "drill", pod.ServiceAccountName)
	assert.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, "drill:dev", c.Image)
	assert.Equal(t, []string{"run", "--trigger=schedule", "/scenarios"}, c.Args)
	assert.Contains(t, c.Env, corev1.EnvVar{Name: "DRILL_RESULTS", Value: "/results"})
	assert.Empty(t, pod.InitContainers)
	assert.Equal(t, "drill-scenarios", pod.Volumes[0].ConfigMap.Name)
	assert.Equal(t, "apiVersion: drill/v1\nkind: Scenario\n", objs["ConfigMap/drill-scenarios"].(*corev1.ConfigMap).Data["web.yaml"])

	role := objs["ClusterRole/drill"].(*rbacv1.ClusterRole)
	assert.Contains(t, role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch", "create", "delete"}})
	binding := objs["ClusterRoleBinding/drill"].(*rbacv1.ClusterRoleBinding)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "drill", Namespace: "drill"}}, binding.Subjects)
}

// Everything on: an Indexed Job of 4 shards (completions = parallelism =
// shards, each pod `drill run --shards 4` with its index from
// JOB_COMPLETION_INDEX, a failed drill failing only its index), schedules
// sharded the same way, scenarios cloned from git by an init container,
// results in object storage with credentials from a Secret, and the
// dashboard with a Service Prometheus scrapes.
func TestChartEverything(t *testing.T) {
	t.Parallel()
	objs := render(t, everything())
	assert.Equal(t, []string{"ClusterRole/drill", "ClusterRoleBinding/drill", "CronJob/drill-nightly", "CronJob/drill-weekly",
		"Deployment/drill-serve", "Job/drill-fanout-1", "Service/drill", "ServiceAccount/drill"}, names(objs))

	job := objs["Job/drill-fanout-1"].(*batchv1.Job)
	assert.Equal(t, batchv1.IndexedCompletion, *job.Spec.CompletionMode)
	assert.Equal(t, int32(4), *job.Spec.Completions)
	assert.Equal(t, int32(4), *job.Spec.Parallelism)
	assert.Equal(t, int32(2), *job.Spec.BackoffLimitPerIndex)
	assert.Equal(t, []string{"FailIndex In [1 2 4]", "Ignore DisruptionTarget"}, exitCodes(job.Spec.PodFailurePolicy))
	c := job.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "drill:1.2.3", c.Image)
	assert.Equal(t, []string{"run", "--trigger=schedule", "--shards=4", "/scenarios/repo/scenarios"}, c.Args)
	assert.Contains(t, c.Env, corev1.EnvVar{Name: "DRILL_RESULTS", Value: "s3://drills/nightly?region=eu-west-1"})
	require.Len(t, c.EnvFrom, 2)
	assert.Equal(t, "drill-git", c.EnvFrom[0].SecretRef.Name)
	assert.Equal(t, "drill-s3", c.EnvFrom[1].SecretRef.Name)
	init := job.Spec.Template.Spec.InitContainers
	require.Len(t, init, 1)
	assert.Contains(t, init[0].Env, corev1.EnvVar{Name: "SCENARIOS_GIT", Value: "https://git.example/platform/drills.git"})
	assert.Contains(t, init[0].Env, corev1.EnvVar{Name: "GIT_TERMINAL_PROMPT", Value: "0"})

	nightly := objs["CronJob/drill-nightly"].(*batchv1.CronJob)
	assert.Equal(t, "Europe/Berlin", *nightly.Spec.TimeZone)
	assert.Equal(t, int32(4), *nightly.Spec.JobTemplate.Spec.Completions)
	assert.Equal(t, []string{"run", "--trigger=schedule", "--shards=4", "--cycles=2", "/scenarios/repo/scenarios"},
		nightly.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args)

	serve := objs["Deployment/drill-serve"].(*appsv1.Deployment)
	sc := serve.Spec.Template.Spec.Containers[0]
	assert.Equal(t, []string{"serve", "--addr=0.0.0.0:8080", "--allow-host=drill", "--allow-host=drill.drill", "--allow-host=drill.drill.svc", "--allow-host=drill.example.com"}, sc.Args)
	assert.Equal(t, "/healthz", sc.ReadinessProbe.HTTPGet.Path)
	// With a bucket, serve keeps its own mirror on the writable /results.
	assert.Contains(t, sc.Env, corev1.EnvVar{Name: "DRILL_CACHE_DIR", Value: "/results/mirror"})
	require.Len(t, sc.VolumeMounts, 1)
	assert.False(t, sc.VolumeMounts[0].ReadOnly)
	worker := nightly.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	assert.Contains(t, worker.Env, corev1.EnvVar{Name: "DRILL_RESULTS", Value: "s3://drills/nightly?region=eu-west-1"})
	assert.Contains(t, worker.Env, corev1.EnvVar{Name: "DRILL_CACHE_DIR", Value: "/results/mirror"})
	svc := objs["Service/drill"].(*corev1.Service)
	assert.Equal(t, "/metrics", svc.Annotations["prometheus.io/path"])
	assert.Equal(t, serve.Spec.Selector.MatchLabels, svc.Spec.Selector)
	role := objs["ClusterRole/drill"].(*rbacv1.ClusterRole)
	assert.Contains(t, role.Rules, rbacv1.PolicyRule{APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}})
}
