package grid

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/good/*.golden from the current output")

// TestGolden checks the plan of every grid in testdata/good against its
// .golden file; go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no grids in testdata/good: %v", err)
	}
	for _, path := range files {
		g, err := Load(path, Options{})
		if err != nil {
			t.Errorf("Load(%q): %v", path, err)
			continue
		}
		checkCells(t, g)
		var buf bytes.Buffer
		if err := g.WritePlan(&buf); err != nil {
			t.Fatalf("WritePlan(%q): %v", path, err)
		}
		golden := strings.TrimSuffix(path, ".toml") + ".golden"
		if *update {
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("WritePlan(%q) =\n%s\nwant (%s)\n%s", path, buf.Bytes(), golden, want)
		}
	}
}

// TestShippedGrids loads every grid in experiments/: a grid we ship must
// expand and validate, and stay within its own cell limit.
func TestShippedGrids(t *testing.T) {
	files, err := filepath.Glob("../../experiments/*.toml")
	if err != nil || len(files) < 5 {
		t.Fatalf("want the five shipped grids in experiments/, got %v (%v)", files, err)
	}
	for _, path := range files {
		g, err := Load(path, Options{})
		if err != nil {
			t.Errorf("Load(%q): %v", path, err)
			continue
		}
		checkCells(t, g)
	}
}
