package slots

import "errors"

// Errors returned by this package. Functions wrap them with detail; test with
// errors.Is.
var (
	// ErrNoCommand is returned for an empty argument list.
	ErrNoCommand = errors.New("xsync/slots: empty command")
	// ErrUnknownCommand is returned for a command or subcommand the table lacks.
	ErrUnknownCommand = errors.New("xsync/slots: unknown command")
	// ErrWrongArity is returned when the number of arguments does not fit the
	// command's arity.
	ErrWrongArity = errors.New("xsync/slots: wrong number of arguments")
	// ErrBadKeys is returned when the key positions cannot be found from the
	// arguments (numkeys beyond the arguments or not a count, a fixed key position
	// past the end, MIGRATE KEYS with a key at 3).
	ErrBadKeys = errors.New("xsync/slots: cannot find the keys")
	// ErrTopology is returned for a cluster topology reply that cannot be parsed.
	ErrTopology = errors.New("xsync/slots: bad topology reply")
)
