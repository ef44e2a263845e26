package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/edgectl/edge/reconcile"
)

// TestStatusHandlerProblems: /status lists every site; ?sites=problems only those not
// serving, and leaves the agent's Status as it was.
func TestStatusHandlerProblems(t *testing.T) {
	w := newStepWorld(t, 0)
	w.site("beta", 1)
	w.keys.errs["edge/beta"] = errors.New("vault: permission denied")
	w.commit("c1", "alpha", "beta", "gamma")
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := reconcile.StatusHandler(w.agent)
	get := func(target string) reconcile.Status {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		var st reconcile.Status
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("GET %s: %v\n%s", target, err, rec.Body)
		}
		return st
	}
	if st := get("/status?sites=problems"); len(st.Sites) != 1 || st.Sites[0].Name != "beta" || st.Sites[0].State != reconcile.SiteFailed || st.Serving.Commit != "c1" {
		t.Errorf("?sites=problems: serving %q, sites %+v; want c1 and beta failed only", st.Serving.Commit, st.Sites)
	}
	if st := get("/status"); len(st.Sites) != 3 {
		t.Errorf("/status after ?sites=problems: %d sites; want all 3", len(st.Sites))
	}
}
