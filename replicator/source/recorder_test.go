package source

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"
)

// recorder is a Handler that records what a link delivers.
type recorder struct {
	mu        sync.Mutex
	fulls     int
	continues int
	replID    string
	rdbBytes  int64
	rdbSize   int64
	cmds      []recCmd
	offset    int64 // highest offset seen (commands and progress)
	target    int64
	reached   chan struct{}
	once      sync.Once
	failAfter int // Command returns an error after that many commands (0: never)
}

type recCmd struct {
	db     int
	args   []string
	offset int64
}

func newRecorder(target int64) *recorder {
	return &recorder{target: target, reached: make(chan struct{})}
}

func (h *recorder) FullSync(ctx context.Context, replID string, offset int64, rdb io.Reader, size int64) error {
	n, err := io.Copy(io.Discard, rdb)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fulls++
	h.replID, h.rdbBytes, h.rdbSize = replID, n, size
	h.offset = offset
	return err
}

func (h *recorder) Continue(ctx context.Context, replID string, offset int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.continues++
	h.replID = replID
	if offset > h.offset {
		return errors.New("continue offset " + strconv.FormatInt(offset, 10) + " after handled " + strconv.FormatInt(h.offset, 10))
	}
	// Drop an unfinished transaction: it comes again.
	for len(h.cmds) > 0 && h.cmds[len(h.cmds)-1].offset > offset {
		h.cmds = h.cmds[:len(h.cmds)-1]
	}
	h.offset = offset
	return nil
}

func (h *recorder) Command(ctx context.Context, db int, args [][]byte, offset int64) error {
	c := recCmd{db: db, offset: offset}
	for _, a := range args {
		c.args = append(c.args, string(a))
	}
	h.mu.Lock()
	h.cmds = append(h.cmds, c)
	n := len(h.cmds)
	h.mu.Unlock()
	if h.failAfter > 0 && n >= h.failAfter {
		return errors.New("destination is full")
	}
	return h.advance(offset)
}

func (h *recorder) Progress(ctx context.Context, db int, offset int64) error {
	return h.advance(offset)
}

func (h *recorder) advance(offset int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if offset <= h.offset {
		return errors.New("offset went back from " + strconv.FormatInt(h.offset, 10) + " to " + strconv.FormatInt(offset, 10))
	}
	h.offset = offset
	if h.target > 0 && offset >= h.target {
		h.once.Do(func() { close(h.reached) })
	}
	return nil
}

// runLink runs l until the recorder reached its target (or timeout) and stops it.
func runLink(t *testing.T, l *Link, h *recorder, timeout time.Duration) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- l.Run(context.Background()) }()
	select {
	case <-h.reached:
	case err := <-errc:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(timeout):
		t.Fatalf("timeout: status %+v", l.Status())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := l.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}
