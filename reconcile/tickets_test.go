package reconcile_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/tests/testenv"
)

// installed records the key sets a TicketSync installed.
type installed struct {
	mu   sync.Mutex
	sets [][][32]byte
}

func (i *installed) install(keys [][32]byte) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.sets = append(i.sets, append([][32]byte(nil), keys...))
	return nil
}

func (i *installed) last() [][32]byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.sets) == 0 {
		return nil
	}
	return i.sets[len(i.sets)-1]
}

// syncAgent is one agent's TicketSync on a real Vault with the example policy.
type syncAgent struct {
	got installed
	reg *prometheus.Registry
}

func startSync(t *testing.T, ctx context.Context, v *testenv.Vault, token string, rotation time.Duration) *syncAgent {
	t.Helper()
	vk, err := keysource.NewVault(ctx, keysource.VaultConfig{Address: v.Addr, Token: token, Attempts: 1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vk.Close() })
	a := &syncAgent{reg: prometheus.NewRegistry()}
	s, err := reconcile.NewTicketSync(reconcile.TicketSyncOptions{Store: vk, Path: keysource.DefaultTicketKeysPath,
		Rotation: rotation, Install: a.got.install, Registerer: a.reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { <-done })
	return a
}

func (a *syncAgent) gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestTicketSyncSharesAndRotates runs three agents' TicketSyncs on one real Vault with the
// example policy: they install the same keys, each version is written by exactly one of
// them, a rotation keeps the old current key as previous and promotes next; Vault losing the
// secret gets the fleet's keys back, not new ones; Vault down keeps the keys serving.
func TestTicketSyncSharesAndRotates(t *testing.T) {
	t.Parallel()
	v := testenv.StartVault(t)
	hcl, err := os.ReadFile("../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	v.WritePolicy(t, "edge", string(hcl))
	tok := v.CreateToken(t, []string{"edge"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const rotation = time.Second
	agents := []*syncAgent{startSync(t, ctx, v, tok, rotation), startSync(t, ctx, v, tok, rotation), startSync(t, ctx, v, tok, rotation)}
	all := func(name string, cond func(float64) bool) func() bool {
		return func() bool {
			for _, a := range agents {
				if !cond(a.gauge(t, name)) {
					return false
				}
			}
			return true
		}
	}
	waitUntil(t, "all on version 3 or later", all("edge_session_ticket_keys_version", func(v float64) bool { return v >= 3 }))
	checkRotations(t, v, agents)

	// Vault loses the secret: the agents write it again from the keys they serve.
	serving := agents[0].got.last()
	if err := v.Client.KVv2("secret").DeleteMetadata(ctx, "edge/_fleet/session-tickets"); err != nil {
		t.Fatal(err)
	}
	var back *keysource.TicketKeys
	waitUntil(t, "keys written again", func() bool {
		k, err := ticketVersion(v, 0)
		back = &k
		return err == nil
	})
	if back.Current != serving[0] && back.Current != serving[1] {
		t.Error("after Vault lost the secret, the fleet wrote new keys, not the ones it serves")
	}

	// Vault down: every agent keeps what it has, and says so.
	v.Stop()
	kept := make([][32]byte, len(agents))
	for i, a := range agents {
		kept[i] = a.got.last()[0]
	}
	waitUntil(t, "errors counted by every agent", all("edge_session_ticket_keys_errors_total", func(v float64) bool { return v > 0 }))
	for i, a := range agents {
		if a.got.last()[0] != kept[i] {
			t.Errorf("agent %d changed its encrypting key while Vault was down", i)
		}
	}
}

// ticketVersion reads version n (0: latest) of the keys as root.
func ticketVersion(v *testenv.Vault, n int) (keysource.TicketKeys, error) {
	vk, err := keysource.NewVault(context.Background(), keysource.VaultConfig{Address: v.Addr, Token: v.Token, Attempts: 1})
	if err != nil {
		return keysource.TicketKeys{}, err
	}
	defer vk.Close()
	if n == 0 {
		return vk.TicketKeys(context.Background(), keysource.DefaultTicketKeysPath)
	}
	s, err := v.Client.KVv2("secret").GetVersion(context.Background(), "edge/_fleet/session-tickets", n)
	if err != nil {
		return keysource.TicketKeys{}, err
	}
	var k keysource.TicketKeys
	for name, dst := range map[string]*[32]byte{"current": &k.Current, "next": &k.Next, "previous": &k.Previous} {
		b, _ := base64.StdEncoding.DecodeString(s.Data[name].(string))
		copy(dst[:], b)
	}
	return k, nil
}

// checkRotations checks the versions in Vault chain (current is the old next, previous the
// old current), each was written by one agent, and every agent serves its version's keys.
func checkRotations(t *testing.T, v *testenv.Vault, agents []*syncAgent) {
	t.Helper()
	var written float64
	for _, a := range agents {
		written += a.gauge(t, "edge_session_ticket_keys_rotations_total")
	}
	md, err := v.Client.KVv2("secret").GetMetadata(context.Background(), "edge/_fleet/session-tickets")
	if err != nil {
		t.Fatal(err)
	}
	// Every version was written by one agent; one more may be in flight since the metadata.
	if n := float64(md.CurrentVersion); written < n || written > n+1 {
		t.Errorf("%v versions written by the agents for %v versions in vault: one written twice or lost", written, n)
	}
	versions := make([]keysource.TicketKeys, md.CurrentVersion+1)
	for n := 1; n <= md.CurrentVersion; n++ {
		if versions[n], err = ticketVersion(v, n); err != nil {
			t.Fatal(err)
		}
		if n > 1 && (versions[n].Current != versions[n-1].Next || versions[n].Previous != versions[n-1].Current) {
			t.Errorf("version %d: current is not version %d's next, or previous not its current", n, n-1)
		}
	}
	for i, a := range agents {
		n := int(a.gauge(t, "edge_session_ticket_keys_version"))
		if n <= md.CurrentVersion {
			k := versions[n]
			if got := a.got.last(); got[0] != k.Current || got[1] != k.Next || got[2] != k.Previous {
				t.Errorf("agent %d serves other keys than version %d's", i, n)
			}
		}
	}
	t.Logf("%d versions; rotations written per agent: %v %v %v; vault reads of agent 0: %v", md.CurrentVersion,
		agents[0].gauge(t, "edge_session_ticket_keys_rotations_total"), agents[1].gauge(t, "edge_session_ticket_keys_rotations_total"),
		agents[2].gauge(t, "edge_session_ticket_keys_rotations_total"), agents[0].gauge(t, "edge_session_ticket_keys_vault_reads_total"))
}
