package grid

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fuzzAxes are the axes FuzzExpand draws from, each with distinct values
// written as TOML.
var fuzzAxes = []struct {
	key  string
	vals []string
}{
	{"temperature", []string{"0.05", "0.1", "0.2", "0.5"}},
	{"batch_size", []string{"16", "32", "64", "128"}},
	{"epochs", []string{"0", "1", "2", "3"}},
	{"augment", []string{`["crop"]`, `["crop", "color"]`, `["blur"]`, `[]`}},
	{"head", []string{`"none"`, `"linear"`, `"nonlinear"`}},
}

// byteReader hands out the fuzzer's bytes, then zeros.
type byteReader []byte

func (r *byteReader) next(n int) int {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return int(b) % n
}

// fuzzDim is one dimension of the expansion for the oracle: the seeds,
// the rows, or an axis.
type fuzzDim struct{ size int }

// fuzzRule excludes the cells whose index in dimension dim[i] is val[i]
// for every i.
type fuzzRule struct{ dim, val []int }

// FuzzExpand builds grid files from the fuzzer's bytes — axes, seeds,
// variants, a pairwise block and exclude rules — and checks that Parse
// never panics and returns exactly seeds × rows × Π axes minus the cells
// some rule matches, counted independently by enumerating index tuples.
func FuzzExpand(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 0, 1, 3, 1, 2, 1, 0, 2, 1, 0, 1, 1})
	f.Add([]byte{3, 4, 3, 2, 2, 1, 3, 2, 0, 2, 2, 0, 3, 1, 1, 0, 0, 2, 1})
	f.Add([]byte{1, 3, 3, 0, 0, 2, 0, 2, 1, 2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, spec []byte) {
		r := byteReader(spec)
		var src strings.Builder
		src.WriteString("name = \"fuzz\"\n")

		nSeeds := 1 + r.next(3)
		src.WriteString("seeds = [")
		for i := range nSeeds {
			if i > 0 {
				src.WriteString(", ")
			}
			fmt.Fprint(&src, i+1)
		}
		src.WriteString("]\n")

		// dims[0] is the seeds, dims[1] the rows, then the axes.
		dims := []fuzzDim{{nSeeds}, {1}}
		var axisKeys []string
		var axisVals [][]string
		hasAugment := false
		pool := []int{0, 1, 2, 3, 4}
		nAxes := r.next(4)
		if nAxes > 0 {
			src.WriteString("[grid]\n")
		}
		for range nAxes {
			k := r.next(len(pool))
			ax := fuzzAxes[pool[k]]
			pool = append(pool[:k], pool[k+1:]...)
			n := 1 + r.next(len(ax.vals))
			rot := r.next(len(ax.vals))
			var vals []string
			for i := range n {
				vals = append(vals, ax.vals[(i+rot)%len(ax.vals)])
			}
			fmt.Fprintf(&src, "%s = [%s]\n", ax.key, strings.Join(vals, ", "))
			axisKeys, axisVals = append(axisKeys, ax.key), append(axisVals, vals)
			dims = append(dims, fuzzDim{n})
			hasAugment = hasAugment || ax.key == "augment"
		}

		var rowLabels []string
		firstSeedOnly := map[int]bool{} // rows outside [pairwise] focus
		nVariants := r.next(3)
		for i := range nVariants {
			label := fmt.Sprintf("v%d", i)
			fmt.Fprintf(&src, "[[variant]]\nlabel = %q\nwidth = %d\n", label, 8*(i+1))
			rowLabels = append(rowLabels, label)
		}
		if !hasAugment && r.next(2) == 0 {
			ts := []string{"crop", "color", "blur"}[:1+r.next(3)]
			fmt.Fprintf(&src, "[pairwise]\ntransforms = [\"%s\"]\n", strings.Join(ts, `", "`))
			focus := r.next(2) == 0
			if focus {
				fmt.Fprintf(&src, "focus = [%q]\n", ts[0])
			}
			for _, a := range ts {
				for _, b := range ts {
					if focus && a != b && a != ts[0] && b != ts[0] {
						firstSeedOnly[len(rowLabels)] = true
					}
					if a == b {
						rowLabels = append(rowLabels, a)
					} else {
						rowLabels = append(rowLabels, a+"+"+b)
					}
				}
			}
		}
		if len(rowLabels) > 0 {
			dims[1].size = len(rowLabels)
		}

		var rules []fuzzRule
		for range r.next(4) {
			var rule fuzzRule
			var body strings.Builder
			for range 1 + r.next(2) {
				d := r.next(len(dims))
				if d == 1 && len(rowLabels) == 0 || containsInt(rule.dim, d) {
					continue
				}
				v := r.next(dims[d].size)
				switch d {
				case 0:
					fmt.Fprintf(&body, "seed = %d\n", v+1)
				case 1:
					fmt.Fprintf(&body, "label = %q\n", rowLabels[v])
				default:
					fmt.Fprintf(&body, "%s = %s\n", axisKeys[d-2], axisVals[d-2][v])
				}
				rule.dim, rule.val = append(rule.dim, d), append(rule.val, v)
			}
			if len(rule.dim) > 0 {
				src.WriteString("[[exclude]]\n" + body.String())
				rules = append(rules, rule)
			}
		}

		// The oracle: enumerate every index tuple (but a row outside the
		// focus only at the first seed), count those no rule matches.
		total, kept := 1, 0
		hits := make([]int, len(rules))
		for _, d := range dims {
			total *= d.size
		}
		idx := make([]int, len(dims))
		for range total {
			excluded := false
			for j, rule := range rules {
				match := true
				for i, d := range rule.dim {
					match = match && idx[d] == rule.val[i]
				}
				excluded = excluded || match
				if match && !(idx[0] > 0 && firstSeedOnly[idx[1]]) {
					hits[j]++
				}
			}
			if !excluded && !(idx[0] > 0 && firstSeedOnly[idx[1]]) {
				kept++
			}
			for k := len(idx) - 1; k >= 0; k-- {
				if idx[k]++; idx[k] < dims[k].size {
					break
				}
				idx[k] = 0
			}
		}

		g, err := Parse("fuzz.toml", []byte(src.String()), Options{})
		if slices.Contains(hits, 0) {
			if err == nil || !strings.Contains(err.Error(), "matches no cell") {
				t.Fatalf("Parse(%q) = %v, want a rule that matches no cell", src.String(), err)
			}
			return
		}
		if kept == 0 {
			if err == nil || !strings.Contains(err.Error(), "every cell is excluded") {
				t.Fatalf("Parse(%q) = %v, want every cell excluded", src.String(), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", src.String(), err)
		}
		if len(g.Cells) != kept {
			t.Fatalf("Parse(%q) = %d cells, want %d (%d before exclusions)", src.String(), len(g.Cells), kept, total)
		}
		checkCells(t, g)
	})
}

func containsInt(list []int, x int) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// FuzzParse feeds arbitrary files and --set arguments to Parse: it must
// never panic, and what it accepts must be a valid grid.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, path := range files {
			if src, err := os.ReadFile(path); err == nil {
				f.Add(src, "epochs=1")
			}
		}
	}
	f.Add([]byte("name = \"x\"\n[grid]\naugment = [[\"crop\"]]\n"), "augment=[crop,color]")
	f.Fuzz(func(t *testing.T, src []byte, set string) {
		opt := Options{MaxCells: 500}
		if set != "" {
			opt.Set = []string{set}
		}
		g, err := Parse("fuzz.toml", src, opt)
		if err != nil {
			if s := err.Error(); strings.ContainsAny(s, "\r\n") {
				t.Fatalf("Parse error %q is not one line", s)
			}
			return
		}
		if len(g.Cells) == 0 || len(g.Cells) > opt.MaxCells {
			t.Fatalf("Parse(%q) = %d cells, want 1 to %d", src, len(g.Cells), opt.MaxCells)
		}
		checkCells(t, g)
	})
}
