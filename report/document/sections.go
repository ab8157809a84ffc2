package document

import (
	"fmt"
	"sort"

	"github.com/simclr-ablate/simclr-ablate/report/stats"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// pair is an ordered pair of transforms: first, second.
type pair [2]string

// pairwise is the Figure 5 matrix of an experiment.
type pairwise struct {
	// Protocol is where the pairs went: protocolOneBranch (Figure 5) or
	// protocolBoth. The matrix holds the rows of one protocol, the first
	// row's; Other counts the pair rows of the other, left out.
	Protocol   string
	Other      int
	Transforms []string // rows and columns, in grid order
	Rows       map[pair][]*row
	Cells      map[pair]stats.Summary // headline F1 pooled over the pair's rows
	RowMean    []float64              // mean of each row's cell means
	Pooled     bool                   // some pair has several rows (other settings vary)
	// CropFirst and Uncropped count the pair rows whose views are cropped
	// before the pair (Figure 5; augment = [crop, t1, t2]) and those that
	// are not (protocol both with crop_first = false; [t1, t2]).
	CropFirst, Uncropped int
}

// cropsFirst reports whether a pair row's views are cropped before the
// pair: augment is [crop, t1, t2], or [crop, t] on the diagonal.
func cropsFirst(c []string, p pair) bool {
	n := 3
	if p[0] == p[1] {
		n = 2
	}
	return len(c) == n && c[0] == "crop"
}

// views says how the matrix's views were made beyond its protocol: ""
// when every view is cropped first (Figure 5), "no crop first" when none
// is, "crop first in N of M cells" when the rows differ.
func (pw *pairwise) views() string {
	switch {
	case pw.Uncropped == 0:
		return ""
	case pw.CropFirst == 0:
		return "no crop first"
	}
	return fmt.Sprintf("crop first in %d of %d cells", pw.CropFirst, pw.CropFirst+pw.Uncropped)
}

// findPairwise builds the matrix from the SimCLR rows of the Figure 5
// protocol, or returns nil when there are fewer than two.
func findPairwise(rows []*row, k evalKind) *pairwise {
	pw := &pairwise{Rows: map[pair][]*row{}, Cells: map[pair]stats.Summary{}}
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			pw.Transforms = append(pw.Transforms, t)
		}
	}
	var seconds []string
	for _, rw := range rows {
		a, b, protocol, ok := pairOf(rw)
		if !ok {
			continue
		}
		if pw.Protocol == "" {
			pw.Protocol = protocol
		}
		if protocol != pw.Protocol {
			pw.Other++ // pooling two protocols would mix two experiments
			continue
		}
		add(a)
		seconds = append(seconds, b)
		p := pair{a, b}
		if cropsFirst(rw.Config.Augment, p) {
			pw.CropFirst++
		} else {
			pw.Uncropped++
		}
		pw.Rows[p] = append(pw.Rows[p], rw)
	}
	if len(pw.Rows) < 2 {
		return nil
	}
	for _, t := range seconds {
		add(t)
	}
	for p, rs := range pw.Rows {
		pw.Cells[p] = pool(rs, k, "")
		pw.Pooled = pw.Pooled || len(rs) > 1
	}
	for _, a := range pw.Transforms {
		var ms []float64
		for _, b := range pw.Transforms {
			if s, ok := pw.Cells[pair{a, b}]; ok {
				ms = append(ms, s.Mean)
			}
		}
		pw.RowMean = append(pw.RowMean, mean(ms))
	}
	return pw
}

// pairName is "crop+color", or "crop" on the diagonal: the runner's labels.
func pairName(p pair) string {
	if p[0] == p[1] {
		return p[0]
	}
	return p[0] + "+" + p[1]
}

// headKey is a projection head and its output dimension (0 for none).
type headKey struct {
	Head string
	Dim  int
}

func (h headKey) String() string {
	if h.Head == "none" {
		return "none (z = h)"
	}
	return h.Head + " " + itoa(h.Dim)
}

