package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestPlanJSON checks `runner plan --json`: one object a cell in the
// table's order, each config the one the grid resolves (valid, hashing to
// the cell's hash, carrying its seed), --set applied, and no database
// opened or created.
func TestPlanJSON(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none", "results.db")
	stdout, stderr := mustRun(t, 0, "plan", "testdata/plan.toml", "--json", "--db", db, "--set", "epochs=3")
	if stderr != "" {
		t.Errorf("plan --json stderr = %q, want nothing", stderr)
	}
	var cells []planCell
	if err := json.Unmarshal([]byte(stdout), &cells); err != nil {
		t.Fatalf("plan --json output is not a JSON array of cells: %v\n%s", err, stdout)
	}
	g := loadGrid(t, "testdata/plan.toml", "epochs=3")
	if len(cells) != len(g.Cells) {
		t.Fatalf("plan --json gave %d cells, want %d", len(cells), len(g.Cells))
	}
	for i, c := range cells {
		want := g.Cells[i]
		if c.Index != want.Index || c.Label != want.Label || c.Hash != want.Hash || c.Seed != want.Config.Seed {
			t.Errorf("cell %d = index %d label %q hash %s seed %d, want %d %q %s %d",
				i, c.Index, c.Label, c.Hash, c.Seed, want.Index, want.Label, want.Hash, want.Config.Seed)
		}
		if err := c.Config.Validate(); err != nil {
			t.Errorf("cell %d: config does not validate: %v", i, err)
		}
		if got := c.Config.Hash(); got != c.Hash {
			t.Errorf("cell %d: config hashes to %s, want the cell's %s", i, got, c.Hash)
		}
		if c.Config.Seed != c.Seed {
			t.Errorf("cell %d: config seed %d, cell seed %d", i, c.Config.Seed, c.Seed)
		}
		if c.Config.Epochs != 3 {
			t.Errorf("cell %d: epochs = %d, want 3 from --set", i, c.Config.Epochs)
		}
		if len(c.Varying) != len(want.Varying) {
			t.Errorf("cell %d: varying = %v, want %v", i, c.Varying, want.Varying)
		}
	}
	if _, err := os.Stat(filepath.Dir(db)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plan --json created %s (stat: %v); it must never create the database", filepath.Dir(db), err)
	}
}
