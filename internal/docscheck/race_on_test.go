//go:build race

package docscheck

// raceBuild: the test runs under the race detector, so the quick start is
// built with it too and reuses the packages the test run compiled.
const raceBuild = true
