package snapshot

import (
	"errors"
	"fmt"
	"time"

	"github.com/xsync/xsync/replicator/redisver"
)

// latest is the newest version this package knows (RDB 12).
var latest = redisver.Version{Major: 7, Minor: 4}

// Mode says how keys are written.
type Mode uint8

// Modes.
const (
	// ModeAuto writes RESTORE where the destination reads the payload and the
	// key is not big, plain commands otherwise.
	ModeAuto Mode = iota
	// ModeRestore always writes RESTORE; a key that cannot be is an error.
	ModeRestore
	// ModeCommands always writes plain commands.
	ModeCommands
)

// Replace says what happens to a key that exists on the destination.
type Replace uint8

// Replace policies.
const (
	// ReplaceKey replaces it: RESTORE ... REPLACE, or DEL before the commands.
	ReplaceKey Replace = iota
	// ReplaceNever leaves it: RESTORE fails with BUSYKEY; commands merge into it.
	ReplaceNever
)

// ModulePolicy says what to do with module values.
type ModulePolicy uint8

// Module policies.
const (
	// ModulePass passes module values through as RESTORE (the destination must
	// have the module loaded).
	ModulePass ModulePolicy = iota
	// ModuleRefuse returns an error naming the key and module.
	ModuleRefuse
)

// Downgrade says what happens to what the destination's version cannot hold
// (see downgrade.go).
type Downgrade uint8

// Downgrade policies.
const (
	// DowngradeStop returns an error naming the key (or library) and what the
	// destination lacks.
	DowngradeStop Downgrade = iota
	// DowngradeDrop writes the rest of the key without it and counts what was
	// left out (Stats.DroppedFields, DroppedFunctions, DroppedStreamMeta).
	DowngradeDrop
)

// Defaults of Options.
const (
	DefaultMaxBytes    = 16 << 20
	DefaultMaxElements = 1000
	DefaultBatchBytes  = 1 << 20
)

// Options configures a Converter. Zero fields take their defaults.
type Options struct {
	// Target is the destination's version. Default 7.4.
	Target redisver.Version
	// Mode chooses RESTORE or commands. Default ModeAuto.
	Mode Mode
	// Replace is the policy for existing keys. Default ReplaceKey.
	Replace Replace
	// Modules is the policy for module values. Default ModulePass.
	Modules ModulePolicy
	// Downgrade is the policy for what the destination's version cannot hold:
	// hash field expires (before 7.4), function libraries (before 7.0), streams'
	// entries-added, max-deleted id and consumer groups' entries-read (before
	// 7.0). Default DowngradeStop.
	Downgrade Downgrade
	// MaxBytes bounds the size of one command (and of one batch handed to
	// emit): a value bigger than it goes the command path. Default 16 MiB.
	MaxBytes int
	// MaxElements bounds the elements of one command. Default 1000.
	MaxElements int
	// BatchBytes is the size from which the commands gathered for a key are
	// handed to emit (a batch holds at most one command past it, and never
	// more than MaxBytes). Default 1 MiB.
	BatchBytes int
	// BigKeyBytes sends values whose serialized size is over it down the
	// command path. Default MaxBytes.
	BigKeyBytes int
	// Now is the clock for relative TTLs (destinations before 5.0) and for
	// leaving out keys that have already expired. Default time.Now.
	Now func() time.Time
}

// ErrOptions reports a bad combination of options.
var ErrOptions = errors.New("xsync/snapshot: bad options")

func (o *Options) validate() error {
	if o.Target == (redisver.Version{}) {
		o.Target = latest
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxElements <= 0 {
		o.MaxElements = DefaultMaxElements
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	o.BatchBytes = min(o.BatchBytes, o.MaxBytes)
	if o.BigKeyBytes <= 0 {
		o.BigKeyBytes = o.MaxBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBytes < 1024 {
		return fmt.Errorf("%w: MaxBytes %d is under 1 KiB", ErrOptions, o.MaxBytes)
	}
	if o.Mode > ModeCommands || o.Replace > ReplaceNever || o.Modules > ModuleRefuse || o.Downgrade > DowngradeDrop {
		return fmt.Errorf("%w: unknown mode or policy", ErrOptions)
	}
	return nil
}
