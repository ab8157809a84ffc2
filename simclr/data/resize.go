package data

import "math"

// resizer resizes c×h×w images to c×oh×ow with a separable triangle
// (bilinear) filter, as torchvision 0.14's resize of tensors with
// antialias=True (and PIL's BILINEAR). Per axis, with scale = in/out,
// output pixel i is the normalised weighted sum of input pixels j with
//
//	weight(j) = max(0, 1 − |j + 0.5 − (i + 0.5)·scale| / max(scale, 1))
//
// Enlarging (scale <= 1) this is bilinear interpolation with half-pixel
// centres and edge clamping (align_corners=False); shrinking, the filter
// widens to scale input pixels so every input pixel contributes.
// A resizer is not safe for concurrent use.
type resizer struct {
	c, h, w, oh, ow int
	xs, ys          []taps
	tmp             []float32
}

func newResizer(c, h, w, oh, ow int) *resizer {
	return &resizer{c: c, h: h, w: w, oh: oh, ow: ow,
		xs: resizeWeights(w, ow), ys: resizeWeights(h, oh), tmp: make([]float32, h*ow)}
}

// resize writes src (len c*h*w) resized into dst (len c*oh*ow).
func (r *resizer) resize(dst, src []float32) {
	h, w, oh, ow := r.h, r.w, r.oh, r.ow
	if oh == h && ow == w {
		copy(dst, src[:r.c*h*w])
		return
	}
	tmp := r.tmp
	for ch := range r.c {
		in := src[ch*h*w : (ch+1)*h*w]
		for y := range h {
			row := in[y*w : (y+1)*w]
			for x, t := range r.xs {
				var acc float32
				for k, wt := range t.w {
					acc += wt * row[t.lo+k]
				}
				tmp[y*ow+x] = acc
			}
		}
		out := dst[ch*oh*ow : (ch+1)*oh*ow]
		for y, t := range r.ys {
			o := out[y*ow : (y+1)*ow]
			clear(o)
			for k, wt := range t.w {
				row := tmp[(t.lo+k)*ow : (t.lo+k+1)*ow]
				for x, v := range row {
					o[x] += wt * v
				}
			}
		}
	}
}

// taps are the input pixels lo, lo+1, … and weights of one output pixel.
type taps struct {
	lo int
	w  []float32
}

// resizeWeights computes the taps of every output pixel along one axis
// (the algorithm of PyTorch's _compute_indices_weights_aa).
func resizeWeights(in, out int) []taps {
	scale := float64(in) / float64(out)
	support, inv := 1.0, 1.0
	if scale >= 1 {
		support, inv = scale, 1/scale
	}
	ts := make([]taps, out)
	for i := range ts {
		center := scale * (float64(i) + 0.5)
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		ws := make([]float64, hi-lo)
		var total float64
		for j := range ws {
			ws[j] = max(0, 1-math.Abs((float64(j+lo)-center+0.5)*inv))
			total += ws[j]
		}
		t := taps{lo: lo, w: make([]float32, len(ws))}
		for j, v := range ws {
			t.w[j] = float32(v / total)
		}
		ts[i] = t
	}
	return ts
}

// resizeSet returns s with every image resized to size×size, or s itself
// when it already has that size.
func resizeSet(s *Set, size int) *Set {
	if s.H == size && s.W == size {
		return s
	}
	d, od := s.C*s.H*s.W, s.C*size*size
	out := &Set{
		Images:  make([]float32, s.N*od),
		Labels:  s.Labels,
		N:       s.N,
		C:       s.C,
		H:       size,
		W:       size,
		Classes: s.Classes,
	}
	r := newResizer(s.C, s.H, s.W, size, size)
	for i := range s.N {
		r.resize(out.Images[i*od:(i+1)*od], s.Images[i*d:(i+1)*d])
	}
	return out
}
