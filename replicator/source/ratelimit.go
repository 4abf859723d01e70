package source

import (
	"context"
	"io"
	"time"
)

// tokenBucket limits a byte rate. Tokens may go negative (debt): a reader takes what
// it read and then waits until the debt is paid, so it never reads ahead of the rate
// by more than one burst.
type tokenBucket struct {
	rate   float64 // tokens (bytes) per second
	burst  float64
	tokens float64
	last   time.Time
	clock  Clock
}

func newTokenBucket(rate int64, clock Clock) *tokenBucket {
	burst := max(float64(rate)/10, 16<<10)
	return &tokenBucket{rate: float64(rate), burst: burst, tokens: burst, last: clock.Now(), clock: clock}
}

// take removes n tokens and waits while the bucket is in debt.
func (b *tokenBucket) take(ctx context.Context, n int) error {
	now := b.clock.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return nil
	}
	wait := time.Duration(-b.tokens / b.rate * float64(time.Second))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.clock.After(wait):
		return nil
	}
}

// maxRead bounds one read so that a burst stays small.
func (b *tokenBucket) maxRead() int { return int(b.burst) }

// rateReader reads from r at most at the bucket's rate.
type rateReader struct {
	ctx context.Context
	r   io.Reader
	b   *tokenBucket
}

func (rr *rateReader) Read(p []byte) (int, error) {
	if m := rr.b.maxRead(); len(p) > m {
		p = p[:m]
	}
	n, err := rr.r.Read(p)
	if n > 0 {
		if werr := rr.b.take(rr.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}
