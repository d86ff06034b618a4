package docscheck

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// goBlocks returns the fenced Go blocks of a Markdown document, in order.
func goBlocks(md string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestGoBlocks: the extraction finds blocks and their contents.
func TestGoBlocks(t *testing.T) {
	md := "text\n```go\npackage main\n```\n```sh\nls\n```\n```go\nx := 1\n```\n"
	got := goBlocks(md)
	if len(got) != 2 || got[0] != "package main\n" || got[1] != "x := 1\n" {
		t.Fatalf("goBlocks = %q", got)
	}
}

// TestReadmeQuickStartBuilds writes the README's quick start, the Go block
// that is a whole program, into a new module that requires udpstream.dev
// from this repository (a replace directive) and builds it. It works
// offline: the module's go.sum starts as the repository's, GOPROXY is off,
// and the dependencies come from the module cache the repository's own
// build filled.
func TestReadmeQuickStartBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a go build of its own; Example_quickStart in engine/udp runs the same program")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var prog string
	for _, b := range goBlocks(string(readme)) {
		if strings.HasPrefix(b, "package main\n") {
			prog = b
			break
		}
	}
	if prog == "" {
		t.Fatal("README.md has no Go block that is a whole program (package main)")
	}
	if !strings.Contains(prog, "\"udpstream.dev/") {
		t.Fatal("the README's quick start does not import the module by its path udpstream.dev")
	}
	dir := t.TempDir()
	gomod := "module quickstart\n\ngo 1.26\n\nrequire udpstream.dev v0.0.0\n\nreplace udpstream.dev => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(prog)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build(t, dir)
}

// build runs go build in dir, offline, with this test's race setting.
func build(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	args := []string{"build", "-o", os.DevNull}
	if raceBuild {
		args = append(args, "-race")
	}
	// go test puts its own go command first in PATH.
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.CommandContext(ctx, gocmd, append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build of the README quick start: %v\n%s", err, out.String())
	}
	t.Logf("built in %v", time.Since(start).Round(time.Millisecond))
}
