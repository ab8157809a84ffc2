package data

import (
	"fmt"
	"slices"
	"testing"
)

// smallSet is a 2×1×2×3 set whose pixels count up by 0.01.
func smallSet() *Set {
	s := &Set{N: 4, C: 2, H: 1, W: 3, Labels: []int{0, 1, 1, 2}, Classes: []string{"a", "b", "c"}}
	s.Images = make([]float32, 4*6)
	for i := range s.Images {
		s.Images[i] = float32(i) / 100
	}
	return s
}

// labelledSet has per[k] images of class k; pixel value = image index.
func labelledSet(per []int) *Set {
	s := &Set{C: 1, H: 1, W: 1}
	for k, n := range per {
		s.Classes = append(s.Classes, string(rune('a'+k)))
		for range n {
			s.Images = append(s.Images, float32(s.N))
			s.Labels = append(s.Labels, k)
			s.N++
		}
	}
	return s
}

func TestImageIsView(t *testing.T) {
	s := smallSet()
	im := s.Image(2)
	if want := []float32{0.12, 0.13, 0.14, 0.15, 0.16, 0.17}; !slices.Equal(im, want) {
		t.Fatalf("Image(2) = %v, want %v", im, want)
	}
	im[0] = 9
	if s.Images[12] != 9 {
		t.Errorf("Image(2)[0] = 9 left Images[12] = %v, want 9 (a view, not a copy)", s.Images[12])
	}
	if len(im) != cap(im) {
		t.Errorf("Image(2) has cap %d, want len %d (appending must not overwrite image 3)", cap(im), len(im))
	}
}

func TestImagePanicsOutOfRange(t *testing.T) {
	for _, i := range []int{-1, 4} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Image(%d) on a 4-image set did not panic", i)
				}
			}()
			smallSet().Image(i)
		}()
	}
}

func TestSubsetCopies(t *testing.T) {
	s := smallSet()
	sub := s.Subset([]int{3, 0, 3})
	if sub.N != 3 || sub.C != 2 || sub.H != 1 || sub.W != 3 {
		t.Fatalf("Subset shape = %d×%d×%d×%d, want 3×2×1×3", sub.N, sub.C, sub.H, sub.W)
	}
	if want := []int{2, 0, 2}; !slices.Equal(sub.Labels, want) {
		t.Errorf("Subset labels = %v, want %v", sub.Labels, want)
	}
	if !slices.Equal(sub.Image(0), s.Image(3)) || !slices.Equal(sub.Image(1), s.Image(0)) {
		t.Errorf("Subset images = %v, want images 3, 0, 3 of %v", sub.Images, s.Images)
	}
	sub.Images[0] = 42
	sub.Classes[0] = "z"
	if s.Images[18] == 42 || s.Classes[0] == "z" {
		t.Error("writing to a Subset changed the original set")
	}
}

// lazyCopy returns a lazy set rendering s's images.
func lazyCopy(s *Set) *Set {
	l := *s
	l.Images = nil
	l.render = func(i int, dst []float32) { copy(dst, s.Image(i)) }
	return &l
}

func TestCopyImages(t *testing.T) {
	s := smallSet() // 4 images of 6 pixels
	for _, set := range []*Set{s, lazyCopy(s)} {
		for _, tt := range []struct {
			lo, dst, want int // first image, len(dst), images copied
		}{
			{0, 24, 4}, {1, 12, 2}, {3, 12, 1}, {4, 12, 0}, {0, 11, 1}, {2, 5, 0}, {0, 30, 4},
		} {
			dst := make([]float32, tt.dst)
			for i := range dst {
				dst[i] = -1
			}
			n := set.CopyImages(dst, tt.lo)
			if n != tt.want {
				t.Errorf("lazy %v: CopyImages(%d values, %d) = %d, want %d", set.Lazy(), tt.dst, tt.lo, n, tt.want)
				continue
			}
			if !slices.Equal(dst[:n*6], s.Images[tt.lo*6:(tt.lo+n)*6]) {
				t.Errorf("lazy %v: CopyImages(%d values, %d) copied %v, want images %d… of %v", set.Lazy(), tt.dst, tt.lo, dst[:n*6], tt.lo, s.Images)
			}
			for _, v := range dst[n*6:] {
				if v != -1 {
					t.Errorf("lazy %v: CopyImages(%d values, %d) wrote %v past its %d images", set.Lazy(), tt.dst, tt.lo, dst[n*6:], n)
					break
				}
			}
		}
		for _, lo := range []int{-1, 5} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("lazy %v: CopyImages(dst, %d) on a 4-image set did not panic", set.Lazy(), lo)
					}
				}()
				set.CopyImages(make([]float32, 6), lo)
			}()
		}
	}
}

