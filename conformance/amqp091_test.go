package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// suiteModule is the amqp091-go release whose integration suite must pass.
const suiteModule = "github.com/rabbitmq/amqp091-go@v1.16.0"

// allowedSkips are the suite's tests that may skip: none, now that its
// rabbitmqctl calls reach junction ctl.
var allowedSkips []string

// TestAMQP091Suite runs amqp091-go's own integration suite (go test -tags
// integration) against junction, from a writable copy of the module source
// whose management port, hard-coded to localhost:15672, is pointed at
// junction's management listener.
func TestAMQP091Suite(t *testing.T) {
	if testing.Short() {
		t.Skip("the amqp091-go suite takes minutes; not with -short")
	}
	dir := suiteSource(t)
	out := filepath.Join(os.TempDir(), "junction-amqp091-suite.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-tags", "integration", "-count=1", "-timeout", "20m", "-json", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AMQP_URL="+broker.amqpURL, "RABBITMQ_RABBITMQCTL_PATH="+rabbitmqctlShim(t))
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, runErr := cmd.Output()
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		t.Logf("writing %s: %v", out, err)
	}
	r := summarize(raw)
	t.Logf("amqp091-go %s integration suite against junction: %d passed, %d failed, %d skipped (%d top-level tests); events in %s",
		strings.TrimPrefix(suiteModule, "github.com/rabbitmq/amqp091-go@"), r.pass, len(r.fail), len(r.skip), r.top, out)
	for _, name := range r.fail {
		t.Errorf("FAIL %s\n%s", name, r.output[name])
	}
	for _, name := range r.skip {
		if !slices.Contains(allowedSkips, name) {
			t.Errorf("SKIP %s (only %v may skip)\n%s", name, allowedSkips, r.output[name])
		}
	}
	if runErr != nil && len(r.fail) == 0 {
		t.Errorf("go test in the suite: %v\n%s", runErr, stderr.Bytes())
	}
	if r.pass == 0 {
		t.Errorf("no test of the suite passed\n%s", stderr.Bytes())
	}
}

// rabbitmqctlShim writes an executable that runs `junction ctl` against
// the broker's management listener, for the suite's rabbitmqctl calls
// (RABBITMQ_RABBITMQCTL_PATH: set_vm_memory_high_watermark).
func rabbitmqctlShim(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rabbitmqctl")
	script := fmt.Sprintf("#!/bin/sh\nJUNCTION_ADMIN_URL=%q exec %q ctl \"$@\"\n", "http://"+broker.mgmtAddr, broker.bin)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// suiteResult counts go test -json events.
type suiteResult struct {
	pass, top  int
	fail, skip []string
	output     map[string]string // per test, its output lines
}

// testEvent is one line of go test -json (test2json).
type testEvent struct {
	Action string
	Test   string
	Output string
}

func summarize(raw []byte) suiteResult {
	r := suiteResult{output: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev testEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" {
			continue
		}
		switch ev.Action {
		case "output":
			if len(r.output[ev.Test]) < 16<<10 {
				r.output[ev.Test] += ev.Output
			}
			continue
		case "pass":
			r.pass++
		case "fail":
			r.fail = append(r.fail, ev.Test)
		case "skip":
			r.skip = append(r.skip, ev.Test)
		default:
			continue
		}
		if !strings.Contains(ev.Test, "/") {
			r.top++
		}
	}
	return r
}

// suiteSource copies the module source out of the read-only module cache
// and points its management calls at junction.
func suiteSource(t *testing.T) string {
	t.Helper()
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(modcache)), filepath.FromSlash(suiteModule))
	if _, err := os.Stat(src); err != nil {
		dl := exec.Command("go", "mod", "download", suiteModule)
		dl.Dir = broker.root
		if out, err := dl.CombinedOutput(); err != nil {
			t.Fatalf("go mod download %s: %v\n%s", suiteModule, err, out)
		}
	}
	dst := filepath.Join(t.TempDir(), "amqp091-go")
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	_, mgmtPort, _ := net.SplitHostPort(broker.mgmtAddr)
	patch(t, filepath.Join(dst, "internal", "utils", "http.go"),
		`"http://localhost:15672/`, `"http://`+broker.mgmtAddr+`/`,
		`"http://localhost:"+port`, `"http://127.0.0.1:"+port`)
	patch(t, filepath.Join(dst, "recovery_test.go"), `"15672")`, `"`+mgmtPort+`")`)
	// Three tests run only when the server's product is "RabbitMQ" (and
	// otherwise leave their connection open, which goleak then reports):
	// hold junction to them too.
	patch(t, filepath.Join(dst, "integration_test.go"),
		`product.(string) == "RabbitMQ"`, `(product.(string) == "RabbitMQ" || product.(string) == "Junction")`,
		`server == "RabbitMQ"`, `(server == "RabbitMQ" || server == "Junction")`)
	return dst
}

// patch replaces each old string (pairs old, new) in the file; every one
// must occur, so that a new release that moved them fails loudly.
func patch(t *testing.T, path string, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s: %q not found; has the suite changed?", path, pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies a directory tree, making everything writable (the
// module cache is read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
