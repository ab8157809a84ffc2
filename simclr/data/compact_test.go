package data

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// gray8Fixture is an 8-bit grayscale set of n images of h×w with random
// pixels and labels.
func gray8Fixture(n, h, w int) gray8 {
	rng := rand.New(rand.NewPCG(1, 2))
	g := gray8{s: &Set{N: n, C: 1, H: h, W: w, Labels: make([]int, n), Classes: slices.Clone(MNISTClasses)}, pix: make([]byte, n*h*w)}
	for i := range g.pix {
		g.pix[i] = byte(rng.IntN(256))
	}
	for i := range g.s.Labels {
		g.s.Labels[i] = rng.IntN(10)
	}
	return g
}

// TestCompactIsExact: a compacted subset renders the same images, bit for
// bit, as the subset it compacts (and so as the old materialized
// pretraining set), keeps only its own images' pixels, and stays lazy
// where its images are rendered from 8-bit pixels.
func TestCompactIsExact(t *testing.T) {
	synth, _, err := syntheticLazy(40, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{17, 3, 3, 39, 0, 22, 8} // unsorted, with a repeat
	for _, tc := range []struct {
		name     string
		set      func() *Set
		wantLazy bool
	}{
		{"grayscale (mnist, fashion-mnist)", func() *Set { return gray8Fixture(40, 5, 4).lazy() }, true},
		{"colour (fashion-mnist-color)", func() *Set { return colorize(gray8Fixture(40, 5, 4), 7, 1) }, true},
		{"synthetic", func() *Set { return synth }, false},
		{"materialized", func() *Set { return colorize(gray8Fixture(40, 5, 4), 7, 0).Materialize() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := tc.set()
			sub := parent.Subset(idx)
			want := sub.Materialize()
			got := sub.Compact()
			if got.Lazy() != tc.wantLazy {
				t.Fatalf("Compact: lazy %v, want %v", got.Lazy(), tc.wantLazy)
			}
			if got.Checksum() != want.Checksum() || !slices.Equal(got.Labels, want.Labels) || got.N != len(idx) {
				t.Fatalf("Compact of a subset: checksum %s, labels %v; want %s, %v (the subset's, bit for bit)",
					got.Checksum(), got.Labels, want.Checksum(), want.Labels)
			}
			if got.Lazy() {
				if len(got.pix.pix) != len(idx)*got.H*got.W {
					t.Errorf("Compact keeps %d bytes of pixels, want its own %d images' %d", len(got.pix.pix), len(idx), len(idx)*got.H*got.W)
				}
				if again := got.Compact(); again != got {
					t.Error("Compact of a compact set made a new set, want the same")
				}
			}
			// Subsets of the compact set and the compact of a subset of a
			// subset pick the same images as the parent's subsets.
			pick := []int{6, 0, 2}
			if a, b := got.Subset(pick).Compact(), parent.Subset(idx).Subset(pick).Compact(); a.Checksum() != sub.Subset(pick).Checksum() || b.Checksum() != a.Checksum() {
				t.Error("a subset of the compact set, or the compact of a subset of a subset, differs from the subset's images")
			}
		})
	}
}

// TestCompactDropsParent: once compacted, a subset no longer keeps its
// parent's pixels alive: the live heap it holds grows with the subset,
// not with the set it was cut from.
func TestCompactDropsParent(t *testing.T) {
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	const n, side = 20000, 28
	before := live()
	set := colorize(gray8Fixture(n, side, side), 1, 0)
	sub := RandomSubset(set, n/20, 1).Compact()
	set = nil
	held := live() - before
	runtime.KeepAlive(sub)
	// The subset's own pixels are n/20·side² bytes (784 KB); its
	// parent's 15.7 MB, and rendered it is 9.4 MB.
	if limit := int64(n/20*side*side) * 2; held > limit {
		t.Errorf("a compacted subset of %d of %d images holds %d KB, want < %d KB (its own pixels, not its parent's)", n/20, n, held>>10, limit>>10)
	}
}

// TestByteValue: the lookup table of 8-bit pixel values holds what the
// division gave, bit for bit.
func TestByteValue(t *testing.T) {
	for v := range 256 {
		if got, want := byteValue[v], float32(byte(v))/255; math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("byteValue[%d] = %v, want %v", v, got, want)
		}
	}
}