func TestSubsetOfLazyIsLazy(t *testing.T) {
	s := smallSet()
	lazy := lazyCopy(s)
	idx := []int{3, 0, 3, 2}
	sub := lazy.Subset(idx)
	if !sub.Lazy() || sub.Images != nil {
		t.Fatalf("Subset of a lazy set: lazy %v, %d values in Images; want lazy, none", sub.Lazy(), len(sub.Images))
	}
	want := s.Subset(idx)
	if !slices.Equal(sub.Materialize().Images, want.Images) || !slices.Equal(sub.Labels, want.Labels) || sub.Checksum() != want.Checksum() {
		t.Errorf("Subset of the lazy set = %v %v, want %v %v", sub.Materialize().Images, sub.Labels, want.Images, want.Labels)
	}
	idx[0] = 1 // the subset keeps its own indices
	if !slices.Equal(sub.Image(0), s.Image(3)) {
		t.Error("changing the index slice after Subset changed the lazy subset")
	}
	subsub := sub.Subset([]int{1, 3})
	if !subsub.Lazy() || !slices.Equal(subsub.Materialize().Images, s.Subset([]int{0, 2}).Images) {
		t.Error("a subset of a lazy subset differs from the images it picks")
	}
	if m := sub.Materialize(); m.Lazy() || len(m.Images) != 4*6 {
		t.Errorf("Materialize of a lazy subset: lazy %v, %d values; want 24 values", m.Lazy(), len(m.Images))
	}
}

func TestChecksum(t *testing.T) {
	s := smallSet()
	// Golden, computed independently in Python:
	//   sha256(b"simclr-data/v1" + struct.pack("<4I", 4, 2, 1, 3)
	//          + b"".join(struct.pack("<f", i/100) for i in range(24))
	//          + struct.pack("<4i", 0, 1, 1, 2))
	// A change here changes every recorded run's provenance.
	const golden = "9dd440ccdf70876426b158f10701181c3e14d33a783fdf4bf2987e9ed71f6a0f"
	if got := s.Checksum(); got != golden {
		t.Errorf("Checksum() = %s, want %s", got, golden)
	}
	if s.Checksum() != smallSet().Checksum() {
		t.Error("Checksum() differs between two equal sets")
	}
	changes := map[string]func(*Set){
		"pixel":  func(s *Set) { s.Images[5] += 1e-7 },
		"label":  func(s *Set) { s.Labels[1] = 2 },
		"shape":  func(s *Set) { s.H, s.W = 3, 1 },
		"count":  func(s *Set) { s.N, s.Images, s.Labels = 3, s.Images[:18], s.Labels[:3] },
		"labels": func(s *Set) { s.Labels[0], s.Labels[3] = s.Labels[3], s.Labels[0] },
	}
	for name, change := range changes {
		c := smallSet()
		change(c)
		if c.Checksum() == golden {
			t.Errorf("Checksum() unchanged after changing the %s", name)
		}
	}
	c := smallSet()
	c.Classes = []string{"x", "y", "z"}
	if c.Checksum() != golden {
		t.Error("Checksum() changed with the class names, want shape, pixels and labels only")
	}
}

