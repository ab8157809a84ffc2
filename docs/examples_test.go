package docs

import (
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"

	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// TestGridExamples parses every ```toml block of the documents as a grid
// file: an example a reader copies must be one the runner accepts.
func TestGridExamples(t *testing.T) {
	n := 0
	for _, name := range documents(t) {
		d, err := parse(repo(), name)
		if err != nil {
			t.Fatal(err)
		}
		_ = ast.Walk(d.root, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
			b, ok := node.(*ast.FencedCodeBlock)
			if !entering || !ok || string(b.Language(d.src)) != "toml" {
				return ast.WalkContinue, nil
			}
			if b.Lines().Len() == 0 {
				t.Errorf("%s: empty TOML example", name)
				return ast.WalkSkipChildren, nil
			}
			// Blank lines up to the block's first line, so that the
			// grid's errors give the document's line numbers.
			first := d.line(b.Lines().At(0).Start)
			src := []byte(strings.Repeat("\n", first-1))
			for i := range b.Lines().Len() {
				seg := b.Lines().At(i)
				src = append(src, seg.Value(d.src)...)
			}
			g, err := grid.Parse(name, src, grid.Options{})
			if err != nil {
				t.Errorf("the example at %s:%d is not a valid grid: %v", name, first, err)
			} else {
				t.Logf("%s:%d: grid %q, %d cells", name, first, g.Name, len(g.Cells))
			}
			n++
			return ast.WalkSkipChildren, nil
		})
	}
	if n < 2 {
		t.Errorf("found %d TOML examples, want at least the README's and grids.md's", n)
	}
}

// TestSettingsDocumented checks grids.md's settings table against
// config.Names(): every setting a grid may write is in the table's first
// column, and the column names nothing else.
func TestSettingsDocumented(t *testing.T) {
	d, err := parse(repo(), "docs/grids.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := settingsTable(d)
	if len(documented) == 0 {
		t.Fatal("docs/grids.md: no table under the heading Settings")
	}
	valid := []string{"seeds"} // grids list seeds; the setting seed is never written
	for _, name := range config.Names() {
		if name != "seed" {
			valid = append(valid, name)
		}
	}
	for _, name := range valid {
		if !slices.Contains(documented, name) {
			t.Errorf("docs/grids.md: the settings table lacks the setting %s", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(valid, name) {
			t.Errorf("docs/grids.md: the settings table names %s, which is not a setting", name)
		}
	}
}

// settingsTable returns the code spans of the first column of the first
// table after the heading "Settings".
func settingsTable(d *doc) []string {
	var names []string
	inSection, done := false, false
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || done {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			inSection = d.plain(n) == "Settings"
			return ast.WalkSkipChildren, nil
		case *east.Table:
			if !inSection {
				return ast.WalkSkipChildren, nil
			}
			for row := n.FirstChild(); row != nil; row = row.NextSibling() {
				if _, ok := row.(*east.TableRow); !ok {
					continue // the header
				}
				for c := row.FirstChild().FirstChild(); c != nil; c = c.NextSibling() {
					if _, ok := c.(*ast.CodeSpan); ok {
						names = append(names, d.plain(c))
					}
				}
			}
			done = true
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return names
}
