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
	for path, g := range loadGrids(t, "testdata/good/*.toml", 1) {
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
	loadGrids(t, "../../experiments/*.toml", 5)
}

// loadGrids loads every grid matching pattern (at least atLeast of them),
// checks each one's cells, and returns them by path; a grid that fails
// to load is an error and left out.
func loadGrids(t *testing.T, pattern string, atLeast int) map[string]*Grid {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) < atLeast {
		t.Fatalf("want at least %d grids matching %s, got %v (%v)", atLeast, pattern, files, err)
	}
	out := make(map[string]*Grid, len(files))
	for _, path := range files {
		g, err := Load(path, Options{})
		if err != nil {
			t.Errorf("Load(%q): %v", path, err)
			continue
		}
		checkCells(t, g)
		out[path] = g
	}
	return out
}
