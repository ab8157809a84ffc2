package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SampleCrop draws a random resized crop window of an h×w image the way
// torchvision 0.14's RandomResizedCrop.get_params does: up to 10 attempts of
//
//	area   = h·w·U[minScale, maxScale]
//	aspect = exp(U[log minRatio, log maxRatio])
//	cw = round(√(area·aspect)), ch = round(√(area/aspect))   (half to even)
//
// accepting the first with 0 < cw ≤ w and 0 < ch ≤ h and placing it
// uniformly (top ~ U{0..h-ch}, left ~ U{0..w-cw}); else a centred crop of the
// whole image clipped to the aspect range. The window is always inside the
// image.
func SampleCrop(h, w int, minScale, maxScale, minRatio, maxRatio float64, rng *rand.Rand) (top, left, ch, cw int) {
	area := float64(h * w)
	logLo, logHi := math.Log(minRatio), math.Log(maxRatio)
	for range 10 {
		target := area * (minScale + (maxScale-minScale)*rng.Float64())
		aspect := math.Exp(logLo + (logHi-logLo)*rng.Float64())
		cw = int(math.RoundToEven(math.Sqrt(target * aspect)))
		ch = int(math.RoundToEven(math.Sqrt(target / aspect)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			top = rng.IntN(h - ch + 1)
			left = rng.IntN(w - cw + 1)
			return top, left, ch, cw
		}
	}
	inRatio := float64(w) / float64(h)
	switch {
	case inRatio < minRatio:
		cw = w
		ch = int(math.RoundToEven(float64(cw) / minRatio))
	case inRatio > maxRatio:
		ch = h
		cw = int(math.RoundToEven(float64(ch) * maxRatio))
	default:
		cw, ch = w, h
	}
	ch = min(max(ch, 1), h)
	cw = min(max(cw, 1), w)
	return (h - ch) / 2, (w - cw) / 2, ch, cw
}

// ResizedCrop writes to dst ([c, outH, outW]) the window [top, top+cropH) ×
// [left, left+cropW) of src ([c, h, w]) resized by bilinear interpolation
// with PyTorch's align_corners = False and no antialiasing (torchvision's
// resized_crop with antialias = False): output pixel o of an axis of
// scale = crop/out samples the crop at
//
//	s = max(0, scale·(o + 0.5) - 0.5)
//
// between pixels floor(s) and floor(s)+1 (clamped to the crop). The window
// must lie inside the image and dst must not overlap src.
func ResizedCrop(dst, src []float32, c, h, w, top, left, cropH, cropW, outH, outW int) {
	checkShape("ResizedCrop", src, c, h, w)
	checkShape("ResizedCrop", dst, c, outH, outW)
	if top < 0 || left < 0 || cropH <= 0 || cropW <= 0 || top+cropH > h || left+cropW > w {
		panic(fmt.Sprintf("augment: ResizedCrop: window top %d left %d %dx%d outside a %dx%d image", top, left, cropH, cropW, h, w))
	}
	sy := float32(cropH) / float32(outH)
	sx := float32(cropW) / float32(outW)
	for ch := 0; ch < c; ch++ {
		plane := src[ch*h*w : (ch+1)*h*w]
		out := dst[ch*outH*outW : (ch+1)*outH*outW]
		for oy := 0; oy < outH; oy++ {
			y0, y1, ly := sourceIndex(sy, oy, cropH)
			r0 := plane[(top+y0)*w+left : (top+y0)*w+left+cropW]
			r1 := plane[(top+y1)*w+left : (top+y1)*w+left+cropW]
			row := out[oy*outW : (oy+1)*outW]
			for ox := range row {
				x0, x1, lx := sourceIndex(sx, ox, cropW)
				row[ox] = (1-ly)*((1-lx)*r0[x0]+lx*r0[x1]) + ly*((1-lx)*r1[x0]+lx*r1[x1])
			}
		}
	}
}

// sourceIndex is PyTorch's area_pixel_compute_source_index for bilinear
// interpolation with align_corners = False: the two neighbours and the
// weight of the second.
func sourceIndex(scale float32, o, n int) (i0, i1 int, lambda float32) {
	s := scale*(float32(o)+0.5) - 0.5
	if s < 0 {
		s = 0
	}
	i0 = min(int(s), n-1)
	lambda = min(max(s-float32(i0), 0), 1)
	i1 = i0
	if i0 < n-1 {
		i1 = i0 + 1
	}
	return i0, i1, lambda
}

// HFlip mirrors x ([c, h, w]) left to right in place.
func HFlip(x []float32, c, h, w int) {
	checkShape("HFlip", x, c, h, w)
	for r := 0; r < c*h; r++ {
		row := x[r*w : (r+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// Rot90 writes to dst src ([c, h, w]) rotated by k quarter turns
// counter-clockwise, as torch.rot90(src, k, dims=(1, 2)):
//
//	k = 1: dst[i][j] = src[j][w-1-i]        dst is [c, w, h]
//	k = 2: dst[i][j] = src[h-1-i][w-1-j]    dst is [c, h, w]
//	k = 3: dst[i][j] = src[h-1-j][i]        dst is [c, w, h]
//
// k is taken modulo 4 (k = 0 copies). dst must not overlap src.
func Rot90(dst, src []float32, c, h, w, k int) {
	checkShape("Rot90", src, c, h, w)
	k = ((k % 4) + 4) % 4
	oh, ow := h, w
	if k%2 == 1 {
		oh, ow = w, h
	}
	checkShape("Rot90", dst, c, oh, ow)
	for ch := 0; ch < c; ch++ {
		s := src[ch*h*w : (ch+1)*h*w]
		d := dst[ch*h*w : (ch+1)*h*w]
		for i := 0; i < oh; i++ {
			row := d[i*ow : (i+1)*ow]
			for j := range row {
				switch k {
				case 0:
					row[j] = s[i*w+j]
				case 1:
					row[j] = s[j*w+w-1-i]
				case 2:
					row[j] = s[(h-1-i)*w+w-1-j]
				default:
					row[j] = s[(h-1-j)*w+i]
				}
			}
		}
	}
}

// Erase sets the window [top, top+eh) × [left, left+ew) of every channel of
// x ([c, h, w]) to value in place, as torchvision's erase. Parts of the
// window outside the image are ignored (the window is clipped).
func Erase(x []float32, c, h, w, top, left, eh, ew int, value float32) {
	checkShape("Erase", x, c, h, w)
	y0, y1 := max(top, 0), min(top+eh, h)
	x0, x1 := max(left, 0), min(left+ew, w)
	if y0 >= y1 || x0 >= x1 {
		return
	}
	for ch := 0; ch < c; ch++ {
		for y := y0; y < y1; y++ {
			row := x[(ch*h+y)*w:]
			for i := x0; i < x1; i++ {
				row[i] = value
			}
		}
	}
}

// AddGaussianNoise adds sigma·N(0, 1) to every value of x in place and
// clips to [0, 1]. One normal draw per value, in order.
func AddGaussianNoise(x []float32, sigma float64, rng *rand.Rand) {
	for i, v := range x {
		x[i] = clamp01(v + float32(sigma*rng.NormFloat64()))
	}
}
