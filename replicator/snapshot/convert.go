package snapshot

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/resp"
)

// Sentinel errors.
var (
	// ErrModule reports a module value that cannot be passed through.
	ErrModule = errors.New("xsync/snapshot: module value")
	// ErrRestore reports a key that ModeRestore cannot write as RESTORE.
	ErrRestore = errors.New("xsync/snapshot: cannot RESTORE")
	// ErrUnsupported reports something the destination version cannot hold
	// (policy DowngradeStop).
	ErrUnsupported = errors.New("xsync/snapshot: not supported by the destination")
)

// Emit receives RESP-encoded commands: cmd holds ncmds whole commands (all of
// one key), at most Options.MaxBytes long unless a single element is bigger.
// cmd is valid only during the call.
type Emit func(cmd []byte, ncmds int) error

// Stats counts what a Converter did.
type Stats struct {
	Restored      int64 // keys written as RESTORE
	Rebuilt       int64 // keys written as commands
	Expired       int64 // keys left out: already expired
	Commands      int64 // commands emitted
	DroppedFields int64 // hash field expires the destination cannot hold (before 7.4; DowngradeDrop)
	DroppedPEL    int64 // pending entries without a consumer
	// DroppedFunctions counts function libraries left out (before 7.0; DowngradeDrop).
	DroppedFunctions int64
	// DroppedStreamMeta counts streams whose entries-added, max-deleted id or
	// groups' entries-read were left out (before 7.0; DowngradeDrop).
	DroppedStreamMeta int64
	// DroppedKeys counts keys of a type the destination lacks (streams before
	// 5.0; DowngradeDrop).
	DroppedKeys int64
}

// Converter turns decoded records into destination commands. It reuses its
// buffers; it is not safe for concurrent use.
type Converter struct {
	opts        Options
	emit        Emit
	out         []byte // complete commands not yet emitted
	n           int
	body        []byte // arguments of the open command
	nargs       int
	elems       int
	name        string
	key         []byte
	pay         []byte
	added       int
	lossCounted bool // the open stream was counted in Stats.DroppedStreamMeta
	hasPL       bool // the open string was SET already
	num         [32]byte
	// Stats counts keys and commands so far.
	Stats Stats
}

// New returns a Converter.
func New(opts Options) (*Converter, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Converter{opts: opts}, nil
}

// Options returns the options in effect (defaults filled in).
func (c *Converter) Options() Options { return c.opts }

// Convert emits the commands that recreate rec on the destination: a key
// (RESTORE, or plain commands in bounded chunks, then its expire), a function
// library (FUNCTION LOAD REPLACE) or a Lua script (SCRIPT LOAD). Other records
// produce nothing. srcVersion is the RDB version of the source (for the DUMP
// payload). For a key whose value is not in rec.Raw, Convert walks
// rec.Elements: call it before the decoder's next Next.
func (c *Converter) Convert(rec *rdb.Record, srcVersion int, emit Emit) error {
	c.emit = emit
	c.out, c.n = c.out[:0], 0
	var err error
	switch rec.Kind {
	case rdb.KindKey:
		err = c.key1(rec, srcVersion)
	case rdb.KindFunction:
		if !c.opts.Target.AtLeast(7, 0) {
			if c.opts.Downgrade == DowngradeDrop {
				c.Stats.DroppedFunctions++
				return nil
			}
			return fmt.Errorf("%w: function library %q: functions need Redis 7.0, the destination is %s (--downgrade drop leaves the libraries out and counts them)",
				ErrUnsupported, rec.FuncName, c.opts.Target)
		}
		c.begin("FUNCTION", nil)
		c.arg([]byte("LOAD"))
		c.arg([]byte("REPLACE"))
		c.arg(rec.FuncCode)
		err = c.end()
	case rdb.KindScript:
		c.begin("SCRIPT", nil)
		c.arg([]byte("LOAD"))
		c.arg(rec.AuxValue)
		err = c.end()
	}
	if err == nil {
		err = c.flush()
	}
	return err
}

func (c *Converter) key1(rec *rdb.Record, srcVersion int) error {
	now := c.opts.Now().UnixMilli()
	if rec.ExpireAt != 0 && rec.ExpireAt <= now {
		c.Stats.Expired++
		return nil
	}
	c.key = rec.Key
	restore, why := c.canRestore(rec, srcVersion)
	if rec.Type == rdb.ValueModule {
		switch {
		case c.opts.Modules == ModuleRefuse:
			return fmt.Errorf("%w: key %q holds a value of module %s (refused by policy)", ErrModule, rec.Key, rec.ModuleName)
		case !restore:
			return fmt.Errorf("%w: key %q of module %s cannot be passed through: %s", ErrModule, rec.Key, rec.ModuleName, why)
		}
	}
	if rec.Type == rdb.ValueStream && !c.opts.Target.AtLeast(5, 0) {
		// No stream type before Redis 5.0: nothing equivalent to write.
		if c.opts.Downgrade == DowngradeDrop {
			c.Stats.DroppedKeys++
			return nil
		}
		return fmt.Errorf("%w: key %q: streams need Redis 5.0, the destination is %s (--downgrade drop leaves the key out and counts it)", ErrUnsupported, rec.Key, c.opts.Target)
	}
	if c.opts.Mode == ModeRestore && !restore {
		return fmt.Errorf("%w: key %q: %s", ErrRestore, rec.Key, why)
	}
	if restore {
		c.Stats.Restored++
		return c.restore(rec, srcVersion, now)
	}
	c.Stats.Rebuilt++
	if err := c.commands(rec); err != nil {
		return err
	}
	if rec.ExpireAt != 0 {
		c.begin("PEXPIREAT", c.key)
		c.argInt(rec.ExpireAt)
		return c.end()
	}
	return nil
}

