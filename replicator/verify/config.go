package verify

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultExcludePrefix is the prefix of xsync's own keys on the destination.
const DefaultExcludePrefix = "__xsync:"

// RegistryKey is the destination's registry of jobs (package registry's Key),
// outside every internal prefix: it is left out unless NoExclude is set.
const RegistryKey = "__xsync_registry"

// Errors returned by New.
var (
	ErrNoClient    = errors.New("xsync/verify: Source and Target are required")
	ErrClientType  = errors.New("xsync/verify: a side must be a *redis.Client or a *redis.ClusterClient")
	ErrClusterDB   = errors.New("xsync/verify: a cluster has only database 0")
	ErrBadSample   = errors.New("xsync/verify: Sample must be in [0, 1]")
	ErrBadSettings = errors.New("xsync/verify: negative setting")
)

// Config configures a Verifier.
type Config struct {
	// Source and Target are *redis.Client (standalone) or *redis.ClusterClient. Required.
	// The Verifier does not close them.
	Source, Target redis.UniversalClient
	// Rounds is the number of rounds: one full comparison, then re-checks of the keys
	// that differed. Default 3.
	Rounds int
	// RoundDelay is the wait before each re-check round. Default 1s.
	RoundDelay time.Duration
	// Sample is the fraction of keys compared, chosen by a hash of the key (the same
	// keys on both sides). 0 or 1: every key.
	Sample float64
	// SampleSeed varies which keys a Sample picks. Default 0.
	SampleSeed uint64
	// TTLTolerance is how far the two TTLs of a key may be apart. Default 2s.
	TTLTolerance time.Duration
	// ExcludePrefix: keys starting with it are skipped on both sides. Default
	// DefaultExcludePrefix; set NoExclude to compare every key.
	ExcludePrefix string
	// NoExclude turns ExcludePrefix off.
	NoExclude bool
	// ExcludePrefixes are more prefixes skipped on both sides (the internal keys
	// of the other jobs of a shared destination). Default none.
	ExcludePrefixes []string
	// KeyPrefix is put before each source key name to get its target name (the
	// sync's --key-prefix). Default "".
	KeyPrefix string
	// OtherPrefixes are the key prefixes of the other sources merged into the
	// target: a target key under one of them (the longest prefix a key starts
	// with decides) is another source's and left out of this comparison. Used
	// to compare a union of sources, one Run per source (Union). Default none.
	OtherPrefixes []string
	// Leftovers makes the target scan also report as Extra the keys under none
	// of KeyPrefix and OtherPrefixes (one Run of a union does it). Default false.
	Leftovers bool
	// Rate bounds the keys read per second (source and destination scans together).
	// Default 0: unbounded.
	Rate int
	// DBs are the source databases compared (standalone sources). Default: every
	// database INFO keyspace lists on the source (and on a standalone target), or 0.
	DBs []int
	// DBMap maps a source database to a target database. Default: the same number for
	// a standalone target, 0 for a cluster target.
	DBMap map[int]int
	// MaxReport is the number of differing keys kept per kind in the Result. Default 100.
	MaxReport int
	// MaxPending bounds the differing keys remembered for re-checking; beyond it keys
	// are counted as they were found in round 1. Default 1,000,000.
	MaxPending int
	// ScanCount is the COUNT of SCAN. Default 1000.
	ScanCount int
	// PageSize is the number of elements read per page of a collection. Default 1000.
	PageSize int
	// StringChunk is the number of bytes read per GETRANGE of a string. Default 1 MiB.
	StringChunk int
	// MaxElements is the size above which a set or hash is skipped (16 bytes of memory
	// per element while it is compared). Default 16,777,216.
	MaxElements int64
	// Concurrency is the number of nodes or databases scanned at once. Default 4.
	Concurrency int
	// Logger receives progress. Default: discarded.
	Logger *slog.Logger
}

// validate fills defaults and rejects bad settings.
func (c *Config) validate() error {
	if c.Source == nil || c.Target == nil {
		return ErrNoClient
	}
	if c.Sample < 0 || c.Sample > 1 {
		return fmt.Errorf("%w: %v", ErrBadSample, c.Sample)
	}
	if c.Rounds < 0 || c.RoundDelay < 0 || c.TTLTolerance < 0 || c.Rate < 0 || c.MaxReport < 0 ||
		c.MaxPending < 0 || c.ScanCount < 0 || c.PageSize < 0 || c.StringChunk < 0 || c.MaxElements < 0 || c.Concurrency < 0 {
		return ErrBadSettings
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Rounds, 3)
	def(&c.MaxReport, 100)
	def(&c.MaxPending, 1_000_000)
	def(&c.ScanCount, 1000)
	def(&c.PageSize, 1000)
	def(&c.StringChunk, 1<<20)
	def(&c.Concurrency, 4)
	if c.Sample == 0 {
		c.Sample = 1
	}
	if c.RoundDelay == 0 {
		c.RoundDelay = time.Second
	}
	if c.TTLTolerance == 0 {
		c.TTLTolerance = 2 * time.Second
	}
	if c.ExcludePrefix == "" {
		c.ExcludePrefix = DefaultExcludePrefix
	}
	if c.NoExclude {
		c.ExcludePrefix = ""
		c.ExcludePrefixes = nil
	}
	if c.MaxElements == 0 {
		c.MaxElements = 1 << 24
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}
