package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/schema/sitegen"
)

// TestValidateEvalTimeout: a site file of legitimate but large data (3,300 redirects, just
// under the data subset's 10,000 values) evaluated under a tiny --eval-timeout is refused
// with a diagnostic at its file:1:1, and validate exits 1. (Its evaluation takes hundreds of
// milliseconds; the same file with the default limits is valid. The memory limit is tested
// with a real bomb against real worker processes in the schema package: within the data
// subset no file needs more than about 70 MiB, so the binary cannot be driven past it.)
func TestValidateEvalTimeout(t *testing.T) {
	dir := t.TempDir()
	repo, err := sitegen.WriteRepo(dir, 1, sitegen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	name := repo.Sites[0].Name
	host := repo.Sites[0].Hosts[0]
	var b strings.Builder
	fmt.Fprintf(&b, "package edge\n\nsites: %s: {\n\thosts: [%q]\n\tcert: \"certs/%s.pem\"\n\tkey: path: \"edge/%s\"\n", name, host, name, name)
	b.WriteString("\troutes: \"/\": upstreams: [\"http://127.0.0.1:3001\"]\n\tredirects: [\n")
	for i := 0; i < 3300; i++ {
		fmt.Fprintf(&b, "\t\t{path: \"/old%d\", to: \"https://%s/new%d\"},\n", i, host, i)
	}
	b.WriteString("\t]\n}\n")
	file := filepath.Join("sites", name+".cue")
	if err := os.WriteFile(filepath.Join(dir, file), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		cmd := exec.Command(edgectl(t), append([]string{"validate"}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return stdout.String(), 0
		case errors.As(err, &ee):
			return stdout.String() + stderr.String(), ee.ExitCode()
		}
		t.Fatalf("edgectl validate: %v", err)
		return "", 0
	}
	if out, code := run(dir); code != 0 {
		t.Fatalf("with the default limits: exit %d; want 0 (the file is valid)\n%s", code, out)
	}
	out, code := run("--eval-timeout", "5ms", dir)
	if code != 1 {
		t.Fatalf("exit %d; want status 1\n%s", code, out)
	}
	want := filepath.Join(dir, file) + ":1:1: error: evaluation took longer than 5ms"
	if !strings.Contains(out, want) {
		t.Errorf("output:\n%s\nwant a line starting %q", out, want)
	}
}

// TestValidateStopsOnSIGTERM: validate receiving SIGTERM while it evaluates a big repo exits
// non-zero with a short message and leaves no evaluation process behind.
func TestValidateStopsOnSIGTERM(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	if _, err := sitegen.WriteRepo(dir, 3000, sitegen.Options{}); err != nil {
		t.Fatal(err)
	}
	needCUE(t, filepath.Join(dir, "sites"))
	cmd := exec.Command(edgectl(t), "validate", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Mid-run: once validate has started an evaluation process.
	var kids []string
	deadline := time.Now().Add(2 * time.Minute) // failure backstop only
	for len(kids) == 0 {
		select {
		case err := <-done:
			t.Fatalf("validate ended before it started an evaluation process: %v\n%s%s", err, stdout.String(), stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("validate started no evaluation process")
		}
		kids = procChildren(cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute): // failure backstop only
		cmd.Process.Kill()
		t.Fatal("validate did not exit after SIGTERM")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit %v; want a non-zero status\nstdout:\n%s", err, stdout.String())
	}
	if got := strings.TrimSpace(stderr.String()); got != "edgectl validate: interrupted" {
		t.Errorf("stderr %q; want \"edgectl validate: interrupted\"", got)
	}
	for _, pid := range kids {
		if b, err := os.ReadFile("/proc/" + pid + "/cmdline"); err == nil && bytes.Contains(b, []byte("edgectl")) {
			t.Errorf("evaluation process %s still runs after validate exited", pid)
		}
	}
}

// procChildren lists the child pids of process pid.
func procChildren(pid int) []string {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var kids []string
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err == nil {
			kids = append(kids, strings.Fields(string(b))...)
		}
	}
	return kids
}

// needCUE rewrites every site file of dir so that the plain-data fast path declines it and
// CUE evaluates it in a worker process: the upstream's "h" is written as a \u escape, which
// CUE reads as the same string and the fast path does not take.
func needCUE(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.cue"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no site files in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		nb := bytes.Replace(b, []byte(`upstreams: ["http://`), []byte(`upstreams: ["\u0068ttp://`), 1)
		if bytes.Equal(nb, b) {
			t.Fatalf("%s: no upstream to rewrite:\n%s", f, b)
		}
		if err := os.WriteFile(f, nb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
