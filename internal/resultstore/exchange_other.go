//go:build !(linux && (amd64 || arm64))

package resultstore

// exchangeFile cannot exchange here: snapshots use a temporary file.
func exchangeFile(string, []byte) bool { return false }
