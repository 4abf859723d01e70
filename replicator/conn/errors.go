package conn

import (
	"errors"
	"strings"
)

var (
	// ErrAuth reports that the node refused the credentials (or needs some).
	ErrAuth = errors.New("xsync/conn: authentication failed")
	// ErrUnreachable reports that no connection could be opened to the node.
	ErrUnreachable = errors.New("xsync/conn: node unreachable")
	// ErrTLS reports a TLS handshake or certificate problem.
	ErrTLS = errors.New("xsync/conn: TLS failure")
	// ErrClosed is returned by a Conn used after Close or after an I/O error broke it.
	ErrClosed = errors.New("xsync/conn: connection closed")
	// ErrFenced is returned by Dial when Options.OnConnect refused the connection
	// because another xsync process has taken over the destination (HA fencing).
	// It is final: retrying cannot help.
	ErrFenced = errors.New("xsync/conn: fenced: another xsync process leads this destination now")
	// ErrBadURL reports a URL that ParseURL cannot accept.
	ErrBadURL = errors.New("xsync/conn: bad URL")
)

// ReplyError is an error reply ("-ERR ...", "-WRONGPASS ...") from the server.
type ReplyError struct {
	Msg  string // the reply without the leading '-'
	Addr string // node that sent it ("" when unknown)
}

// Error returns "xsync/conn: <addr>: <msg>".
func (e *ReplyError) Error() string {
	if e.Addr == "" {
		return "xsync/conn: " + e.Msg
	}
	return "xsync/conn: " + e.Addr + ": " + e.Msg
}

// Code returns the first word of the message: ERR, WRONGPASS, NOPERM, LOADING, MOVED...
func (e *ReplyError) Code() string {
	if i := strings.IndexByte(e.Msg, ' '); i >= 0 {
		return e.Msg[:i]
	}
	return e.Msg
}

// HasCode reports whether err is (or wraps) a *ReplyError with the given code.
func HasCode(err error, code string) bool {
	var re *ReplyError
	return errors.As(err, &re) && re.Code() == code
}
