package source

import "errors"

var (
	// ErrClosed is returned when Run is called on a closed Link or Source.
	ErrClosed = errors.New("xsync/source: closed")
	// ErrNoPermission reports an ACL user not allowed to replicate.
	ErrNoPermission = errors.New("xsync/source: the user may not replicate")
	// ErrProtocol reports bytes from the master that break the replication protocol.
	ErrProtocol = errors.New("xsync/source: replication protocol error")
	// ErrTryLater reports a master that cannot serve a replica yet (LOADING,
	// NOMASTERLINK); the link retries.
	ErrTryLater = errors.New("xsync/source: the node cannot serve a replica yet")

	// errTransfer marks a snapshot read that failed on the network side.
	errTransfer = errors.New("xsync/source: snapshot transfer failed")
)

// fatalError is a session error that reconnecting cannot fix: Run returns it.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error { return &fatalError{err: err} }
