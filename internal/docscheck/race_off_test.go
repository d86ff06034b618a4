//go:build !race

package docscheck

const raceBuild = false
