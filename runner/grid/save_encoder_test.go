package grid

import (
	"strings"
	"testing"
)

// TestSaveEncoderKeepsIdentity: save_encoder is a setting like any other
// in a grid, but it does not change a cell's hash, so two cells that
// differ only in it are one cell.
func TestSaveEncoderKeepsIdentity(t *testing.T) {
	const src = "name = \"e\"\n[base]\ndataset = \"synthetic\"\n"
	plain := mustParse(t, src, Options{})
	kept := mustParse(t, src+"save_encoder = true\n", Options{})
	set := mustParse(t, src, Options{Set: []string{"save_encoder=true"}})
	for _, g := range []*Grid{kept, set} {
		if !g.Cells[0].Config.SaveEncoder {
			t.Errorf("save_encoder = true gave SaveEncoder false")
		}
		if g.Cells[0].Hash != plain.Cells[0].Hash {
			t.Errorf("hash with save_encoder = %s, without %s: want the same cell", g.Cells[0].Hash, plain.Cells[0].Hash)
		}
	}

	_, err := Parse("t.toml", []byte(src+"[grid]\nsave_encoder = [false, true]\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "save_encoder does not make a cell different") {
		t.Errorf("an axis of save_encoder = %v, want a duplicate-cell error that says why", err)
	}
	_, err = Parse("t.toml", []byte(src+"save_encoder = \"yes\"\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "expected a boolean") {
		t.Errorf(`save_encoder = "yes" = %v, want a type error naming a boolean`, err)
	}
}
