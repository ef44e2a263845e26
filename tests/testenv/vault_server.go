package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// VaultRootToken is the root token of every dev server StartVault runs.
const VaultRootToken = "root"

// Vault is a real Vault dev server (in memory, unsealed, KV v2 mounted at "secret/") on a
// loopback port, run by StartVault and stopped when the test ends.
//
// A dev server keeps everything in memory: after Stop and Restart it is empty again (same
// address, same root token, KV v2 at "secret/" again), so a test that restarts it writes its
// secrets, policies and roles again. Tokens issued before the restart are gone too.
type Vault struct {
	// Addr is the server's URL, e.g. "http://127.0.0.1:40123".
	Addr string
	// Token is the root token (VaultRootToken).
	Token string
	// Client is an API client for Addr authenticated with the root token.
	Client *api.Client
	// Bin is the vault binary, usable as the CLI with Env().
	Bin string

	port int
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *SyncBuffer
}

// StartVault runs `vault server -dev` on a free loopback port, waits until /v1/sys/health
// answers, and stops it on t.Cleanup. On failure the server's output is in the test log.
func StartVault(t testing.TB) *Vault {
	t.Helper()
	bin := VaultBinary(t)
	v := &Vault{Token: VaultRootToken, Bin: bin, dir: t.TempDir()}
	var err error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before vault binds it
		if v.port, err = freePort(); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		v.Addr = "http://127.0.0.1:" + strconv.Itoa(v.port)
		if err = v.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("testenv: start vault: %v", err)
	}
	t.Cleanup(func() {
		v.Stop()
		if t.Failed() {
			t.Logf("vault server output:\n%s", v.out.String())
		}
	})
	cfg := api.DefaultConfig()
	cfg.Address = v.Addr
	cfg.MaxRetries = 0
	if v.Client, err = api.NewClient(cfg); err != nil {
		t.Fatalf("testenv: vault client: %v", err)
	}
	v.Client.SetToken(v.Token)
	return v
}

// Env is the environment for running the vault CLI (v.Bin) against this server as root:
// VAULT_ADDR, VAULT_TOKEN, and a HOME in the test's temp dir so no token helper file is
// written to the real home.
func (v *Vault) Env() []string {
	return []string{
		"VAULT_ADDR=" + v.Addr,
		"VAULT_TOKEN=" + v.Token,
		"HOME=" + v.dir,
		"PATH=" + filepath.Dir(v.Bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
}

func (v *Vault) start() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd != nil {
		return errors.New("already running")
	}
	cmd := exec.Command(v.Bin, "server", "-dev",
		"-dev-root-token-id="+VaultRootToken,
		"-dev-listen-address=127.0.0.1:"+strconv.Itoa(v.port),
		"-dev-no-store-token")
	cmd.Env = []string{"HOME=" + v.dir, "PATH=" + os.Getenv("PATH"), "VAULT_LOG_LEVEL=warn"}
	out := &SyncBuffer{}
	if v.out != nil {
		out = v.out
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	v.cmd, v.done, v.out = cmd, done, out

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := waitHealthy(ctx, v.Addr, done)
	if err != nil {
		cmd.Process.Kill()
		<-done
		v.cmd = nil
		return fmt.Errorf("%w\n%s", err, out.String())
	}
	return nil
}

// waitHealthy polls /v1/sys/health until it answers 200 (initialised, unsealed, active).
func waitHealthy(ctx context.Context, addr string, exited <-chan struct{}) error {
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("vault exited before becoming healthy")
		case <-ctx.Done():
			return fmt.Errorf("vault not healthy at %s: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits for it to exit. Requests
// to Addr fail with "connection refused" until Restart. Stopping a stopped server does nothing.
func (v *Vault) Stop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd == nil {
		return
	}
	v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.done:
	case <-time.After(10 * time.Second):
		v.cmd.Process.Kill()
		<-v.done
	}
	v.cmd = nil
}

// Restart starts a stopped server again on the same address, with the same root token, and
// waits until it is healthy. It comes back EMPTY (a dev server keeps nothing): write the
// secrets, policies and roles the test needs again.
func (v *Vault) Restart(t testing.TB) {
	t.Helper()
	v.Stop()
	var err error
	for attempt := 0; attempt < 20; attempt++ { // the port may linger briefly after exit
		if err = v.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("testenv: restart vault on %s: %v", v.Addr, err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes, e.g. a child process's stdout and
// stderr. The zero value is ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
