package replicator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/scansrc"
	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/replicator/translate"
)

// Scan mode: a source that refuses PSYNC (managed services rename or block SYNC,
// PSYNC and REPLCONF) is copied by package scansrc: SCAN + DUMP/PTTL after
// subscribing to keyspace notifications, each change copied again. The ops go
// through the same applier; checkpoints do not apply (state is copied, not
// operations), and neither do the source links of package source.

// SourceMode says how the source is read.
type SourceMode int

// Source modes.
const (
	// SourceModeAuto replicates with PSYNC and falls back to scan mode when a
	// source master refuses it.
	SourceModeAuto SourceMode = iota
	// SourceModePSYNC replicates with PSYNC only.
	SourceModePSYNC
	// SourceModeScan copies by SCAN and keyspace notifications (scansrc).
	SourceModeScan
)

func (m SourceMode) String() string {
	switch m {
	case SourceModePSYNC:
		return "psync"
	case SourceModeScan:
		return "scan"
	}
	return "auto"
}

// ParseSourceMode reads scan, psync or auto.
func ParseSourceMode(s string) (SourceMode, error) {
	switch s {
	case "auto", "":
		return SourceModeAuto, nil
	case "psync":
		return SourceModePSYNC, nil
	case "scan":
		return SourceModeScan, nil
	}
	return 0, fmt.Errorf("xsync/replicator: source mode %q: use scan, psync or auto", s)
}

// psyncRefused reports why a source master refuses replication ("" when it
// allows it): PSYNC or REPLCONF unknown (renamed away), as managed services do.
func psyncRefused(ctx context.Context, o conn.Options, addr string) (string, error) {
	o.Addr = addr
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := conn.Dial(dctx, o)
	if err != nil {
		return "", err
	}
	defer c.Close()
	v, err := c.Do(dctx, "COMMAND", "INFO", "psync")
	if err == nil && (len(v.Elems) == 0 || v.Elems[0].Null) {
		return "PSYNC is not a command of " + addr, nil
	}
	if _, err := c.Do(dctx, "REPLCONF", "listening-port", "0"); err != nil {
		var re *conn.ReplyError
		if errors.As(err, &re) && strings.Contains(strings.ToLower(re.Msg), "unknown command") {
			return addr + " refuses REPLCONF (" + re.Msg + ")", nil
		}
		if errors.As(err, &re) {
			return "", nil // NOPERM and others: the PSYNC path reports them
		}
		return "", err
	}
	return "", nil
}

// chooseScan decides whether to run in scan mode, and returns the source
// masters when it does.
func (r *Replicator) chooseScan(ctx context.Context) ([]string, bool, error) {
	mode := r.cfg.SourceMode
	if mode == SourceModePSYNC {
		return nil, false, nil
	}
	masters, standalone, err := source.Masters(ctx, r.cfg.SourceConn, r.cfg.SourceSeeds)
	if err != nil {
		return nil, false, err
	}
	r.scanStandalone = standalone
	if mode == SourceModeScan {
		r.log.Info("source mode scan: copying by SCAN and keyspace notifications", "masters", len(masters))
		return masters, true, nil
	}
	for _, m := range masters {
		why, err := psyncRefused(ctx, r.cfg.SourceConn, m)
		if err != nil {
			return nil, false, err
		}
		if why != "" {
			r.log.Warn("the source refuses replication: falling back to scan mode (SCAN + DUMP and keyspace notifications; --source-mode psync forbids the fallback)",
				"reason", why, "masters", len(masters))
			return masters, true, nil
		}
	}
	return nil, false, nil
}

// runScan copies the source in scan mode until ctx ends.
func (r *Replicator) runScan(ctx context.Context, masters []string) error {
	if r.cfg.Assign.Count > 1 {
		return fmt.Errorf("xsync/replicator: scan mode does not split the source masters between processes (--shard-count %d): run one process", r.cfg.Assign.Count)
	}
	tc := r.cfg.Translate
	tc.SourceKind = translate.SourceStandalone
	tc.DestKind = translate.DestCluster
	if r.applier.Standalone() {
		tc.DestKind = translate.DestStandalone
	}
	tc.DestVersion = r.applier.Version()
	tc.Scripts = r.applier
	tc.Logger = r.log.With("component", "translate")
	if tc.Now == nil {
		tc.Now = r.cfg.Now
	}
	tr, err := translate.New(tc)
	if err != nil {
		return err
	}
	kf := tr.KeyFilter()
	if tg, ok := kf.DB(0); !ok || tg.DB != 0 {
		return fmt.Errorf("xsync/replicator: scan mode copies database 0 into database 0 only (--dbs %v)", tc.DBs)
	}
	sc := r.cfg.Scan
	sc.Masters = masters
	sc.Conn = r.cfg.SourceConn
	sc.Sink = r.applier
	sc.Convert = r.cfg.Convert
	sc.Logger = r.log.With("component", "scan")
	sc.Now = r.cfg.Now
	sc.Filter = func(dst, key []byte) ([]byte, bool) { return kf.Target(dst, 0, key) }
	s, err := scansrc.New(sc)
	if err != nil {
		return err
	}
	r.scanner.Store(s)
	r.warnOtherDBs(ctx, masters)
	return s.Run(ctx)
}

// warnOtherDBs says that keys outside db 0 are not copied in scan mode.
func (r *Replicator) warnOtherDBs(ctx context.Context, masters []string) {
	if !r.scanStandalone {
		return
	}
	o := r.cfg.SourceConn
	o.Addr = masters[0]
	c, err := conn.Dial(ctx, o)
	if err != nil {
		return
	}
	defer c.Close()
	v, err := c.Do(ctx, "INFO", "keyspace")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(v.Str), "\n") {
		if strings.HasPrefix(line, "db") && !strings.HasPrefix(line, "db0:") {
			r.log.Warn("scan mode copies database 0 only: this database of the source is not copied", "node", masters[0], "db", strings.TrimSpace(line))
		}
	}
}

// ScanIdle reports, in scan mode, that every write the source acknowledged
// before the call is on the destination: each master was scanned, the
// notifications of those writes have arrived (scansrc.Scanner.CaughtUp), their
// keys were copied, and the destination acknowledged every copy. With the
// source's writes stopped, the two are then equal. False in PSYNC mode.
func (r *Replicator) ScanIdle(ctx context.Context) bool {
	s := r.scanner.Load()
	if s == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ok, err := s.CaughtUp(ctx); err != nil || !ok {
		return false
	}
	return r.applier.Flush(ctx) == nil
}

// scanStatus fills the scan-mode fields of st.
func (r *Replicator) scanStatus(st *Status) {
	s := r.scanner.Load()
	if s == nil {
		st.SourceMode = "psync"
		if r.cfg.SourceMode != SourceModePSYNC && r.scanChoosing.Load() {
			st.SourceMode = ""
		}
		return
	}
	st.SourceMode = "scan"
	sc := s.Stats()
	st.Scan = &sc
	st.KeysDone = sc.KeysScanned
	if st.State == "" {
		st.State = StateStream
		if sc.Scanning > 0 || sc.ScansDone < int64(sc.Masters) {
			st.State = StateFullSync
		}
	}
}

var _ scansrc.Sink = (*apply.Applier)(nil)
