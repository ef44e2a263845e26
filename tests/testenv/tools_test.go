package testenv

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestCachedToolsBuild builds every tool the suite builds from source (Vault, Pebble and its
// challenge server, h2spec) and runs each once. tests/run.sh runs it on its own before the
// rest of the suite, so the first build on a fresh machine (Vault: about 10 minutes on 2
// idle cores, much longer on a busy one) is not charged to the timeout of whichever test
// packages happen to wait for it; in the suite proper it finds the cache and returns.
func TestCachedToolsBuild(t *testing.T) {
	for _, tool := range []*cachedTool{&vaultTool, &pebbleTool, &challSrvTool, &h2specTool} {
		t.Run(tool.what, func(t *testing.T) {
			bin := tool.get(t)
			if !isExecutable(bin) {
				t.Fatalf("%s: %s is not an executable file", tool.what, bin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, helpArg(tool)).CombinedOutput()
			if len(out) == 0 {
				t.Fatalf("%s: %s %s printed nothing (%v)", tool.what, bin, helpArg(tool), err)
			}
		})
	}
}

// helpArg is an argument each tool answers at once, without serving anything.
func helpArg(tool *cachedTool) string {
	if tool == &vaultTool {
		return "version"
	}
	return "-h"
}
