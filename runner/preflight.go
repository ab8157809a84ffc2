package main

import (
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr/data"
)

// preflight checks what grid.Load cannot see from the file alone: that
// the dataset files of every cell are where its settings say (data.Check),
// before the first cell starts, so that a missing folder is one line
// naming the file, line and key (exit status 2) rather than a cell that
// fails after the others ran. Cells that read the same data are checked
// once.
func preflight(g *grid.Grid) error {
	type source struct{ dataset, path, testPath string }
	seen := make(map[source]bool)
	for i := range g.Cells {
		cfg := &g.Cells[i].Config
		src := source{cfg.Dataset, cfg.Path, cfg.TestPath}
		if seen[src] {
			continue
		}
		seen[src] = true
		if err := data.Check(*cfg); err != nil {
			return g.CellError(i, err)
		}
	}
	return nil
}
