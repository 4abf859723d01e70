package fidelity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/slots"
)

// master returns the index of the source master that serves a unit (by its
// first command with a key; keyless units go to master 0, or every master).
func (e *env) master(cmd []string) int {
	args := make([][]byte, len(cmd))
	for i, a := range cmd {
		args[i] = []byte(a)
	}
	idx, err := slots.KeyIndexes(args, nil)
	if err != nil || len(idx) == 0 {
		return -1
	}
	return e.slotMaster(cmd[idx[0]])
}

func anyArgs(c []string) []any {
	out := make([]any, len(c))
	for i, a := range c {
		out[i] = a
	}
	return out
}

// exec sends a unit to the source. Error replies are the workload's
// business (a command refused on the source propagates nothing); a lost
// connection is returned.
func (e *env) exec(ctx context.Context, u Unit) error {
	m := -1
	for _, c := range u.Cmds {
		if m = e.master(c); m >= 0 {
			break
		}
	}
	targets := []int{max(m, 0)}
	if m < 0 && len(e.conns) > 1 {
		targets = targets[:0]
		for i := range e.conns {
			targets = append(targets, i)
		}
	}
	for _, i := range targets {
		if err := e.execOn(ctx, i, u); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) execOn(ctx context.Context, i int, u Unit) error {
	c := e.conns[i]
	if u.Blocking {
		return e.blocking(ctx, i, u)
	}
	for _, cmd := range u.Cmds {
		err := c.Do(ctx, anyArgs(cmd)...).Err()
		if err != nil && !errors.Is(err, redis.Nil) && !isReply(err) {
			return fmt.Errorf("xsync/fidelity: %s: %w", quoteCmd(cmd), err)
		}
	}
	return nil
}

// isReply reports whether err is an error reply (not a connection error).
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

// blocking runs u.Cmds[0] on a second connection, waits until the server
// has it blocked (or it returned), then runs the push that serves it.
func (e *env) blocking(ctx context.Context, i int, u Unit) error {
	m := e.srcMasters[i]
	// A client of its own: a pooled connection would go back to the pool
	// with the db SELECTed.
	o := *m.Options()
	o.PoolSize = 1
	side := redis.NewClient(&o)
	defer side.Close()
	if err := side.Ping(ctx).Err(); err != nil {
		return err
	}
	conn := side.Conn()
	defer conn.Close()
	if err := conn.Do(ctx, "SELECT", e.currentDB(i)).Err(); err != nil {
		return err
	}
	id, err := conn.ClientID(ctx).Result()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- conn.Do(ctx, anyArgs(u.Cmds[0])...).Err() }()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			done <- nil
			deadline = time.Time{}
			continue
		default:
		}
		if n, _ := blockedClients(ctx, m); n > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond) // polling INFO clients, bounded by the deadline
	}
	pushErr := e.conns[i].Do(ctx, anyArgs(u.Cmds[1])...).Err()
	if pushErr != nil && !isReply(pushErr) {
		return pushErr
	}
	if pushErr != nil {
		// The push was refused (the key holds another type): nothing serves
		// the pop, so end it as its timeout would (CLIENT UNBLOCK,
		// networking.c clientCommand); it changed nothing.
		if err := e.conns[i].Do(ctx, "CLIENT", "UNBLOCK", id).Err(); err != nil && !isReply(err) {
			return err
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		n, _ := blockedClients(ctx, m)
		return fmt.Errorf("xsync/fidelity: %s still blocked (db %s) after %s: %v; blocked_clients %d", quoteCmd(u.Cmds[0]), e.currentDB(i), quoteCmd(u.Cmds[1]), pushErr, n)
	}
	return nil
}

func blockedClients(ctx context.Context, c *redis.Client) (int, error) {
	s, err := c.Info(ctx, "clients").Result()
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "blocked_clients:"); ok {
			var n int
			fmt.Sscan(v, &n)
			return n, nil
		}
	}
	return 0, nil
}

// currentDB is the db the fuzzer's connection i has selected.
func (e *env) currentDB(i int) string {
	ctx := context.Background()
	c := e.conns[i]
	v, err := c.Do(ctx, "CLIENT", "INFO").Text()
	if err != nil {
		// Before 6.2 there is no CLIENT INFO: find this connection's line
		// of CLIENT LIST by its id.
		id, ierr := c.ClientID(ctx).Result()
		list, lerr := c.ClientList(ctx).Result()
		if ierr != nil || lerr != nil {
			return "0"
		}
		prefix := "id=" + strconv.FormatInt(id, 10) + " "
		v = ""
		for _, l := range strings.Split(list, "\n") {
			if strings.HasPrefix(l, prefix) {
				v = l
			}
		}
	}
	for _, f := range strings.Fields(v) {
		if d, ok := strings.CutPrefix(f, "db="); ok {
			return d
		}
	}
	return "0"
}

// dump returns a DUMP payload of key from the source (for RESTORE).
func (e *env) dump(key string) (string, bool) {
	m := e.slotMaster(key)
	v, err := e.conns[m].Dump(context.Background(), key).Result()
	return v, err == nil
}
