package nn

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2015) for the forward of
// the stride-1 3×3 convolutions, and so for their ∂x, the convolution of
// dy with the flipped weights (convGeom.back): each 2×2 block of outputs
// (a tile) is
//
//	Y = Aᵀ [ Σ_c (G w_c Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// with d_c the 4×4 input patch of channel c and
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//	G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 −1 −1]
//
// so that the sum over c is, for each of the 16 positions ξ of the 4×4
// transformed tile, one product U_ξ [out, in] · V_ξ [in, tiles]: 16·in·out
// multiplications a tile against 36·in·out, and K = in, N = the image's
// tiles, shapes on which OpenBLAS runs as fast as on the direct ones. The
// transforms are sums and differences of whole rows (lin2D): the image is
// split into its even and odd columns (with its zero border, and the
// deferred BN applied), the row transform runs over whole rows of those,
// and the column transform is then a difference of two shifted rows.
//
// The transforms add and subtract values before multiplying, so the
// results differ from the direct sum in the last bits (about the rounding
// of the largest partial sum; TestWinogradMatchesReference).

// winoUsed tells whether the forward of g runs as Winograd's F(2×2, 3×3).
func winoUsed(g *convGeom) bool {
	return useWinograd && g.padded && g.k == 3 && g.stride == 1 && g.pad <= 2
}

// useWinograd: the forward and ∂x of the stride-1 3×3 convolutions run as
// F(2×2, 3×3); tests switch it off to compare with the direct products.
var useWinograd = true

// winoGeom is the layout of the Winograd buffers of one image.
type winoGeom struct {
	th, tw int // tiles: ⌈oh/2⌉ × ⌈ow/2⌉
	nt     int // th·tw
	pw     int // width of an even- or odd-column plane: tw + 1
	rows   int // rows of a plane: 2·th + 2
}

func newWinoGeom(g *convGeom) winoGeom {
	th, tw := (g.oh+1)/2, (g.ow+1)/2
	return winoGeom{th: th, tw: tw, nt: th * tw, pw: tw + 1, rows: 2*th + 2}
}

// planeLen is the length of one phase's planes [in][rows][pw].
func (q winoGeom) planeLen(in int) int { return in * q.rows * q.pw }

// winoWeights writes U_ξ = (G w Gᵀ)_ξ of w [out, in, 3, 3] into u [16][out][in].
func winoWeights[T float32 | float64](g *convGeom, w, u []T) {
	n := g.out * g.in
	for o := 0; o < g.out; o++ {
		for c := 0; c < g.in; c++ {
			f := w[(o*g.in+c)*9 : (o*g.in+c)*9+9]
			var t [4][3]T // G·f
			for j := 0; j < 3; j++ {
				f0, f1, f2 := f[j], f[3+j], f[6+j]
				t[0][j] = f0
				t[1][j] = (f0 + f1 + f2) / 2
				t[2][j] = (f0 - f1 + f2) / 2
				t[3][j] = f2
			}
			for k := 0; k < 4; k++ {
				f0, f1, f2 := t[k][0], t[k][1], t[k][2]
				i := o*g.in + c
				u[(4*k+0)*n+i] = f0
				u[(4*k+1)*n+i] = (f0 + f1 + f2) / 2
				u[(4*k+2)*n+i] = (f0 - f1 + f2) / 2
				u[(4*k+3)*n+i] = f2
			}
		}
	}
}

