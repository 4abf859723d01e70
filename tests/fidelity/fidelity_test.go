package fidelity

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFidelity runs every setup briefly with a fixed seed; it fails on any
// difference and prints it shrunk, with its seed.
func TestFidelity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	for _, s := range Setups {
		t.Run(string(s), func(t *testing.T) {
			rep := Run(t, Options{Setup: s, Seed: 1, Units: 300, Log: testLog{t}, Debug: os.Getenv("FIDELITY_DEBUG") != ""})
			var b strings.Builder
			rep.Print(&b)
			t.Log(b.String())
			if len(rep.Differences) > 0 {
				t.Errorf("%d differences", len(rep.Differences))
			}
		})
	}
}

// TestFidelityLong is `make fidelity`: FIDELITY_TIME (per setup) or
// FIDELITY_UNITS, FIDELITY_SEED (default: the time), FIDELITY_SETUP (comma
// list, default all), FIDELITY_SOURCE_BINARY, FIDELITY_TARGET_BINARY,
// FIDELITY_SHRINK (replays spent shrinking a difference, default 24).
func TestFidelityLong(t *testing.T) {
	d, n := os.Getenv("FIDELITY_TIME"), os.Getenv("FIDELITY_UNITS")
	if d == "" && n == "" {
		t.Skip("set FIDELITY_TIME or FIDELITY_UNITS (make fidelity)")
	}
	var dur time.Duration
	var units int
	var err error
	if d != "" {
		if dur, err = time.ParseDuration(d); err != nil {
			t.Fatalf("FIDELITY_TIME=%q: %v", d, err)
		}
	}
	if n != "" {
		if units, err = strconv.Atoi(n); err != nil {
			t.Fatalf("FIDELITY_UNITS=%q: %v", n, err)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FIDELITY_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FIDELITY_SEED=%q: %v", s, err)
		}
	}
	shrink, _ := strconv.Atoi(os.Getenv("FIDELITY_SHRINK"))
	setups := Setups
	if s := os.Getenv("FIDELITY_SETUP"); s != "" {
		setups = nil
		for _, n := range strings.Split(s, ",") {
			setups = append(setups, Setup(n))
		}
	}
	for _, s := range setups {
		t.Run(string(s), func(t *testing.T) {
			rep := Run(t, Options{Setup: s, Seed: seed, Duration: dur, Units: units, Shrink: shrink, Log: testLog{t}, Debug: os.Getenv("FIDELITY_DEBUG") != "",
				SourceBinary: os.Getenv("FIDELITY_SOURCE_BINARY"), TargetBinary: os.Getenv("FIDELITY_TARGET_BINARY")})
			var b strings.Builder
			rep.Print(&b)
			rep.Coverage.Print(&b)
			t.Log(b.String())
			if len(rep.Differences) > 0 {
				t.Errorf("%d differences", len(rep.Differences))
			}
		})
	}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