// heads is the projection-head comparison of an experiment.
type heads struct {
	Keys   []headKey // by head (none, linear, nonlinear), then dim
	Rows   map[headKey][]*row
	H, Z   map[headKey]stats.Summary
	HasZ   bool
	Pooled bool
}

func headOrder(h string) int {
	for i, x := range config.Heads {
		if x == h {
			return i
		}
	}
	return len(config.Heads)
}

// findHeads groups the SimCLR rows by (head, output dim) when at least two
// such pairs exist or some run was evaluated on z; else nil.
func findHeads(rows []*row, k evalKind) *heads {
	hs := &heads{Rows: map[headKey][]*row{}, H: map[headKey]stats.Summary{}, Z: map[headKey]stats.Summary{}}
	for _, rw := range rows {
		if rw.Method != config.MethodSimCLR {
			continue
		}
		key := headKey{rw.Config.Head, rw.Config.ProjDim}
		if key.Head == "none" {
			key.Dim = 0
		}
		if _, ok := hs.Rows[key]; !ok {
			hs.Keys = append(hs.Keys, key)
		}
		hs.Rows[key] = append(hs.Rows[key], rw)
	}
	for _, key := range hs.Keys {
		hs.H[key] = pool(hs.Rows[key], k, "h")
		hs.Z[key] = pool(hs.Rows[key], k, "z")
		hs.HasZ = hs.HasZ || (hs.Z[key].N > 0 && key.Head != "none")
		hs.Pooled = hs.Pooled || len(hs.Rows[key]) > 1
	}
	if len(hs.Keys) < 2 && !hs.HasZ {
		return nil
	}
	sort.Slice(hs.Keys, func(i, j int) bool {
		a, b := hs.Keys[i], hs.Keys[j]
		if a.Head != b.Head {
			return headOrder(a.Head) < headOrder(b.Head)
		}
		return a.Dim < b.Dim
	})
	return hs
}

// scaleKey is a batch size and a training length (epochs or steps).
type scaleKey struct {
	Batch, Epochs int
}

// scaling is the batch size × training length comparison of an
// experiment.
type scaling struct {
	// Unit is what Epochs counts: "epochs", or "steps" when every SimCLR
	// row gives its length in steps (an equal-steps grid). Other counts
	// the rows of the other unit, left out.
	Unit            string
	Other           int
	Batches, Epochs []int // sorted
	Rows            map[scaleKey][]*row
	Cells           map[scaleKey]stats.Summary
	Pooled          bool
}

// findScaling groups the SimCLR rows by (batch size, training length)
// when either takes at least two values; else nil.
func findScaling(rows []*row, k evalKind) *scaling {
	sc := &scaling{Unit: "steps", Rows: map[scaleKey][]*row{}, Cells: map[scaleKey]stats.Summary{}}
	batches, epochs := map[int]bool{}, map[int]bool{}
	for _, rw := range rows {
		if rw.Method == config.MethodSimCLR && rw.Config.Steps == 0 {
			sc.Unit = "epochs"
		}
	}
	for _, rw := range rows {
		if rw.Method != config.MethodSimCLR {
			continue
		}
		key := scaleKey{rw.Config.BatchSize, rw.Config.Epochs}
		if sc.Unit == "steps" {
			key.Epochs = rw.Config.Steps
		} else if rw.Config.Steps > 0 {
			sc.Other++ // a length in steps is not a number of epochs
			continue
		}
		sc.Rows[key] = append(sc.Rows[key], rw)
		batches[key.Batch], epochs[key.Epochs] = true, true
	}
	if len(batches) < 2 && len(epochs) < 2 {
		return nil
	}
	sc.Batches, sc.Epochs = sortedInts(batches), sortedInts(epochs)
	for key, rs := range sc.Rows {
		sc.Cells[key] = pool(rs, k, "")
		sc.Pooled = sc.Pooled || len(rs) > 1
	}
	return sc
}

func sortedInts(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
