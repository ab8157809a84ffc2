package augment

// SalientWindow returns the top-left corner of the ch×cw window of an h×w
// saliency map e ([h, w], non-negative) with the largest sum of e, found
// with a summed-area table in O(h·w). integral is scratch of at least
// (h+1)·(w+1) values. Ties, including a flat map, go to the centred window
// ((h-ch)/2, (w-cw)/2) and then to the first window in row-major order.
func SalientWindow(e []float32, h, w, ch, cw int, integral []float64) (top, left int) {
	checkShape("SalientWindow", e, 1, h, w)
	if ch <= 0 || cw <= 0 || ch > h || cw > w {
		panic("augment: SalientWindow: window larger than the map")
	}
	W := w + 1
	s := integral[:(h+1)*W]
	clear(s[:W])
	for y := 0; y < h; y++ {
		s[(y+1)*W] = 0
		var row float64
		for x := 0; x < w; x++ {
			row += float64(e[y*w+x])
			s[(y+1)*W+x+1] = s[y*W+x+1] + row
		}
	}
	sum := func(t, l int) float64 {
		return s[(t+ch)*W+l+cw] - s[t*W+l+cw] - s[(t+ch)*W+l] + s[t*W+l]
	}
	top, left = (h-ch)/2, (w-cw)/2
	best := sum(top, left)
	for t := 0; t+ch <= h; t++ {
		for l := 0; l+cw <= w; l++ {
			if v := sum(t, l); v > best {
				best, top, left = v, t, l
			}
		}
	}
	return top, left
}
