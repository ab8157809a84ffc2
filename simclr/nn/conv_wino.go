package nn

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2015) for the forward of
// the stride-1 3×3 convolutions, and so for their ∂x, the convolution of
// dy with the flipped weights (convGeom.back), and for their ∂w, the
// adjoint of the forward (winoBackW): each 2×2 block of outputs
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
// of the largest partial sum; TestWinogradMatchesReference,
// TestWinogradGradWMatchesReference).

// winoUsed tells whether the forward and ∂w of g run as Winograd's F(2×2, 3×3).
func winoUsed(g *convGeom) bool {
	return useWinograd && g.padded && g.k == 3 && g.stride == 1 && g.pad <= 2
}

// useWinograd: the forward, ∂x and ∂w of the stride-1 3×3 convolutions run as
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
	// M [16][out][nt], then the column sums of M [4][2][out][nt].
	rt := 8 * g.in * q.th * q.pw
	vl, ml := 16*g.in*q.nt, 16*g.out*q.nt
	sl := 8 * g.out * q.nt
	work := scratch[T](&bufs.wide, g.workers, rt+vl+ml+sl)
	xs, ys := g.in*g.h*g.w, g.out*g.p
	chunks(g.workers, g.b, func(wk, c, lo, hi int) {
		wb := work[wk]
		tr, v, m := wb[:rt], wb[rt:rt+vl], wb[rt+vl:rt+vl+ml]
		s := wb[rt+vl+ml : rt+vl+ml+sl]
		for b := lo; b < hi; b++ {
			xb, yb := x[b*xs:(b+1)*xs], y[b*ys:(b+1)*ys]
			winoPlanes(g, q, xb, planes[wk][:2*pl], pre)
			winoInput(g, q, planes[wk][:2*pl], tr, v)
			for xi := 0; xi < 16; xi++ {
				productNN(g.out, q.nt, g.in, u[xi*g.out*g.in:], g.in, v[xi*g.in*q.nt:], q.nt, false, m[xi*g.out*q.nt:], q.nt)
			}
			winoOutput(g, q, m, s, yb)
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
// columns into s [4][2][out][nt], then the rows, each 2×2 block's two
// columns computed together and written interleaved into y (lin2DPairs).
func winoOutput[T float32 | float64](g *convGeom, q winoGeom, m, s, y []T) {
	n := g.out * q.nt
	at := func(buf []T, i int) []T { return buf[i*n : (i+1)*n] }
	// Aᵀ: output 0 = t0 + t1 + t2, output 1 = t1 − t2 − t3.
	for k := 0; k < 4; k++ {
		lin2D(at(s, 2*k), at(m, 4*k), at(m, 4*k+1), at(m, 4*k+2), 1, 1, n, 0, 0, 0, 0, 1, 1)
		lin2D(at(s, 2*k+1), at(m, 4*k+1), at(m, 4*k+2), at(m, 4*k+3), 1, 1, n, 0, 0, 0, 0, -1, -1)
	}
	// Output row 2ty + i, column 2tx + j of channel o is row i's sum of
	// s[2k+j][o][ty][tx] over k = i, i+1, i+2 (signs +, +, + or +, −, −);
	// s[2k+1] is s[2k] shifted by n.
	pairs := g.ow / 2
	for i := 0; i < 2; i++ {
		rows := (g.oh - i + 1) / 2 // tile rows with an output row 2ty + i
		a, b, c := s[2*i*n:], s[2*(i+1)*n:], s[2*(i+2)*n:]
		sg := T(1 - 2*i)
		if g.oh%2 == 0 { // every channel's rows at one stride
			lin2DPairs(y[i*g.ow:], a, b, c, g.out*rows, pairs, 2*g.ow, q.tw, n, sg, sg)
		} else {
			for o := 0; o < g.out; o++ {
				lin2DPairs(y[o*g.p+i*g.ow:], a[o*q.nt:], b[o*q.nt:], c[o*q.nt:], rows, pairs, 2*g.ow, q.tw, n, sg, sg)
			}
		}
		if g.ow%2 == 1 { // the last column: the j = 0 sum alone
			for o := 0; o < g.out; o++ {
				for ty := 0; ty < rows; ty++ {
					t := o*q.nt + ty*q.tw + q.tw - 1
					y[o*g.p+(2*ty+i)*g.ow+g.ow-1] = a[t] + sg*b[t] + sg*c[t]
				}
			}
		}
	}
}

// winoBackW is convBackW for winoUsed(g): ∂w as the adjoint of the
// Winograd forward. With dM = A dY Aᵀ (the 4×4 transform of a tile's 2×2
// output gradients) and V = Bᵀ d B of its input patch, as in the forward,
//
//	∂U_ξ [out, in] = Σ_tiles dM_ξ [out, tiles] · V_ξᵀ [tiles, in]
//	∂w = Gᵀ ∂U G
//
// 16 products with K = the image's tiles, against the direct path's 9
// with K = oh·wp: for a 28×28 image 16·196 against 9·840 multiply-adds
// per (out, in) pair. ∂U is summed per chunk into partBufs, the chunks
// added in chunk order, and transformed to ∂w once.
func winoBackW[T float32 | float64](g *convGeom, bufs *convBuffers, partBufs *workspace, x, dy, dw []T, pre *bnOp) {
	q := newWinoGeom(g)
	pl := q.planeLen(g.in)
	planes := scratch[T](&bufs.planes, g.workers, 2*pl)
	ul := 16 * g.out * g.in
	parts := scratch[T](partBufs, numChunks(g.b), ul)
	// per worker: the row transforms [2][4][in][th][pw] and V [16][in][nt]
	// as in the forward; dY's 2×2 blocks [4][out][nt] (their positions
	// past the output's edge never written, so zero); the column
	// transforms C [2][2][out][nt] and the row transforms [4][2][out][nt].
	rt := 8 * g.in * q.th * q.pw
	vl, n := 16*g.in*q.nt, g.out*q.nt
	work := scratch[T](&bufs.wide, g.workers, rt+vl+16*n)
	xs, ys := g.in*g.h*g.w, g.out*g.p
	chunks(g.workers, g.b, func(wk, c, lo, hi int) {
		part := parts[c][:ul]
		clear(part)
		wb := work[wk]
		tr, v := wb[:rt], wb[rt:rt+vl]
		at := func(i int) []T { return wb[rt+vl+i*n : rt+vl+(i+1)*n] }
		// dM_ξ with ξ = 4k + l, k the row and l the column of the 4×4
		// transform; with A = [1 0; 1 1; 1 −1; 0 −1] the transforms are
		// t0 = a, t1 = a + b, t2 = a − b and t3 = −b, and t3 is kept as
		// b: dm[ξ] holds dM_ξ times σ_k σ_l, σ_3 = −1 (winoGradWeights
		// puts the signs back).
		yb := [4][]T{at(0), at(1), at(2), at(3)} // dY_ij, ij = 2i + j
		// The columns: cm[i][l] = C_il, the transform l of dY_i0 and dY_i1
		// (l = 1, 2 computed, l = 0, 3 the blocks themselves).
		var cm [2][4][]T
		for i := 0; i < 2; i++ {
			cm[i] = [4][]T{yb[2*i], at(4 + 2*i), at(5 + 2*i), yb[2*i+1]}
		}
		// Then the rows: dM_kl = the transform k of C_0l and C_1l.
		var dm [16][]T
		for l := 0; l < 4; l++ {
			dm[l], dm[4+l], dm[8+l], dm[12+l] = cm[0][l], at(8+l), at(12+l), cm[1][l]
		}
		for b := lo; b < hi; b++ {
			xb, dyb := x[b*xs:(b+1)*xs], dy[b*ys:(b+1)*ys]
			winoPlanes(g, q, xb, planes[wk][:2*pl], pre)
			winoInput(g, q, planes[wk][:2*pl], tr, v)
			winoTiles(g, q, dyb, yb)
			for i := 0; i < 2; i++ {
				lin2D(cm[i][1], yb[2*i], yb[2*i+1], nil, 1, 1, n, 0, 0, 0, 0, 1, 0)
				lin2D(cm[i][2], yb[2*i], yb[2*i+1], nil, 1, 1, n, 0, 0, 0, 0, -1, 0)
			}
			for l := 0; l < 4; l++ {
				lin2D(dm[4+l], cm[0][l], cm[1][l], nil, 1, 1, n, 0, 0, 0, 0, 1, 0)
				lin2D(dm[8+l], cm[0][l], cm[1][l], nil, 1, 1, n, 0, 0, 0, 0, -1, 0)
			}
			for xi := 0; xi < 16; xi++ {
				productNT(g.out, g.in, q.nt, dm[xi], q.nt, v[xi*g.in*q.nt:], q.nt, true, part[xi*g.out*g.in:], g.in)
			}
		}
	})
	sum := parts[0][:ul]
	for c := 1; c < numChunks(g.b); c++ {
		addTo(sum, parts[c][:ul])
	}
	winoGradWeights(g, sum, dw)
}

// winoTiles writes dy [out, oh, ow] as its 2×2 blocks: yb[2i+j] [out][nt]
// gets dy[o][2ty+i][2tx+j] at tile (ty, tx), and nothing where that is
// past the output's edge.
func winoTiles[T float32 | float64](g *convGeom, q winoGeom, dy []T, yb [4][]T) {
	for i := 0; i < 2; i++ {
		rows := (g.oh - i + 1) / 2
		for j := 0; j < 2; j++ {
			cols := (g.ow - j + 1) / 2
			if rows == 0 || cols == 0 {
				continue
			}
			if g.oh%2 == 0 { // every channel's rows at one stride
				gatherRows(yb[2*i+j], dy[i*g.ow+j:], g.out*rows, cols, q.tw, 2*g.ow, 2)
				continue
			}
			for o := 0; o < g.out; o++ {
				gatherRows(yb[2*i+j][o*q.nt:], dy[o*g.p+i*g.ow+j:], rows, cols, q.tw, 2*g.ow, 2)
			}
		}
	}
}

// winoGradWeights writes ∂w [out, in, 3, 3] = Gᵀ ∂U G from du [16][out][in]
// holding ∂U_ξ times σ_k σ_l (ξ = 4k + l, σ_3 = −1, σ_0..2 = 1).
func winoGradWeights[T float32 | float64](g *convGeom, du, dw []T) {
	n := g.out * g.in
	// Gᵀ with the sign of the fourth transform row folded in: output j
	// of the 3 is Σ_k coef[j][k]·t_k.
	coef := [3][4]T{{1, 0.5, 0.5, 0}, {0, 0.5, -0.5, 0}, {0, 0.5, 0.5, -1}}
	for i := 0; i < n; i++ {
		var e [4][3]T // columns reduced
		for k := 0; k < 4; k++ {
			d0, d1, d2, d3 := du[(4*k)*n+i], du[(4*k+1)*n+i], du[(4*k+2)*n+i], du[(4*k+3)*n+i]
			for j := 0; j < 3; j++ {
				e[k][j] = coef[j][0]*d0 + coef[j][1]*d1 + coef[j][2]*d2 + coef[j][3]*d3
			}
		}
		f := dw[i*9 : i*9+9]
		for r := 0; r < 3; r++ {
			for j := 0; j < 3; j++ {
				f[3*r+j] = coef[r][0]*e[0][j] + coef[r][1]*e[1][j] + coef[r][2]*e[2][j] + coef[r][3]*e[3][j]
			}
		}
	}
}
