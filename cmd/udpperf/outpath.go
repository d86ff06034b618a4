package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// prepareOutput makes sure path can be written at the end of a run, so a
// long sweep does not end in a write error: it creates the missing
// folders and opens the file for writing once. A file that did not exist
// is removed again; the run writes it when done.
func prepareOutput(flagName, path string) error {
	if path == "" {
		return nil
	}
	// A path that cannot be written is a bad command line (exit status 2).
	fail := func(err error) error { return usageError{fmt.Sprintf("--%s %s: %v", flagName, path, err)} }
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(err)
		}
	}
	st, err := os.Stat(path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	if existed && st.IsDir() {
		return fail(errors.New("is a directory"))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fail(err)
	}
	f.Close()
	if !existed {
		os.Remove(path)
	}
	return nil
}

// chartPath reads a --chart flag: "", "none" or "off" mean no chart;
// anything else must end in .svg or .png and be writable.
func chartPath(path string) (string, error) {
	switch strings.ToLower(path) {
	case "", "none", "off":
		return "", nil
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".svg" && ext != ".png" {
		return "", usageError{fmt.Sprintf("--chart %q: the file name must end in .svg or .png", path)}
	}
	return path, prepareOutput("chart", path)
}
