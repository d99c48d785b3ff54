//go:build !linux

package session

import "testing"

// debugpyAdapter finds the adapter by /proc, which only Linux has.
func debugpyAdapter(t *testing.T, dir string) int {
	t.Skip("finding debugpy's adapter needs Linux's /proc")
	return 0
}

func debugpyAdapters(string) []int { return nil }