// winoForward is convForward for winoUsed(g).
func winoForward[T float32 | float64](g *convGeom, bufs *convBuffers, x, w, y []T, sums [][]float64, pre *bnOp) {
	q := newWinoGeom(g)
	u := scratch[T](&bufs.weights, 1, 16*g.out*g.in)[0]
	winoWeights(g, w, u)
	pl := q.planeLen(g.in)
	planes := scratch[T](&bufs.planes, g.workers, 2*pl)
	// per worker: the row transforms [2][4][in][th][pw], V [16][in][nt],
	// M [16][out][nt], then the column sums of M [4][2][out][nt] and the
	// outputs [2][2][out][nt].
	rt := 8 * g.in * q.th * q.pw
	vl, ml := 16*g.in*q.nt, 16*g.out*q.nt
	sl, yl := 8*g.out*q.nt, 4*g.out*q.nt
	work := scratch[T](&bufs.wide, g.workers, rt+vl+ml+sl+yl)
	xs, ys := g.in*g.h*g.w, g.out*g.p
	chunks(g.workers, g.b, func(wk, c, lo, hi int) {
		wb := work[wk]
		tr, v, m := wb[:rt], wb[rt:rt+vl], wb[rt+vl:rt+vl+ml]
		s, yt := wb[rt+vl+ml:rt+vl+ml+sl], wb[rt+vl+ml+sl:rt+vl+ml+sl+yl]
		for b := lo; b < hi; b++ {
			xb, yb := x[b*xs:(b+1)*xs], y[b*ys:(b+1)*ys]
			winoPlanes(g, q, xb, planes[wk][:2*pl], pre)
			winoInput(g, q, planes[wk][:2*pl], tr, v)
			for xi := 0; xi < 16; xi++ {
				gemm(false, false, g.out, q.nt, g.in, 1, u[xi*g.out*g.in:], g.in, v[xi*g.in*q.nt:], q.nt, 0, m[xi*g.out*q.nt:], q.nt)
			}
			winoOutput(g, q, m, s, yt, yb)
			if sums != nil {
				a := sums[c]
				for o := 0; o < g.out; o++ {
					s, ss := sumSqRow(yb[o*g.p:(o+1)*g.p], 0)
					a[o] += s
					a[g.out+o] += ss
				}
			}
		}
	})
}

// winoPlanes writes image x [in, h, w] with its zero border of g.pad into
// two planes [in][rows][pw], its even and its odd padded columns, as
// x·scale + shift (and ReLU) when pre is not nil. The border is never
// written, so stays zero from the buffer's allocation.
func winoPlanes[T float32 | float64](g *convGeom, q winoGeom, x, planes []T, pre *bnOp) {
	hw, pl := g.h*g.w, q.planeLen(g.in)
	rows := min(g.h, q.rows-g.pad)
	for ph := 0; ph < 2; ph++ {
		u0, u1 := phaseRange(2, g.pad, ph, g.w, q.pw)
		if u0 >= u1 {
			continue
		}
		n := u1 - u0
		for c := 0; c < g.in; c++ {
			dst := planes[ph*pl+c*q.rows*q.pw+g.pad*q.pw+u0 : ph*pl+(c+1)*q.rows*q.pw]
			src := x[c*hw+2*u0+ph-g.pad : (c+1)*hw]
			gatherRows(dst, src, rows, n, q.pw, g.w, 2)
			if pre != nil {
				affineRows(dst, dst, rows, n, q.pw, q.pw, T(pre.scale[c]), T(pre.shift[c]), pre.relu)
			}
		}
	}
}

