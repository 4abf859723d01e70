package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/xsync/xsync/replicator/conn"
)

// Link is one replica connection to one source node. Run drives it: handshake,
// snapshot, stream, and reconnection with PSYNC resume until the context ends or an
// error that reconnecting cannot fix (wrong password, missing permission, Handler
// error).
type Link struct {
	cfg LinkConfig
	h   Handler
	st  linkStatus

	mu      sync.Mutex
	cancel  context.CancelFunc
	running bool
	closed  bool
	done    chan struct{}
}

// NewLink checks cfg and returns a Link that feeds h.
func NewLink(cfg LinkConfig, h Handler) (*Link, error) {
	if h == nil {
		return nil, errors.New("xsync/source: NewLink: nil Handler")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &Link{cfg: cfg, h: h, done: make(chan struct{})}
	l.st.setReplID(cfg.ReplID)
	l.st.offset.Store(cfg.Offset)
	l.st.received.Store(cfg.Offset)
	l.st.db.Store(int64(cfg.DB))
	l.st.snapSize.Store(-1)
	return l, nil
}

// inherit carries the counters of the link this one replaces (same shard), so that
// Status keeps counting across failovers. Call it before Run.
func (l *Link) inherit(prev Status) {
	l.st.fullSyncs.Add(prev.FullSyncs)
	l.st.partialSyncs.Add(prev.PartialSyncs)
	l.st.reconnects.Add(prev.Reconnects)
	l.st.snapBytes.Store(prev.SnapshotBytes)
	l.st.snapSize.Store(prev.SnapshotSize)
}

// Addr returns the node the Link follows.
func (l *Link) Addr() string { return l.cfg.Addr }

// Status returns a snapshot of the link's progress; safe from any goroutine.
func (l *Link) Status() Status { return l.st.snapshot(l.cfg.Addr) }

// Close stops Run and waits for it to return. It is idempotent.
func (l *Link) Close() error {
	l.mu.Lock()
	l.closed = true
	cancel, running := l.cancel, l.running
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if running {
		<-l.done
	}
	return nil
}

// Run follows the node until ctx ends or Close is called (it returns nil then), or
// until an error that reconnecting cannot fix, which it returns. Run may be called
// once.
func (l *Link) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.closed || l.running {
		l.mu.Unlock()
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	l.cancel, l.running = cancel, true
	l.mu.Unlock()
	defer close(l.done)
	defer cancel()
	defer l.st.state.Store(int32(StateStopped))

	log := l.cfg.Logger.With("node", l.cfg.Addr)
	for attempt := 0; ; attempt++ {
		streamed, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		msg := err.Error()
		l.st.lastErr.Store(&msg)
		var fe *fatalError
		if errors.As(err, &fe) {
			log.Error("replication link stopped", "err", fe.err)
			return fe.err
		}
		if streamed {
			attempt = 0
		}
		l.st.reconnects.Add(1)
		l.st.state.Store(int32(StateReconnecting))
		wait := l.cfg.Backoff.Delay(attempt)
		log.Warn("replication link lost; reconnecting", "err", err, "retry_in", wait,
			"replid", l.st.getReplID(), "offset", l.st.offset.Load())
		if l.cfg.OnError != nil {
			l.cfg.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-l.cfg.Clock.After(wait):
		}
	}
}

// session runs one connection: it returns whether the stream phase was reached and
// the error that ended it.
func (l *Link) session(ctx context.Context) (streamed bool, err error) {
	l.st.state.Store(int32(StateHandshake))
	var ic *ioConn
	opts := l.cfg.Conn
	opts.Addr = l.cfg.Addr
	opts.ReadTimeout = -1 // the ioConn sets deadlines
	if opts.Role == "" {
		opts.Role = "source"
	}
	opts.Dialer = wrapDialer(opts.Dialer, &l.st.lastIO, &ic)
	c, err := conn.Dial(ctx, opts)
	if err != nil {
		if errors.Is(err, conn.ErrAuth) || errors.Is(err, conn.ErrBadURL) {
			return false, fatal(err)
		}
		return false, err
	}
	defer c.Close()
	ic.idle.Store(int64(l.cfg.ReadTimeout))
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	s := &session{l: l, c: c, transferDone: make(chan struct{})}
	if l.st.getReplID() == "" {
		checkBuffers(ctx, c, &l.cfg)
	}
	return s.run(ctx)
}

// psyncReply is the master's answer to PSYNC.
type psyncReply struct {
	full   bool
	replID string // FULLRESYNC id, or CONTINUE's new id ("" = unchanged)
	offset int64  // FULLRESYNC offset
}

// handshake sends REPLCONF and PSYNC and reads the answer.
func (s *session) handshake() (psyncReply, error) {
	l, c := s.l, s.c
	port := strconv.Itoa(l.cfg.ListeningPort)
	w := c.Writer()
	w.WriteCommand([]byte("REPLCONF"), []byte("listening-port"), []byte(port))
	w.WriteCommand([]byte("REPLCONF"), []byte("capa"), []byte("eof"), []byte("capa"), []byte("psync2"))
	if err := w.Flush(); err != nil {
		return psyncReply{}, fmt.Errorf("xsync/source: %s: send REPLCONF: %w", l.cfg.Addr, err)
	}
	for range 2 {
		line, err := s.readLine()
		if err != nil {
			return psyncReply{}, fmt.Errorf("xsync/source: %s: REPLCONF reply: %w", l.cfg.Addr, err)
		}
		if strings.HasPrefix(line, "-") {
			if err := s.replyErr("REPLCONF", line[1:]); errors.Is(err, ErrNoPermission) {
				return psyncReply{}, err
			}
			// Old masters refuse unknown REPLCONF options; a real replica goes on too.
			l.cfg.Logger.Debug("REPLCONF refused", "node", l.cfg.Addr, "reply", line)
		}
	}
	replID, off := l.st.getReplID(), l.st.offset.Load()
	psync := []string{"PSYNC", "?", "-1"}
	if replID != "" {
		psync = []string{"PSYNC", replID, strconv.FormatInt(off+1, 10)}
	}
	w.WriteCommand([]byte(psync[0]), []byte(psync[1]), []byte(psync[2]))
	if err := w.Flush(); err != nil {
		return psyncReply{}, fmt.Errorf("xsync/source: %s: send PSYNC: %w", l.cfg.Addr, err)
	}
	line, err := s.readLine()
	if err != nil {
		return psyncReply{}, fmt.Errorf("xsync/source: %s: PSYNC reply: %w", l.cfg.Addr, err)
	}
	return s.parsePSYNCReply(line)
}

func (s *session) parsePSYNCReply(line string) (psyncReply, error) {
	addr := s.l.cfg.Addr
	f := strings.Fields(line)
	switch {
	case len(f) == 3 && f[0] == "+FULLRESYNC":
		off, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || off < 0 || f[1] == "" {
			break
		}
		return psyncReply{full: true, replID: f[1], offset: off}, nil
	case len(f) >= 1 && len(f) <= 2 && f[0] == "+CONTINUE":
		r := psyncReply{}
		if len(f) == 2 {
			r.replID = f[1]
		}
		return r, nil
	case strings.HasPrefix(line, "-"):
		return psyncReply{}, s.replyErr("PSYNC", line[1:])
	}
	return psyncReply{}, fmt.Errorf("%w: %s: unexpected PSYNC reply %q", ErrProtocol, addr, clip(line))
}

// replyErr turns an error reply to a handshake command into an error that says what
// to do.
func (s *session) replyErr(cmd, msg string) error {
	addr, user := s.l.cfg.Addr, s.l.cfg.Conn.Username
	if user == "" {
		user = "default"
	}
	code, _, _ := strings.Cut(msg, " ")
	switch {
	case code == "NOPERM":
		return fatal(fmt.Errorf("%w: %s: %s refused (%s): the ACL user %q needs the replication commands: ACL SETUSER %s +psync +replconf +ping (or +@admin)",
			ErrNoPermission, addr, cmd, clip(msg), user, user))
	case code == "NOAUTH":
		return fatal(fmt.Errorf("%w: xsync/source: %s: the node requires a password (NOAUTH): add it to the source URL", conn.ErrAuth, addr))
	case strings.Contains(strings.ToLower(msg), "unknown command"):
		// Managed services (AWS ElastiCache, Azure Cache for Redis, ...) rename or
		// block the replication commands; Redis before 2.8 has no PSYNC.
		return fatal(fmt.Errorf("%w: %s: %s refused (%s): this source does not allow replication commands (a managed service that blocks PSYNC, or Redis older than 2.8); replicate from a node that allows them",
			ErrNoPermission, addr, cmd, clip(msg)))
	case code == "LOADING", code == "NOMASTERLINK", code == "MASTERDOWN",
		strings.Contains(msg, "not connected with my master"):
		return fmt.Errorf("%w: %s: %s: %s", ErrTryLater, addr, cmd, clip(msg))
	}
	return fmt.Errorf("xsync/source: %s: %s refused: %s", addr, cmd, clip(msg))
}

// readLine reads one handshake line, skipping the bare "\n" keep-alives a master
// sends while it prepares the snapshot. Nothing after the line is consumed.
func (s *session) readLine() (string, error) {
	r := s.c.Reader()
	for {
		line, _, err := r.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return "", fmt.Errorf("connection closed by the master: %w", io.ErrUnexpectedEOF)
			}
			return "", err
		}
		if len(line) > 0 {
			return string(line), nil
		}
	}
}
