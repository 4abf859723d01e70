package ha

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
)

// leaseServer answers the part of the Kubernetes API that client-go's
// leaderelection uses: get, create and update of coordination.k8s.io/v1
// Leases, with resourceVersion conflicts as the API server has them. It stands
// in for the API server (which is not the system under test); Redis is real.
type leaseServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	leases map[string]*coordinationv1.Lease // by namespace/name
	rv     int64
	// updates counts successful writes per holder identity.
	updates map[string]int
}

func startLeaseServer(t *testing.T) *leaseServer {
	ls := &leaseServer{leases: map[string]*coordinationv1.Lease{}, updates: map[string]int{}}
	ls.srv = httptest.NewServer(http.HandlerFunc(ls.serve))
	t.Cleanup(ls.srv.Close)
	return ls
}

// kubeconfig writes a kubeconfig that points at the server.
func (ls *leaseServer) kubeconfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
contexts:
- name: test
  context:
    cluster: test
    user: test
users:
- name: test
  user: {}
current-context: test
`, ls.srv.URL)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// holder returns the holder identity and the transitions of a lease.
func (ls *leaseServer) holder(ns, name string) (string, int32) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.leases[ns+"/"+name]
	if l == nil || l.Spec.HolderIdentity == nil {
		return "", 0
	}
	var tr int32
	if l.Spec.LeaseTransitions != nil {
		tr = *l.Spec.LeaseTransitions
	}
	return *l.Spec.HolderIdentity, tr
}

const leasePrefix = "/apis/coordination.k8s.io/v1/namespaces/"

func (ls *leaseServer) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, leasePrefix)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || parts[1] != "leases" {
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "no such resource: "+r.URL.Path)
		return
	}
	ns := parts[0]
	ls.mu.Lock()
	defer ls.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && len(parts) == 3:
		l := ls.leases[ns+"/"+parts[2]]
		if l == nil {
			status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "leases \""+parts[2]+"\" not found")
			return
		}
		reply(w, http.StatusOK, l)
	case r.Method == http.MethodPost && len(parts) == 2:
		l, err := decodeLease(r)
		if err != nil {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
		key := ns + "/" + l.Name
		if ls.leases[key] != nil {
			status(w, http.StatusConflict, metav1.StatusReasonAlreadyExists, "leases \""+l.Name+"\" already exists")
			return
		}
		ls.store(key, ns, l)
		reply(w, http.StatusCreated, l)
	case r.Method == http.MethodPut && len(parts) == 3:
		l, err := decodeLease(r)
		if err != nil {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
		key := ns + "/" + parts[2]
		cur := ls.leases[key]
		if cur == nil {
			status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "leases \""+parts[2]+"\" not found")
			return
		}
		if l.ResourceVersion != cur.ResourceVersion {
			status(w, http.StatusConflict, metav1.StatusReasonConflict, "the object has been modified; please apply your changes to the latest version and try again")
			return
		}
		ls.store(key, ns, l)
		reply(w, http.StatusOK, l)
	default:
		status(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, r.Method+" "+r.URL.Path)
	}
}

func (ls *leaseServer) store(key, ns string, l *coordinationv1.Lease) {
	ls.rv++
	l.Namespace = ns
	l.ResourceVersion = strconv.FormatInt(ls.rv, 10)
	l.APIVersion, l.Kind = "coordination.k8s.io/v1", "Lease"
	ls.leases[key] = l
	if l.Spec.HolderIdentity != nil {
		ls.updates[*l.Spec.HolderIdentity]++
	}
}

// decodeLease reads a Lease in whichever encoding client-go sent (protobuf by
// default for built-in types, or JSON).
func decodeLease(r *http.Request) (*coordinationv1.Lease, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		return nil, err
	}
	l, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return nil, fmt.Errorf("not a Lease: %T", obj)
	}
	return l, nil
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func status(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	reply(w, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	})
}
