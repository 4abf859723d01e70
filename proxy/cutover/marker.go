package cutover

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/slots"
)

// ReadMarker reads the cutover marker key (written on the destination just
// before the switch) from a cluster or standalone server given by seeds. ok is
// false when the key does not exist. A gateway that starts must not forward to the
// source once it exists, whatever a restarted replicating xsync says.
func ReadMarker(ctx context.Context, seeds []string, o conn.Options, key string) (val string, ok bool, err error) {
	slot := slots.SlotString(key)
	var errs []error
	for _, seed := range seeds {
		o.Addr = seed
		c, err := conn.Dial(ctx, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		addr := seed
		if v, err := c.Do(ctx, "CLUSTER", "SHARDS"); err == nil {
			topo, err := slots.ParseClusterShards(v)
			if err != nil {
				c.Close()
				return "", false, err
			}
			if n, found := slots.NewTable(topo).Primary(slot); found && n.Addr != "" && !strings.HasPrefix(n.Addr, ":") {
				addr = n.Addr
			}
		}
		if addr != seed {
			c.Close()
			o.Addr = addr
			if c, err = conn.Dial(ctx, o); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		v, err := c.Do(ctx, "GET", key)
		c.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v.Null {
			return "", false, nil
		}
		return string(v.Str), true, nil
	}
	return "", false, fmt.Errorf("xsync/cutover: reading the cutover marker %s: %w", key, errors.Join(errs...))
}

// MarkDone records a cutover done before this process started (the marker
// exists): XSYNC CUTOVER then answers that it is done, and followers switch.
func (c *Coordinator) MarkDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != StateDone {
		c.state = StateDone
		c.epoch++
	}
}
