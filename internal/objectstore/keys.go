package objectstore

import (
	"path"
	"strings"

	"github.com/redeploy-drill/drill/internal/resultstore"
)

// The bucket holds the results folder's layout, with two differences:
//
//	<scenario>/<run-id>.json             the run document (as in the folder)
//	<scenario>/<run-id>.ledger.jsonl     its ledger, beside the document, so
//	                                     one listing per scenario finds every
//	                                     run's ledger (in the folder it is
//	                                     <run-id>/ledger.jsonl)
//	<scenario>/<run-id>/...              logs and other evidence
//	.drill/locks/<lock>/<generation>     run and gc locks (lock.go)
//	.drill/changed/<scenario>            rewritten after every upload of the
//	                                     scenario's documents and ledgers: a
//	                                     reader lists only the scenarios whose
//	                                     marker is newer than at its last pull
//
// index.json, latest.json and history.jsonl are not in the bucket: they
// would be read-modify-written by every runner. Each reader derives them in
// its mirror.
const (
	ledgerSuffix  = ".ledger.jsonl"
	locksPrefix   = ".drill/locks/"
	changedPrefix = ".drill/changed/"
)

// keyOf is the object key of the file rel (slash-separated, relative to
// the mirror).
func keyOf(rel string) string {
	dir, file := path.Split(rel)
	if file == resultstore.LedgerFile && strings.Count(rel, "/") == 2 {
		return strings.TrimSuffix(dir, "/") + ledgerSuffix
	}
	return rel
}

// relOf is the mirror path of the object key, the inverse of keyOf.
func relOf(key string) string {
	if strings.HasSuffix(key, ledgerSuffix) && strings.Count(key, "/") == 1 {
		return strings.TrimSuffix(key, ledgerSuffix) + "/" + resultstore.LedgerFile
	}
	return key
}

// scenarioOf is the scenario of a run document or ledger rel, "" for any
// other file (logs do not change what a pull reads).
func scenarioOf(rel string) string {
	name, _, _ := strings.Cut(rel, "/")
	if isRunFile(name, rel) {
		return name
	}
	return ""
}

// publishable tells whether the file rel of a run folder goes to the
// bucket. Kubeconfigs do not: they hold the credentials of a cluster, and
// the bucket is read by every dashboard. Hidden files are temporary files
// of an atomic write.
func publishable(rel string) bool {
	base := path.Base(rel)
	return !strings.HasPrefix(base, ".") && !strings.HasPrefix(base, "kubeconfig")
}