// winoInput computes V_ξ [in][nt] = (Bᵀ d B)_ξ of every tile into v
// [16][in][nt]: first Bᵀ d over the rows of both planes into tr
// [2][4][in][th][pw], then · B over their columns.
func winoInput[T float32 | float64](g *convGeom, q winoGeom, planes, tr, v []T) {
	pl, tl := q.planeLen(g.in), g.in*q.th*q.pw
	// rows (r0, r1, sign) of Bᵀ: row k of the transform is d[r0] + sign·d[r1].
	rowT := [4]struct {
		a, b int
		s    T
	}{{0, 2, -1}, {1, 2, 1}, {2, 1, -1}, {1, 3, -1}}
	for ph := 0; ph < 2; ph++ {
		p := planes[ph*pl : (ph+1)*pl]
		for k, r := range rowT {
			dst := tr[(ph*4+k)*tl : (ph*4+k+1)*tl]
			lin2D(dst, p[r.a*q.pw:], p[r.b*q.pw:], nil, g.in, q.th, q.pw,
				q.th*q.pw, q.pw, q.rows*q.pw, 2*q.pw, r.s, 0)
		}
	}
	// Columns: padded column 2t + j of a tile row is the even plane's
	// column t + j/2 (j even) or the odd plane's (j odd); column l of
	// the transform is d[j0] + sign·d[j1], as for the rows.
	colT := [4]struct {
		pa, oa, pb, ob int // plane and column offset of the two operands
		s              T
	}{{0, 0, 0, 1, -1}, {1, 0, 0, 1, 1}, {0, 1, 1, 0, -1}, {1, 0, 1, 1, -1}}
	vl := g.in * q.nt
	for k := 0; k < 4; k++ {
		for l, cc := range colT {
			a := tr[(cc.pa*4+k)*tl+cc.oa : (cc.pa*4+k+1)*tl]
			b := tr[(cc.pb*4+k)*tl+cc.ob : (cc.pb*4+k+1)*tl]
			dst := v[(4*k+l)*vl : (4*k+l+1)*vl]
			lin2D(dst, a, b, nil, 1, g.in*q.th, q.tw, 0, q.tw, 0, q.pw, cc.s, 0)
		}
	}
}

// winoOutput computes y [out, oh, ow] = Aᵀ M A from m [16][out][nt]: the
// columns into s [4][2][out][nt], the rows into yt [2][2][out][nt], and
// yt's 2×2 blocks interleaved into y.
func winoOutput[T float32 | float64](g *convGeom, q winoGeom, m, s, yt, y []T) {
	n := g.out * q.nt
	at := func(buf []T, i int) []T { return buf[i*n : (i+1)*n] }
	// Aᵀ: output 0 = t0 + t1 + t2, output 1 = t1 − t2 − t3.
	for k := 0; k < 4; k++ {
		lin2D(at(s, 2*k), at(m, 4*k), at(m, 4*k+1), at(m, 4*k+2), 1, 1, n, 0, 0, 0, 0, 1, 1)
		lin2D(at(s, 2*k+1), at(m, 4*k+1), at(m, 4*k+2), at(m, 4*k+3), 1, 1, n, 0, 0, 0, 0, -1, -1)
	}
	for j := 0; j < 2; j++ {
		lin2D(at(yt, j), at(s, j), at(s, 2+j), at(s, 4+j), 1, 1, n, 0, 0, 0, 0, 1, 1)
		lin2D(at(yt, 2+j), at(s, 2+j), at(s, 4+j), at(s, 6+j), 1, 1, n, 0, 0, 0, 0, -1, -1)
	}
	// yt[2i+j][o][ty][tx] is y[o][2ty+i][2tx+j].
	pairs, odd := g.ow/2, g.ow%2 == 1
	for i := 0; i < 2; i++ {
		rows := (g.oh - i + 1) / 2 // tile rows with an output row 2ty + i
		e, o := at(yt, 2*i), at(yt, 2*i+1)
		if g.oh%2 == 0 { // every channel's rows at one stride
			interleaveRows(y[i*g.ow:], e, o, g.out*rows, pairs, 2*g.ow, q.tw, q.tw)
		} else {
			for c := 0; c < g.out; c++ {
				interleaveRows(y[c*g.p+i*g.ow:], e[c*q.nt:], o[c*q.nt:], rows, pairs, 2*g.ow, q.tw, q.tw)
			}
		}
		if odd {
			for c := 0; c < g.out; c++ {
				for ty := 0; ty < rows; ty++ {
					y[c*g.p+(2*ty+i)*g.ow+g.ow-1] = e[c*q.nt+ty*q.tw+q.tw-1]
				}
			}
		}
	}
}
