package main

import (
	"os"
	"testing"

	"github.com/edgectl/edge/schema"
)

// TestMain lets this test binary serve as the evaluation worker of the commands it runs
// in-process (validate, plan and the agent evaluate config files in child processes).
func TestMain(m *testing.M) {
	schema.RunEvalWorkerIfRequested()
	os.Exit(m.Run())
}
