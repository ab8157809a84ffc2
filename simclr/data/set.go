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
// (Image, CopyImages, Subset, Checksum, Materialize), so that a caller that
// streams its images, or keeps subsets, never holds the whole set as
// float32. Rendering reads the set's sources only, so a lazy set's images
// may be read from several goroutines at once.
type Set struct {
	Images     []float32 // N*C*H*W; nil in a lazy set
	Labels     []int     // N
	N, C, H, W int
	Classes    []string

	render func(i int, dst []float32) // a lazy set's images

	// A lazy set rendered from 8-bit pixels has them in pix: image i is
	// pix's image pixIdx[i] (image i when pixIdx is nil). Compact copies
	// a subset's own pixels out of its parent's.
	pix    *pixels
	pixIdx []int
}

// pixels are the sources of a lazy set rendered from 8-bit images (the
// MNIST family, fashion-mnist-color): d bytes an image, image k painted
// into float32 by paint(k, its bytes, dst). paint reads its arguments
// only, so images may be rendered from several goroutines at once.
type pixels struct {
	pix   []byte
	d     int
	paint func(k int, src []byte, dst []float32)
}

// render writes image k.
func (p *pixels) render(k int, dst []float32) {
	p.paint(k, p.pix[k*p.d:(k+1)*p.d], dst)
}

// pick returns the sources of images idx[0], idx[1], … of p, with a copy
// of their bytes only: image j of the result is image idx[j] of p.
func (p *pixels) pick(idx []int) *pixels {
	out := &pixels{pix: make([]byte, len(idx)*p.d), d: p.d}
	for j, k := range idx {
		copy(out.pix[j*p.d:(j+1)*p.d], p.pix[k*p.d:(k+1)*p.d])
	}
	idx, paint := slices.Clone(idx), p.paint
	out.paint = func(j int, src []byte, dst []float32) { paint(idx[j], src, dst) }
	return out
}

// lazyPixels returns s made lazy over p, which holds s's images.
func (s *Set) lazyPixels(p *pixels) *Set {
	s.Images, s.render, s.pix, s.pixIdx = nil, p.render, p, nil
	return s
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
	d := s.C * s.H * s.W
	out := s.shell(s.N)
	out.Images = make([]float32, s.N*d)
	copy(out.Labels, s.Labels)
	for i := range s.N {
		s.render(i, out.Images[i*d:(i+1)*d])
	}
	return out
}

// Compact returns a set with s's images and labels that holds no more
// than its own images, in the form a trainer that reads them over and
// over should keep: a lazy subset of a set rendered from 8-bit pixels (the
// MNIST family, fashion-mnist-color) stays lazy with a copy of its own
// images' pixels, not its parent's (10 000 fashion-mnist-color images:
// 7.8 MB, where rendered they are 94 MB and the training set's pixels
// 47 MB), and renders them as s does, bit for bit; a lazy set of any other
// kind (synthetic, whose images are slow to draw) is materialized; a set
// with Images, or lazy over pixels of its own, is returned as is.
func (s *Set) Compact() *Set {
	switch {
	case !s.Lazy() || s.pix != nil && s.pixIdx == nil:
		return s
	case s.pix == nil:
		return s.Materialize()
	}
	out := s.shell(s.N)
	copy(out.Labels, s.Labels)
	return out.lazyPixels(s.pix.pick(s.pixIdx))
}

// shell returns a set of n images with s's shape and classes, its labels
// allocated, no images.
func (s *Set) shell(n int) *Set {
	return &Set{
		Labels:  make([]int, n),
		N:       n,
		C:       s.C,
		H:       s.H,
		W:       s.W,
		Classes: slices.Clone(s.Classes),
	}
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

// CopyImages copies images lo, lo+1, … into dst, as many whole images as
// dst holds and s has from lo, rendering those of a lazy set, and returns
// how many it copied. Images that do not fit leave the rest of dst
// unchanged. Reading a set batch by batch this way holds one batch as
// float32, whatever the set's size. It panics if lo is not in [0, N].
func (s *Set) CopyImages(dst []float32, lo int) int {
	if lo < 0 || lo > s.N {
		panic(fmt.Sprintf("data: first image %d out of range [0, %d]", lo, s.N))
	}
	d := s.C * s.H * s.W
	n := min(len(dst)/d, s.N-lo)
	if !s.Lazy() {
		copy(dst, s.Images[lo*d:(lo+n)*d])
		return n
	}
	for j := range n {
		s.render(lo+j, dst[j*d:(j+1)*d])
	}
	return n
}

// Subset returns a new set of the images idx[0], idx[1], … in that order,
// with their labels and the same classes. The subset of a set with Images
// holds copies of its images; the subset of a lazy set is lazy, renders
// its images from the same sources (which it keeps alive) and costs only
// its labels and indices; Compact gives it sources of its own. It panics if an index is out of range.
func (s *Set) Subset(idx []int) *Set {
	for _, i := range idx {
		if i < 0 || i >= s.N {
			panic(fmt.Sprintf("data: image index %d out of range [0, %d)", i, s.N))
		}
	}
	d := s.C * s.H * s.W
	out := s.shell(len(idx))
	for j, i := range idx {
		out.Labels[j] = s.Labels[i]
	}
	if s.Lazy() {
		idx, render := slices.Clone(idx), s.render
		out.render = func(j int, dst []float32) { render(idx[j], dst) }
		if s.pix != nil {
			out.pix, out.pixIdx = s.pix, idx
			if s.pixIdx != nil {
				out.pixIdx = make([]int, len(idx))
				for j, i := range idx {
					out.pixIdx[j] = s.pixIdx[i]
				}
			}
		}
		return out
	}
	out.Images = make([]float32, len(idx)*d)
	for j, i := range idx {
		copy(out.Images[j*d:(j+1)*d], s.Images[i*d:(i+1)*d])
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
