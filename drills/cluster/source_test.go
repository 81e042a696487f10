package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
)

// The steps' kubeconfig holds the one context, with the cycle's namespace
// as its default, readable by this user only; the user's file is untouched.
func TestMinifiedKubeconfig(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "config")
	const doc = `apiVersion: v1
kind: Config
current-context: other
clusters:
- name: c1
  cluster: {server: "https://c1.invalid:6443", certificate-authority: ca.crt}
- name: c2
  cluster: {server: "https://c2.invalid:6443"}
users:
- name: u1
  user: {token: secret-one}
- name: u2
  user: {token: secret-two}
contexts:
- name: mine
  context: {cluster: c1, user: u1, namespace: somewhere}
- name: other
  context: {cluster: c2, user: u2}
`
	require.NoError(t, os.WriteFile(user, []byte(doc), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("not parsed before a connection\n"), 0o644))
	target := New("drill-web-abcdef-c1", WithKubeconfig(user), WithContext("mine"))
	src, err := target.resolve()
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "kubeconfig-c1")
	require.NoError(t, src.write(out))

	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	cfg, err := clientcmd.LoadFromFile(out)
	require.NoError(t, err)
	assert.Equal(t, "mine", cfg.CurrentContext)
	require.Len(t, cfg.Contexts, 1)
	assert.Equal(t, "drill-web-abcdef-c1", cfg.Contexts["mine"].Namespace)
	require.Len(t, cfg.Clusters, 1)
	assert.Equal(t, "https://c1.invalid:6443", cfg.Clusters["c1"].Server)
	assert.Equal(t, filepath.Join(dir, "ca.crt"), cfg.Clusters["c1"].CertificateAuthority, "a relative file stays valid from the run folder")
	require.Len(t, cfg.AuthInfos, 1)
	assert.Equal(t, "secret-one", cfg.AuthInfos["u1"].Token)

	after, err := os.ReadFile(user)
	require.NoError(t, err)
	assert.Equal(t, doc, string(after), "the user's kubeconfig is only read")
}

// drill's own clients have no persister: an auth provider that refreshes
// its credentials (oidc) has nowhere to write them, so the user's
// kubeconfig is never written.
func TestClientsNeverWriteTheKubeconfig(t *testing.T) {
	user := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(user, []byte(`apiVersion: v1
kind: Config
current-context: lab
clusters: [{name: lab, cluster: {server: "https://lab.invalid:6443"}}]
users: [{name: lab, user: {auth-provider: {name: oidc, config: {idp-issuer-url: "https://idp.invalid", client-id: drill, refresh-token: r3fresh}}}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
`), 0o600))
	src, err := New("drill-web-abcdef-c1", WithKubeconfig(user)).resolve()
	require.NoError(t, err)
	require.NotNil(t, src.rest.AuthProvider, "the user refreshes its token through an auth provider")
	assert.Nil(t, src.rest.AuthConfigPersister, "and nothing persists what it refreshes")
}
