//go:build linux

package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// sample is one measurement's repetitions, after the warm-up.
type sample struct {
	vals []float64
	unit string // "ms", "%", "MB"
	// restarts counts repetitions where the serving process changed, when
	// that is asked; -1 when it is not.
	restarts int
	// missed counts edits the server never served (not in vals).
	missed int
}

func newSample(unit string) *sample { return &sample{unit: unit, restarts: -1} }

func (s *sample) add(v float64) { s.vals = append(s.vals, v) }

func (s *sample) addDuration(d time.Duration) { s.add(ms(d)) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *sample) n() int { return len(s.vals) }

func (s *sample) median() float64 {
	if len(s.vals) == 0 {
		return math.NaN()
	}
	v := slices.Sorted(slices.Values(s.vals))
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

func (s *sample) min() float64 { return slices.Min(s.vals) }
func (s *sample) max() float64 { return slices.Max(s.vals) }

// format prints a value in the sample's unit with sensible precision.
func (s *sample) format(v float64) string {
	switch {
	case s.unit == "%":
		return fmt.Sprintf("%.2f %%", v)
	case s.unit == "MB":
		return fmt.Sprintf("%.1f MB", v)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, s.unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, s.unit)
	}
	return fmt.Sprintf("%.2f %s", v, s.unit)
}

func (s *sample) medianText() string { return s.format(s.median()) }

func (s *sample) rangeText() string {
	if s.n() < 2 {
		return "—"
	}
	return s.format(s.min()) + " – " + s.format(s.max())
}
