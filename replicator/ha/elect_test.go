package ha

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	testLease = 1200 * time.Millisecond
	testRenew = 800 * time.Millisecond
	testRetry = 100 * time.Millisecond
)

type candidate struct {
	el      *Election
	cancel  context.CancelFunc
	led     chan struct{} // closed when lead starts
	stopped chan struct{} // closed when lead returns
	result  chan error    // Run's result
}

func campaign(t *testing.T, client *fake.Clientset, id string) *candidate {
	t.Helper()
	el, err := NewElection(ElectionConfig{Client: client.CoordinationV1(), Namespace: "ns", Name: "xsync", Identity: id,
		LeaseDuration: testLease, RenewDeadline: testRenew, RetryPeriod: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{el: el, cancel: cancel, led: make(chan struct{}), stopped: make(chan struct{}), result: make(chan error, 1)}
	go func() {
		c.result <- el.Run(ctx, func(ctx context.Context) error {
			close(c.led)
			<-ctx.Done()
			close(c.stopped)
			return nil
		})
	}()
	t.Cleanup(cancel)
	return c
}

func waitClosed(t *testing.T, ch chan struct{}, d time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-ch:
		return time.Since(start)
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
		return 0
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A graceful stop of the leader releases the Lease at once; the standby takes over.
func TestElectionHandOverOnStop(t *testing.T) {
	client := fake.NewClientset()
	a := campaign(t, client, "pod-a")
	waitClosed(t, a.led, 5*time.Second, "pod-a leads")
	b := campaign(t, client, "pod-b")
	time.Sleep(3 * testLease)
	if isClosed(b.led) {
		t.Fatal("pod-b leads while pod-a holds and renews the lease")
	}
	if !a.el.Leading() || b.el.Leading() || b.el.Leader() != "pod-a" {
		t.Fatalf("leading a=%v b=%v, b sees leader %q", a.el.Leading(), b.el.Leading(), b.el.Leader())
	}
	a.cancel()
	waitClosed(t, a.stopped, 5*time.Second, "pod-a stops")
	if err := <-a.result; err != nil {
		t.Fatalf("pod-a Run = %v, want nil after its context ended", err)
	}
	// Released: pod-b does not wait for the lease to expire.
	took := waitClosed(t, b.led, 5*time.Second, "pod-b takes over")
	if took > testLease {
		t.Fatalf("pod-b took over after %v: the lease was not released", took)
	}
}

// A leader that can no longer renew (API server unreachable for it) stops
// within the renew deadline, and the standby takes over after the lease duration.
func TestElectionLostLease(t *testing.T) {
	client := fake.NewClientset()
	var mu sync.Mutex
	cutOff := false
	client.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if !cutOff {
			return false, nil, nil
		}
		lease := action.(k8stesting.UpdateAction).GetObject()
		if h := holder(lease); h == "pod-a" {
			return true, nil, errors.New("connection refused (test: pod-a cut off from the API server)")
		}
		return false, nil, nil
	})
	a := campaign(t, client, "pod-a")
	waitClosed(t, a.led, 5*time.Second, "pod-a leads")
	b := campaign(t, client, "pod-b")
	time.Sleep(2 * testRetry)
	mu.Lock()
	cutOff = true
	mu.Unlock()
	cut := time.Now()
	waitClosed(t, a.stopped, testRenew+2*time.Second, "pod-a stops after losing the lease")
	if err := <-a.result; !errors.Is(err, ErrLostLease) {
		t.Fatalf("pod-a Run = %v, want ErrLostLease", err)
	}
	waitClosed(t, b.led, testLease+3*time.Second, "pod-b takes over")
	if took := time.Since(cut); took < testLease/2 {
		t.Fatalf("pod-b took over %v after pod-a was cut off: before the lease could expire", took)
	}
	b.cancel()
	waitClosed(t, b.stopped, 5*time.Second, "pod-b stops")
}

// A standby whose context ends returns nil without ever leading.
func TestElectionStandbyStops(t *testing.T) {
	client := fake.NewClientset()
	a := campaign(t, client, "pod-a")
	waitClosed(t, a.led, 5*time.Second, "pod-a leads")
	b := campaign(t, client, "pod-b")
	time.Sleep(2 * testRetry)
	b.cancel()
	select {
	case err := <-b.result:
		if err != nil {
			t.Fatalf("standby Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("standby did not stop")
	}
	if isClosed(b.led) {
		t.Fatal("the standby led")
	}
}

func holder(o runtime.Object) string {
	if l, ok := o.(*coordinationv1.Lease); ok && l.Spec.HolderIdentity != nil {
		return *l.Spec.HolderIdentity
	}
	return ""
}
