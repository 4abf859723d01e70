package verify

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
)

// failingXRange answers every XRANGE with an error.
type failingXRange struct {
	redis.Cmdable
	err error
}

func (f failingXRange) Do(ctx context.Context, args ...any) *redis.Cmd {
	c := redis.NewCmd(ctx, args...)
	c.SetErr(f.err)
	return c
}

// An error reading a later page of a stream is the error returned, not a complaint
// about the reply that did not come.
func TestStreamDigestPageError(t *testing.T) {
	ctx := context.Background()
	first := redis.NewCmd(ctx, "XRANGE")
	first.SetVal([]any{[]any{"1-1", []any{"f", "v"}}})
	p := &pager{key: "s", typ: "stream", first: first, cfg: &Config{PageSize: 1}}
	want := errors.New("connection reset")
	_, err := p.streamDigest(ctx, failingXRange{err: want})
	if !errors.Is(err, want) {
		t.Fatalf("streamDigest = %v, want %v", err, want)
	}
}