// Restorable reports whether Convert writes rec as one RESTORE (rather than as
// plain commands) for a source of RDB version srcVersion.
func (c *Converter) Restorable(rec *rdb.Record, srcVersion int) bool {
	ok, _ := c.canRestore(rec, srcVersion)
	return ok
}

func (c *Converter) canRestore(rec *rdb.Record, srcVersion int) (bool, string) {
	o := &c.opts
	switch {
	case o.Mode == ModeCommands && rec.Type != rdb.ValueModule:
		return false, "command mode"
	case rec.Raw == nil:
		return false, "value over the decoder's raw limit"
	case len(rec.Raw)+len(rec.Key)+64 > o.BigKeyBytes || len(rec.Raw)+len(rec.Key)+64 > o.MaxBytes:
		return false, fmt.Sprintf("value of %d bytes over the big-key limit", len(rec.Raw))
	case rdb.TypeMinVersion(rec.RDBType) > o.Target.RDBVersion():
		return false, fmt.Sprintf("RDB type %d is unknown to Redis %s", rec.RDBType, o.Target)
	case !o.Target.AtLeast(2, 6):
		return false, "RESTORE needs Redis 2.6"
	}
	return true, ""
}

func (c *Converter) restore(rec *rdb.Record, srcVersion int, now int64) error {
	t := c.opts.Target
	label := min(srcVersion, t.RDBVersion())
	c.pay = rdb.AppendDumpPayload(c.pay[:0], rec.RDBType, rec.Raw, label)
	if c.opts.Replace == ReplaceKey && !t.AtLeast(3, 0) {
		// RESTORE has no REPLACE before 3.0.
		c.begin("DEL", rec.Key)
		if err := c.end(); err != nil {
			return err
		}
	}
	c.begin("RESTORE", rec.Key)
	abs := t.AtLeast(5, 0)
	switch {
	case rec.ExpireAt == 0:
		c.argInt(0)
	case abs:
		c.argInt(rec.ExpireAt)
	default:
		c.argInt(max(rec.ExpireAt-now, 1))
	}
	c.arg(c.pay)
	if c.opts.Replace == ReplaceKey && t.AtLeast(3, 0) {
		c.arg([]byte("REPLACE"))
	}
	if rec.ExpireAt != 0 && abs {
		c.arg([]byte("ABSTTL"))
	}
	if abs {
		if rec.Idle >= 0 {
			c.arg([]byte("IDLETIME"))
			c.argInt(rec.Idle)
		} else if rec.Freq >= 0 {
			c.arg([]byte("FREQ"))
			c.argInt(int64(rec.Freq))
		}
	}
	return c.end()
}

// begin opens a command; key nil means none.
func (c *Converter) begin(name string, key []byte) {
	c.body, c.nargs, c.elems, c.name = c.body[:0], 0, 0, name
	c.body = resp.AppendBulkString(c.body, name)
	c.nargs++
	if key != nil {
		c.arg(key)
	}
}

func (c *Converter) open() bool { return c.nargs > 0 }

func (c *Converter) arg(b []byte) {
	c.body = resp.AppendBulk(c.body, b)
	c.nargs++
}

func (c *Converter) argInt(v int64) { c.arg(strconv.AppendInt(c.num[:0], v, 10)) }

// end closes the open command into the batch, emitting the batch first when
// it would grow over MaxBytes.
func (c *Converter) end() error {
	if c.nargs == 0 {
		return nil
	}
	size := len(c.body) + 16
	if c.n > 0 && len(c.out)+size > c.opts.MaxBytes {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.out = resp.AppendArray(c.out, c.nargs)
	c.out = append(c.out, c.body...)
	c.n++
	c.nargs = 0
	if len(c.out) >= c.opts.BatchBytes {
		return c.flush()
	}
	return nil
}

func (c *Converter) flush() error {
	if c.n == 0 {
		return nil
	}
	c.Stats.Commands += int64(c.n)
	err := c.emit(c.out, c.n)
	c.out, c.n = c.out[:0], 0
	return err
}

// fits reports whether extra more bytes and one more element fit in the open command.
func (c *Converter) fits(extra int) bool {
	return c.elems < c.opts.MaxElements && len(c.body)+extra+64 <= c.opts.MaxBytes
}

// elem adds one element (args) to a variadic command name key ..., closing
// and reopening it at the limits.
func (c *Converter) elem(name string, args ...[]byte) error {
	extra := 0
	for _, a := range args {
		extra += len(a) + 16
	}
	if c.open() && !c.fits(extra) {
		if err := c.end(); err != nil {
			return err
		}
	}
	if !c.open() {
		c.begin(name, c.key)
	}
	for _, a := range args {
		c.arg(a)
	}
	c.elems++
	return nil
}
