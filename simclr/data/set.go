package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Set is a labelled image set. Images holds N images of C×H×W float32
// pixels in [0, 1], contiguously in NCHW order; Labels[i] in
// [0, len(Classes)) is the class of image i; Classes[k] names label k.
//
// A lazy set (Spec.Lazy) has no Images: it renders an image when asked
// (Image, Subset, Checksum, Materialize), so that a caller that keeps
// subsets never holds the whole set as float32.
type Set struct {
	Images     []float32 // N*C*H*W; nil in a lazy set
	Labels     []int     // N
	N, C, H, W int
	Classes    []string

	render func(i int, dst []float32) // a lazy set's images
}

// Lazy reports whether the set renders its images on demand (Images is
// nil).
func (s *Set) Lazy() bool { return s.render != nil }

// Materialize returns s, or for a lazy set a copy with every image
// rendered into Images.
func (s *Set) Materialize() *Set {
	if !s.Lazy() {
		return s
	}
	all := make([]int, s.N)
	for i := range all {
		all[i] = i
	}
	return s.Subset(all)
}

// Image returns image i as a C*H*W slice of s.Images (no copy: writes
// change the set), or for a lazy set the image rendered into a new slice.
// It panics if i is out of range.
func (s *Set) Image(i int) []float32 {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("data: image index %d out of range [0, %d)", i, s.N))
	}
	d := s.C * s.H * s.W
	if s.Lazy() {
		img := make([]float32, d)
		s.render(i, img)
		return img
	}
	return s.Images[i*d : (i+1)*d : (i+1)*d]
}

// Subset returns a new set holding copies of the images idx[0], idx[1], …
// in that order, with their labels and the same classes (never lazy). It
// panics if an index is out of range.
func (s *Set) Subset(idx []int) *Set {
	d := s.C * s.H * s.W
	out := &Set{
		Images:  make([]float32, len(idx)*d),
		Labels:  make([]int, len(idx)),
		N:       len(idx),
		C:       s.C,
		H:       s.H,
		W:       s.W,
		Classes: slices.Clone(s.Classes),
	}
	for j, i := range idx {
		if i < 0 || i >= s.N {
			panic(fmt.Sprintf("data: image index %d out of range [0, %d)", i, s.N))
		}
		if s.Lazy() {
			s.render(i, out.Images[j*d:(j+1)*d])
		} else {
			copy(out.Images[j*d:(j+1)*d], s.Image(i))
		}
		out.Labels[j] = s.Labels[i]
	}
	return out
}

// Checksum is the hex SHA-256 of the set's shape, pixels and labels:
//
//	sha256( "simclr-data/v1" ‖ N ‖ C ‖ H ‖ W ‖ bits(Images[0]) ‖ … ‖ Labels[0] ‖ … )
//
// with every integer and float32 bit pattern as 4 little-endian bytes. Class
// names are not included. Equal sets give equal checksums on every machine.
func (s *Set) Checksum() string {
	h := sha256.New()
	buf := make([]byte, 0, 1<<16)
	flush := func() {
		h.Write(buf)
		buf = buf[:0]
	}
	buf = append(buf, "simclr-data/v1"...)
	for _, v := range []int{s.N, s.C, s.H, s.W} {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(v))
	}
	pixels := func(img []float32) {
		for _, v := range img {
			if len(buf)+4 > cap(buf) {
				flush()
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	if s.Lazy() { // the same bytes, an image at a time
		img := make([]float32, s.C*s.H*s.W)
		for i := range s.N {
			s.render(i, img)
			pixels(img)
		}
	} else {
		pixels(s.Images)
	}
	for _, v := range s.Labels {
		if len(buf)+4 > cap(buf) {
			flush()
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(v)))
	}
	flush()
	return hex.EncodeToString(h.Sum(nil))
}

// RandomSubset returns n images of s drawn without replacement, kept in
// their order in s, chosen by seed alone (the same s, n and seed give the
// same subset). For n <= 0 or n >= s.N it returns s itself.
func RandomSubset(s *Set, n int, seed int64) *Set {
	if n <= 0 || n >= s.N {
		return s
	}
	rng := newRand(seed, streamSubset, 0)
	perm := rng.Perm(s.N)[:n]
	slices.Sort(perm)
	return s.Subset(perm)
}

// StratifiedFraction returns about frac of the images of every class,
// chosen by seed, kept in their order in s: a class with n images keeps
//
//	max(1, round(frac·n))
//
// of them, so every class present in s stays present. frac = 1 returns s
// itself. frac must be in (0, 1].
func StratifiedFraction(s *Set, frac float64, seed int64) (*Set, error) {
	if !(frac > 0 && frac <= 1) {
		return nil, fmt.Errorf("label fraction %g: must be in (0, 1]", frac)
	}
	if frac == 1 {
		return s, nil
	}
	byClass := make(map[int][]int)
	for i, l := range s.Labels {
		byClass[l] = append(byClass[l], i)
	}
	var keep []int
	for label, idx := range byClass {
		k := max(1, int(math.Round(frac*float64(len(idx)))))
		rng := newRand(seed, streamStratified, uint64(int64(label)))
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		keep = append(keep, idx[:k]...)
	}
	slices.Sort(keep)
	return s.Subset(keep), nil
}

// Random streams: each use of a seed draws from its own PCG stream, so
// changing one use (say the split) never shifts another (the colours).
const (
	streamSubset uint64 = iota + 1
	streamStratified
	streamColor
	streamSplit
	streamSynthetic
)

// newRand returns the PCG generator of (seed, stream, index). math/rand/v2's
// PCG is specified, so the numbers are the same across Go versions.
func newRand(seed int64, stream, index uint64) *rand.Rand {
	a := splitmix(uint64(seed) ^ splitmix(stream))
	b := splitmix(a ^ splitmix(index+0x632be59bd9b4e019))
	return rand.New(rand.NewPCG(a, b))
}

// splitmix is the SplitMix64 finaliser, a bijective 64-bit mix.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
