package amqp091_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// specPath is the spec relative to this package's directory.
const specPath = "../../../shared/spec/amqp091/amqp-rabbitmq-0.9.1.json"

// TestGeneratedUpToDate regenerates methods.go into a temp file and
// compares it with the committed one, as `make generate` would.
func TestGeneratedUpToDate(t *testing.T) {
	if _, err := os.Stat(specPath); err != nil {
		t.Skipf("spec not found: %v", err)
	}
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	out := filepath.Join(t.TempDir(), "methods.go")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goTool, "run", "./gen", "-spec", specPath, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("methods.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("methods.go is stale: run `make generate` (or go generate ./protocol/...) and commit it")
	}
}
