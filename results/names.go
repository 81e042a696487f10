package results

// CheckScenarioName returns an error wrapping ErrInvalidRun when name cannot
// be a scenario of a results folder: empty, hidden, not a single file name,
// longer than 200 bytes, or a name the folder reserves (index.json and its
// lock). A reader that takes names from outside (a URL, a command line)
// checks them with it before asking the Store, so that a bad name is "no
// such scenario" rather than a failure.
func CheckScenarioName(name string) error {
	return checkName("scenario name", name, IndexFile, lockFileName)
}

// CheckRunID returns an error wrapping ErrInvalidRun when id cannot be a run
// ID: as CheckScenarioName, and "latest" is reserved (latest.json is the copy
// of the newest finished run, not a run).
func CheckRunID(id string) error {
	return checkName("run ID", id, "latest")
}
