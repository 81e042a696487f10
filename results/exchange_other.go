//go:build !(linux && (amd64 || arm64))

package results

import "path/filepath"

// exchangeFile cannot exchange here: snapshots use a temporary file.
func exchangeFile(string, []byte) (bool, error) { return false, nil }

func sparePath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".spare")
}
