package grid

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkParseFigure5 parses and validates the 49-cell pairwise grid.
func BenchmarkParseFigure5(b *testing.B) {
	src, err := os.ReadFile("testdata/good/figure5.toml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("figure5.toml", src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse10000 expands, validates and hashes a grid at the default
// limit: 10 000 cells.
func BenchmarkParse10000(b *testing.B) {
	var src strings.Builder
	src.WriteString("name = \"big\"\nseeds = [1, 2, 3, 4]\n[grid]\n")
	for _, ax := range []struct {
		key string
		n   int
	}{{"epochs", 5}, {"width", 10}, {"proj_dim", 10}, {"batch_size", 5}} {
		fmt.Fprintf(&src, "%s = [%s]\n", ax.key, intList(2, 2+ax.n))
	}
	if g, err := Parse("big.toml", []byte(src.String()), Options{}); err != nil || len(g.Cells) != DefaultMaxCells {
		b.Fatalf("Parse(big grid) = %v, want %d cells", err, DefaultMaxCells)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("big.toml", []byte(src.String()), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