func TestRandomSubset(t *testing.T) {
	s := labelledSet([]int{50, 30, 20})
	for _, n := range []int{0, -3, 100, 150} {
		if got := RandomSubset(s, n, 1); got != s {
			t.Errorf("RandomSubset(100 images, %d, 1) returned a new set, want the set itself", n)
		}
	}
	a := RandomSubset(s, 10, 7)
	if a.N != 10 || len(a.Labels) != 10 || len(a.Images) != 10 {
		t.Fatalf("RandomSubset(100 images, 10, 7) has N = %d, %d labels, %d pixels, want 10 each", a.N, len(a.Labels), len(a.Images))
	}
	if !slices.IsSorted(a.Images) {
		t.Errorf("RandomSubset(100 images, 10, 7) picked %v, want them in their original order", a.Images)
	}
	if len(slices.Compact(slices.Clone(a.Images))) != 10 {
		t.Errorf("RandomSubset(100 images, 10, 7) picked %v, want 10 distinct images", a.Images)
	}
	for j, v := range a.Images {
		if a.Labels[j] != s.Labels[int(v)] {
			t.Errorf("RandomSubset image %v has label %d, want %d", v, a.Labels[j], s.Labels[int(v)])
		}
	}
	if b := RandomSubset(s, 10, 7); !slices.Equal(a.Images, b.Images) {
		t.Errorf("RandomSubset(s, 10, 7) = %v then %v, want the same", a.Images, b.Images)
	}
	if b := RandomSubset(s, 10, 8); slices.Equal(a.Images, b.Images) {
		t.Errorf("RandomSubset with seeds 7 and 8 both picked %v, want different subsets", a.Images)
	}
}

func TestStratifiedFraction(t *testing.T) {
	tests := []struct {
		per  []int
		frac float64
		want []int
	}{
		{[]int{100, 100, 100}, 0.1, []int{10, 10, 10}},
		{[]int{100, 40, 3}, 0.1, []int{10, 4, 1}},
		{[]int{100, 40, 3}, 0.01, []int{1, 1, 1}},
		{[]int{7, 0, 5}, 0.5, []int{4, 0, 3}}, // round half away from zero; empty classes stay empty
		{[]int{1, 1}, 0.3, []int{1, 1}},
	}
	for _, tt := range tests {
		s := labelledSet(tt.per)
		got, err := StratifiedFraction(s, tt.frac, 3)
		if err != nil {
			t.Fatalf("StratifiedFraction(%v, %g, 3) error: %v", tt.per, tt.frac, err)
		}
		counts := make([]int, len(tt.per))
		for _, l := range got.Labels {
			counts[l]++
		}
		if !slices.Equal(counts, tt.want) {
			t.Errorf("StratifiedFraction(%v, %g, 3) per-class counts = %v, want %v", tt.per, tt.frac, counts, tt.want)
		}
		if !slices.IsSorted(got.Images) {
			t.Errorf("StratifiedFraction(%v, %g, 3) = %v, want original order", tt.per, tt.frac, got.Images)
		}
		again, _ := StratifiedFraction(s, tt.frac, 3)
		if !slices.Equal(got.Images, again.Images) {
			t.Errorf("StratifiedFraction(%v, %g, 3) differs between calls", tt.per, tt.frac)
		}
	}
	s := labelledSet([]int{100, 100})
	a, _ := StratifiedFraction(s, 0.1, 1)
	b, _ := StratifiedFraction(s, 0.1, 2)
	if slices.Equal(a.Images, b.Images) {
		t.Errorf("StratifiedFraction with seeds 1 and 2 both picked %v, want different subsets", a.Images)
	}
	if got, _ := StratifiedFraction(s, 1, 1); got != s {
		t.Error("StratifiedFraction(s, 1, 1) returned a new set, want s itself")
	}
	for _, frac := range []float64{0, -0.1, 1.5, nan()} {
		if _, err := StratifiedFraction(s, frac, 1); err == nil {
			t.Errorf("StratifiedFraction(s, %g, 1) error = nil, want an error", frac)
		}
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestNewRandStreams(t *testing.T) {
	// Distinct (seed, stream, index) triples give distinct first draws.
	seen := map[uint64]string{}
	for seed := int64(-2); seed <= 2; seed++ {
		for stream := streamSubset; stream <= streamSynthetic; stream++ {
			for index := uint64(0); index < 4; index++ {
				v := newRand(seed, stream, index).Uint64()
				key := fmt.Sprint(seed, stream, index)
				if prev, ok := seen[v]; ok {
					t.Errorf("newRand draws collide: %q and %q", prev, key)
				}
				seen[v] = key
			}
		}
	}
}
