// Package docscheck holds tests that keep the documentation's code
// working: the README's quick start must build as pasted into a new module.
// It has no code of its own.
package docscheck
