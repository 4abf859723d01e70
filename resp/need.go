package resp

// ParseCommandNeed is ParseCommand that also says, when buf holds only part of
// the command (err is ErrIncomplete), how long buf must be before parsing again
// can succeed: need is a lower bound on the length of the whole command, known
// from the headers already in buf (a bulk's declared length counts in full).
// A server that waits for need bytes before it looks at its buffer again reads
// a large declared bulk in time linear in its size. need is 0 otherwise.
func ParseCommandNeed(buf []byte, dst [][]byte, lim *Limits) (args [][]byte, n, need int, err error) {
	s := scanner{buf: buf, lim: lim.withDefaults()}
	args, n, err = s.command(dst)
	if err == ErrIncomplete {
		return args, 0, s.need, err
	}
	if err != nil {
		return args, 0, 0, err
	}
	return args, n, 0, nil
}

// SetLimits changes the limits of r from its next call on (zero fields take the
// defaults): a server raises them once its client has authenticated.
func (r *Reader) SetLimits(lim Limits) { r.lim = lim.withDefaults() }
