package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr"
)

// planCell is one cell of `runner plan --json`: what the table shows, and
// the resolved settings the cell runs with (the config_json a run records).
type planCell struct {
	Index   int               `json:"index"`
	Label   string            `json:"label"`
	Seed    int64             `json:"seed"`
	Hash    string            `json:"hash"`
	Varying map[string]string `json:"varying"`
	Tags    map[string]string `json:"tags,omitempty"`
	Config  simclr.Config     `json:"config"`
}

// writePlanJSON writes the grid's cells in run order as a JSON array, one
// planCell each, for tools that run a cell elsewhere (bench/crosscheck.sh
// runs one in PyTorch). It reads no database.
func writePlanJSON(w io.Writer, g *grid.Grid) error {
	cells := make([]planCell, len(g.Cells))
	for i, c := range g.Cells {
		varying := c.Varying
		if varying == nil {
			varying = map[string]string{}
		}
		cells[i] = planCell{Index: c.Index, Label: c.Label, Seed: c.Config.Seed, Hash: c.Hash,
			Varying: varying, Tags: c.Tags, Config: c.Config}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cells); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return nil
}
