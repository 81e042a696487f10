//go:build !(linux || darwin || freebsd)

package resultstore

import "sync"

// indexMu stands in for flock where the standard library offers none: it
// serializes index updates within one process only. drill itself runs on
// Linux and macOS; this file exists so dashboards on other systems can still
// import the package.
var indexMu sync.Mutex

func lockFile(string) (unlock func(), err error) {
	indexMu.Lock()
	return indexMu.Unlock, nil
}

// freeBytes reports that free space is unknown here.
func freeBytes(string) (uint64, bool, error) { return 0, false, nil }
