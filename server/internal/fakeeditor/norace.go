//go:build !race

package fakeeditor

const raceEnabled = false
