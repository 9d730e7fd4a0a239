package config

import (
	"os"
	"strings"
	"testing"
)

// TestReferenceUpToDate fails when REFERENCE.md differs from Reference();
// regenerate with `go run ./config/gendoc > config/REFERENCE.md`.
func TestReferenceUpToDate(t *testing.T) {
	got, err := os.ReadFile("REFERENCE.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != Reference() {
		t.Error("config/REFERENCE.md is stale: run go run ./config/gendoc > config/REFERENCE.md")
	}
	for _, s := range settings {
		if !strings.Contains(Reference(), "`"+envName(s.name)+"`") {
			t.Errorf("reference lacks %s", s.name)
		}
	}
}
