package grid

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
)

// WritePlan writes the cells as a text table, one cell a line, in run
// order: index, seed, hash, label, the varying settings (Grid.Varying),
// then the tags of any cell. It is what `runner plan` prints.
func (g *Grid) WritePlan(w io.Writer) error {
	var tags []string
	for _, c := range g.Cells {
		for k := range c.Tags {
			if !slices.Contains(tags, k) {
				tags = append(tags, k)
			}
		}
	}
	slices.Sort(tags)

	if _, err := fmt.Fprintf(w, "%s: %s (%s) from %s\n", g.Name, count(len(g.Cells), "cell"), count(len(g.Seeds), "seed"), g.Path); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := append([]string{"#", "seed", "hash", "label"}, g.Varying...)
	writeRow(tw, append(head, tags...))
	for _, c := range g.Cells {
		row := []string{strconv.Itoa(c.Index), strconv.FormatInt(c.Config.Seed, 10), c.Hash, c.Label}
		for _, k := range g.Varying {
			row = append(row, c.Varying[k])
		}
		for _, k := range tags {
			v := c.Tags[k]
			if v == "" {
				v = "-"
			}
			row = append(row, v)
		}
		writeRow(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

func writeRow(w io.Writer, cols []string) {
	for i, c := range cols {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		io.WriteString(w, c)
	}
	io.WriteString(w, "\n")
}
