package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/redeploy-drill/drill/internal/safeio"
)

// File names inside the results folder.
const (
	IndexFile  = "index.json"
	LatestFile = "latest.json"
	// IndexLockFile serializes index, latest.json and history updates
	// between drill processes sharing one results folder.
	IndexLockFile = "index.json.lock"
)

// ReadRun reads and decodes the DrillRun document at path. Unknown fields
// are accepted (adding a field keeps drill/v1); another apiVersion or kind
// is not. Every error is a *DocumentError naming path.
func ReadRun(path string) (*Run, error) {
	data, err := safeio.ReadRegular(path)
	if err != nil {
		return nil, &DocumentError{Path: path, Err: err}
	}
	var r Run
	if err := decodeDoc(data, KindRun, &r, func() (string, string) { return r.APIVersion, r.Kind }); err != nil {
		return nil, &DocumentError{Path: path, Err: err}
	}
	return &r, nil
}

// ReadIndex reads the DrillIndex at path (a results folder's index.json).
// A missing file (nothing has finished yet) gives an empty index, not an
// error. A damaged index gives a *DocumentError; drill's next finished run
// (or drill's RebuildIndex) repairs it.
func ReadIndex(path string) (*Index, error) {
	data, err := safeio.ReadRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Index{APIVersion: APIVersion, Kind: KindIndex, Scenarios: []IndexEntry{}}, nil
	}
	if err != nil {
		return nil, &DocumentError{Path: path, Err: err}
	}
	var idx Index
	if err := decodeDoc(data, KindIndex, &idx, func() (string, string) { return idx.APIVersion, idx.Kind }); err != nil {
		return nil, &DocumentError{Path: path, Err: err}
	}
	return &idx, nil
}

// decodeDoc decodes data into v and checks the header that header reads
// back from v. When decoding fails on a type mismatch the header is read on
// its own, so a document of another version reports ErrUnsupportedVersion
// rather than a confusing type error.
func decodeDoc(data []byte, kind string, v any, header func() (string, string)) error {
	if err := json.Unmarshal(data, v); err != nil {
		var h struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if json.Unmarshal(data, &h) == nil {
			if herr := checkHeader(h.APIVersion, h.Kind, kind); herr != nil {
				return herr
			}
		}
		return err
	}
	version, gotKind := header()
	return checkHeader(version, gotKind, kind)
}

func checkHeader(version, kind, want string) error {
	if version != APIVersion {
		return fmt.Errorf("%w %q (want %q)", ErrUnsupportedVersion, version, APIVersion)
	}
	if kind != want {
		return fmt.Errorf("%w %q (want %q)", ErrWrongKind, kind, want)
	}
	return nil
}
