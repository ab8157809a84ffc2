package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Luma weights of ITU-R 601-2 as torchvision writes them (0.2989, not
// 0.299), so that grayscale, contrast and saturation match it bit for bit
// up to float rounding.
const (
	lumaR = 0.2989
	lumaG = 0.587
	lumaB = 0.114
)

// checkShape panics with an augment: prefix when x is not a [c, h, w]
// image: a wrong length is a programming error, not a data error.
func checkShape(fn string, x []float32, c, h, w int) {
	if c <= 0 || h <= 0 || w <= 0 || len(x) != c*h*w {
		panic(fmt.Sprintf("augment: %s: image of %d values, want c*h*w = %d*%d*%d", fn, len(x), c, h, w))
	}
}

// checkColor panics unless c is 1 or 3 (the only layouts colour
// transforms understand).
func checkColor(fn string, c int) {
	if c != 1 && c != 3 {
		panic(fmt.Sprintf("augment: %s: %d channels, want 1 or 3", fn, c))
	}
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// gray is the luma of pixel i of a 3-channel [3, h, w] image with hw = h*w.
func gray(x []float32, hw, i int) float32 {
	return lumaR*x[i] + lumaG*x[hw+i] + lumaB*x[2*hw+i]
}

// AdjustBrightness scales x in place, as torchvision's adjust_brightness:
//
//	x = clamp(factor·x, 0, 1)
//
// x is [c, h, w]; any c.
func AdjustBrightness(x []float32, c, h, w int, factor float64) {
	checkShape("AdjustBrightness", x, c, h, w)
	f := float32(factor)
	for i, v := range x {
		x[i] = clamp01(f * v)
	}
}

// AdjustContrast blends x in place with its mean grey level m, as
// torchvision's adjust_contrast:
//
//	x = clamp(factor·x + (1-factor)·m, 0, 1)
//
// where m is the mean over all pixels of the luma for c = 3 and of the image
// for c = 1.
func AdjustContrast(x []float32, c, h, w int, factor float64) {
	checkShape("AdjustContrast", x, c, h, w)
	checkColor("AdjustContrast", c)
	hw := h * w
	var sum float64
	if c == 3 {
		for i := 0; i < hw; i++ {
			sum += float64(gray(x, hw, i))
		}
	} else {
		for _, v := range x {
			sum += float64(v)
		}
	}
	m := float32(sum / float64(hw))
	f := float32(factor)
	bias := (1 - f) * m
	for i, v := range x {
		x[i] = clamp01(f*v + bias)
	}
}

// AdjustSaturation blends each pixel of a 3-channel x in place with its
// luma l, as torchvision's adjust_saturation:
//
//	x = clamp(factor·x + (1-factor)·l, 0, 1)
//
// A 1-channel image is left unchanged.
func AdjustSaturation(x []float32, c, h, w int, factor float64) {
	checkShape("AdjustSaturation", x, c, h, w)
	checkColor("AdjustSaturation", c)
	if c == 1 {
		return
	}
	hw := h * w
	f := float32(factor)
	for i := 0; i < hw; i++ {
		l := (1 - f) * gray(x, hw, i)
		x[i] = clamp01(f*x[i] + l)
		x[hw+i] = clamp01(f*x[hw+i] + l)
		x[2*hw+i] = clamp01(f*x[2*hw+i] + l)
	}
}

// AdjustHue rotates the hue of a 3-channel x in place by factor turns
// (factor in [-0.5, 0.5]), as torchvision's adjust_hue: RGB → HSV,
// h = (h + factor) mod 1, HSV → RGB, all in float32. A 1-channel image is
// left unchanged.
func AdjustHue(x []float32, c, h, w int, factor float64) {
	checkShape("AdjustHue", x, c, h, w)
	checkColor("AdjustHue", c)
	if !(factor >= -0.5 && factor <= 0.5) {
		panic(fmt.Sprintf("augment: AdjustHue: factor %g outside [-0.5, 0.5]", factor))
	}
	if c == 1 {
		return
	}
	hw := h * w
	hf := float32(factor)
	for i := 0; i < hw; i++ {
		r, g, b := x[i], x[hw+i], x[2*hw+i]
		// torchvision _rgb2hsv.
		maxc := max(r, g, b)
		minc := min(r, g, b)
		cr := maxc - minc
		var s, div float32
		if maxc == minc {
			s, div = cr, 1
		} else {
			s, div = cr/maxc, cr
		}
		rc := (maxc - r) / div
		gc := (maxc - g) / div
		bc := (maxc - b) / div
		var hue float32
		switch {
		case maxc == r:
			hue = bc - gc
		case maxc == g:
			hue = 2 + rc - bc
		default:
			hue = 4 + gc - rc
		}
		hue = float32(math.Mod(float64(hue/6+1), 1))
		// Shift, then torch.remainder(h, 1).
		hue += hf
		hue -= float32(math.Floor(float64(hue)))
		// torchvision _hsv2rgb.
		v := maxc
		h6 := hue * 6
		fi := float32(math.Floor(float64(h6)))
		f := h6 - fi
		p := clamp01(v * (1 - s))
		q := clamp01(v * (1 - s*f))
		t := clamp01(v * (1 - s*(1-f)))
		switch int(fi) % 6 {
		case 0:
			r, g, b = v, t, p
		case 1:
			r, g, b = q, v, p
		case 2:
			r, g, b = p, v, t
		case 3:
			r, g, b = p, q, v
		case 4:
			r, g, b = t, p, v
		default:
			r, g, b = v, p, q
		}
		x[i], x[hw+i], x[2*hw+i] = r, g, b
	}
}

// Grayscale replaces every channel of a 3-channel x in place by its luma
// 0.2989·r + 0.587·g + 0.114·b (torchvision's rgb_to_grayscale with
// num_output_channels = 3): the shape is unchanged. A 1-channel image is
// left unchanged.
func Grayscale(x []float32, c, h, w int) {
	checkShape("Grayscale", x, c, h, w)
	checkColor("Grayscale", c)
	if c == 1 {
		return
	}
	hw := h * w
	for i := 0; i < hw; i++ {
		l := gray(x, hw, i)
		x[i], x[hw+i], x[2*hw+i] = l, l, l
	}
}

// ColorJitter applies torchvision's ColorJitter(0.8s, 0.8s, 0.8s, 0.2s) to
// x in place, s = strength: a random order of the four adjustments (a
// permutation drawn first), with factors
//
//	brightness, contrast, saturation ~ U[max(0, 1-0.8s), 1+0.8s]
//	hue                              ~ U[-min(0.2s, 0.5), min(0.2s, 0.5)]
//
// each followed by a clip to [0, 1]. All four factors are drawn whatever c
// and s, so the random stream does not depend on them; saturation and hue
// are no-ops on 1-channel images, and strength 0 leaves x unchanged.
func ColorJitter(x []float32, c, h, w int, strength float64, rng *rand.Rand) {
	checkShape("ColorJitter", x, c, h, w)
	checkColor("ColorJitter", c)
	order := [4]int{0, 1, 2, 3}
	for i := 3; i > 0; i-- {
		j := rng.IntN(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	d := 0.8 * strength
	lo := max(0, 1-d)
	var fs [4]float64
	for k := 0; k < 3; k++ {
		fs[k] = lo + (1+d-lo)*rng.Float64()
	}
	hd := min(0.2*strength, 0.5)
	fs[3] = -hd + 2*hd*rng.Float64()
	if strength == 0 {
		return
	}
	for _, k := range order {
		switch k {
		case 0:
			AdjustBrightness(x, c, h, w, fs[0])
		case 1:
			AdjustContrast(x, c, h, w, fs[1])
		case 2:
			AdjustSaturation(x, c, h, w, fs[2])
		case 3:
			AdjustHue(x, c, h, w, fs[3])
		}
	}
}
