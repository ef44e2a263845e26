package testenv

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// GitSSH is a real OpenSSH server (sshd) on a loopback port, run as the current user with a
// temporary host key, letting one generated client key in. Git over SSH runs the
// git-upload-pack found on the server's PATH. Start one with StartGitSSH; it stops when the
// test ends.
type GitSSH struct {
	// URL is the repository's SSH URL, e.g. "ssh://runner@127.0.0.1:40222/tmp/x/config.git".
	URL string
	// Addr is "127.0.0.1:port".
	Addr string
	// KeyFile is the client's private key (OpenSSH format, unencrypted).
	KeyFile string
	// KnownHostsFile lists the server's host key for Addr ("[127.0.0.1]:port ssh-ed25519 ...").
	KnownHostsFile string
	// OtherKnownHostsFile lists a different key for Addr: a client using it must refuse
	// the server (host key mismatch).
	OtherKnownHostsFile string

	proc serverProc
}

// StartGitSSH runs sshd (Debian package openssh-server; the test is skipped without it,
// failed when CI=true) exporting repoDir (for a GitRepo: r.Bare) and stops it on
// t.Cleanup. When run as root it creates /run/sshd, sshd's privilege separation directory,
// if missing.
func StartGitSSH(t testing.TB, repoDir string) *GitSSH {
	t.Helper()
	return StartGitSSHCommand(t, repoDir, "")
}

// StartGitSSHCommand is StartGitSSH with the client key's sessions forced to run command
// (an authorized_keys command= option; the client's command is in $SSH_ORIGINAL_COMMAND),
// e.g. a script standing in for git-upload-pack. Empty means none.
func StartGitSSHCommand(t testing.TB, repoDir, command string) *GitSSH {
	t.Helper()
	GitBinary(t)
	sshd := findSSHD(t)
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("testenv: current user: %v", err)
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	dir := t.TempDir()
	g := &GitSSH{
		KeyFile:             filepath.Join(dir, "client_key"),
		KnownHostsFile:      filepath.Join(dir, "known_hosts"),
		OtherKnownHostsFile: filepath.Join(dir, "other_known_hosts"),
	}
	hostPub := writeSSHKey(t, filepath.Join(dir, "host_key"))
	clientPub := writeSSHKey(t, g.KeyFile)
	otherPub := writeSSHKey(t, filepath.Join(dir, "other_host_key"))
	authorized := ssh.MarshalAuthorizedKey(clientPub)
	if command != "" {
		authorized = append([]byte(`command="`+strings.ReplaceAll(command, `"`, `\"`)+`" `), authorized...)
	}
	gitWriteFile(t, filepath.Join(dir, "authorized_keys"), authorized)

	g.proc = serverProc{name: "sshd"}
	port := g.proc.startOnFreePort(t, func(port int) *exec.Cmd {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		host := knownhosts.Normalize(addr)
		gitWriteFile(t, g.KnownHostsFile, []byte(knownhosts.Line([]string{host}, hostPub)+"\n"))
		gitWriteFile(t, g.OtherKnownHostsFile, []byte(knownhosts.Line([]string{host}, otherPub)+"\n"))
		confFile := filepath.Join(dir, "sshd_config")
		gitWriteFile(t, confFile, []byte(sshdConfig(port, dir, u.Username)))
		return exec.Command(sshd, "-D", "-e", "-f", confFile)
	}, waitSSH)
	g.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	g.URL = "ssh://" + u.Username + "@" + g.Addr + abs
	return g
}

// sshdConfig is the configuration of a test sshd on port, its files in dir, letting
// user in with a key only.
func sshdConfig(port int, dir, user string) string {
	return strings.Join([]string{
		"Port " + fmt.Sprint(port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_key"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"AllowUsers " + user,
		"StrictModes no",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"LogLevel ERROR",
	}, "\n") + "\n"
}

// Stop stops sshd (SIGTERM, then SIGKILL after 5s). Stopping a stopped server does nothing.
func (g *GitSSH) Stop() { g.proc.stop() }

func findSSHD(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p := NeedTool(t, "sshd", "openssh-server")
	if !filepath.IsAbs(p) {
		p, _ = filepath.Abs(p)
	}
	return p
}

// waitSSH waits until addr answers with an SSH banner, or the server exited.
func waitSSH(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && strings.HasPrefix(line, "SSH-") {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no SSH banner on %s after 10s", addr)
}

// writeSSHKey writes a new ed25519 private key in OpenSSH format to path and returns its
// public key.
func writeSSHKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return sp
}

func gitWriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
