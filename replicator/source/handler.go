package source

import (
	"context"
	"io"
)

// Handler receives what one Link reads from its master. Calls come from the link's
// goroutine, one at a time, in stream order.
type Handler interface {
	// FullSync is called when the master answers +FULLRESYNC; rdb yields exactly the
	// snapshot bytes while they arrive (size -1 when the master sends it EOF-marked,
	// diskless). It must read rdb to the end; what it leaves unread is discarded.
	// offset is the master offset the stream continues from. It may be called again
	// on the same Handler (a resume the master refused, a failover that lost writes):
	// the new snapshot then replaces everything the shard held.
	FullSync(ctx context.Context, replID string, offset int64, rdb io.Reader, size int64) error
	// Continue is called on +CONTINUE: the stream resumes after offset. replID is the
	// replication id from now on (a new one after a failover of the source). When
	// the previous session ended inside a MULTI, offset is the one before that MULTI:
	// drop the commands of the unfinished transaction (offsets above offset), they
	// come again.
	Continue(ctx context.Context, replID string, offset int64) error
	// Command is called for every command of the stream except PING, SELECT and
	// REPLCONF, which the link consumes itself. args are valid only during the call;
	// db is the database selected at that point; offset is the master offset just
	// after this command. Inside MULTI..EXEC the link resumes from the MULTI (see
	// Continue).
	Command(ctx context.Context, db int, args [][]byte, offset int64) error
}

// Flusher is an optional interface of a Handler. Flush is called during the
// stream whenever the link has no complete command at hand and is about to read
// from the master (it may wait there), and when the stream ends: a Handler that
// collects the work of several commands hands it over then, so that collecting
// adds no delay.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Progresser is an optional interface of a Handler. Progress is called with the
// master offset after stream bytes that carry no command for the Handler (PING,
// SELECT, REPLCONF GETACK), so that an applied offset can reach the master's offset
// on an idle source. db is the database selected after those bytes.
type Progresser interface {
	Progress(ctx context.Context, db int, offset int64) error
}
