package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bnOp is BatchNorm2d as gorgonia ops that keep their buffers across runs,
// replacing gorgonia's BatchNormOp (and its traps: nil scale/bias, running
// statistics wiped by NewTapeMachine). For x [B, C, H, W], per channel c
// over its n = B·H·W values:
//
//	training   μ = Σx/n, σ² = Σ(x − μ)²/n (biased), running ← (1 − m)·running + m·(μ, σ²·n/(n−1))
//	inference  μ, σ² = the running statistics
//	x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β          γ, β [1, C, 1, 1]
//	with a fused ReLU (relu): y = max(γ·x̂ + β, 0)
//
// and its gradients (bnGradXOp, bnGradParamOp), with dy masked to 0 where
// a fused ReLU's output is 0:
//
//	∂β = Σ dy,  ∂γ = Σ dy·x̂
//	training   ∂x = γ/√(σ² + ε) · (dy − ∂β/n − x̂·∂γ/n)
//	inference  ∂x = γ/√(σ² + ε) · dy
//
// Sums are accumulated in float64. The forward op keeps μ and 1/√(σ² + ε)
// of the last run for the gradient ops of the same run.
//
// A deferred op (a BN whose every consumer can apply it on the fly, see
// deferBNs) computes only the statistics and the per-channel scale and
// shift, and its output value is x itself: its consumers read x and apply
// y = x·scale + shift (max(…, 0) with a fused ReLU) as they load it (the convolution
// while copying x into its phase planes, the residual add while adding),
// so y is never stored — one activation fewer kept for the backward pass
// and one pass over memory fewer. Its gradient recomputes the ReLU mask
// from x with the same arithmetic, so every value is bit-identical to the
// op that stores y.
type bnOp struct {
	serial   uint64       // its hash (writeOpHash)
	shape    tensor.Shape // x
	c, hw    int
	dt       tensor.Dtype
	momentum float64
	eps      float64
	training bool

	runMean, runVar *tensor.Dense  // [C], dtype dt
	relu            bool           // y = max(γ·x̂ + β, 0)
	deferred        bool           // y is not stored: the output value is x (see above)
	x               *gorgonia.Node // the input node (buffers.go checks its register)
	src             *convOp        // when not nil, the producer of x, which sums its channels (convOp.sums)
	mean, invStd    []float64      // this run's, [C]
	sdy, sdyx       []float64      // this run's Σ dy and Σ dy·x̂, [C], left by bnGradXOp
	scale, shift    []float64      // y = x·scale + shift per channel this run, [C]
	ka, kb, kc      []float64      // ∂x = ka·dy + kb·x + kc per channel this run, [C]
	acc             [][]float64    // per chunk, [2C]
	out             tensor.Tensor
}

func newBNOp(shape tensor.Shape, dt tensor.Dtype, momentum, eps float64) (*bnOp, error) {
	if len(shape) != 4 {
		return nil, fmt.Errorf("batch norm needs x [B, C, H, W], got %v", shape)
	}
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, fmt.Errorf("batch norm of dtype %v (float32 or float64)", dt)
	}
	c := shape[1]
	op := &bnOp{shape: shape.Clone(), c: c, hw: shape[2] * shape[3], dt: dt, momentum: momentum, eps: eps, training: true,
		runMean: tensor.New(tensor.Of(dt), tensor.WithShape(c)), runVar: tensor.New(tensor.Of(dt), tensor.WithShape(c)),
		mean: make([]float64, c), invStd: make([]float64, c), sdy: make([]float64, c), sdyx: make([]float64, c),
		scale: make([]float64, c), shift: make([]float64, c),
		ka: make([]float64, c), kb: make([]float64, c), kc: make([]float64, c)}
	if err := op.runVar.Memset(oneOf(dt)); err != nil {
		return nil, err
	}
	return op, nil
}

func oneOf(dt tensor.Dtype) any {
	if dt == tensor.Float32 {
		return float32(1)
	}
	return float64(1)
}

// Stats returns the running mean and variance, [C] each; writing into
// their data changes the op's statistics.
func (op *bnOp) Stats() (mean, variance tensor.Tensor) { return op.runMean, op.runVar }

// SetStats copies running statistics of the op's dtype and [C] shape in.
func (op *bnOp) SetStats(mean, variance tensor.Tensor) error {
	if mean.Dtype() != op.dt || variance.Dtype() != op.dt ||
		mean.Shape().TotalSize() != op.c || variance.Shape().TotalSize() != op.c {
		return fmt.Errorf("batch norm statistics must be %v [%d], got %v %v and %v %v",
			op.dt, op.c, mean.Dtype(), mean.Shape(), variance.Dtype(), variance.Shape())
	}
	switch d := op.runMean.Data().(type) {
	case []float32:
		copy(d, mean.Data().([]float32))
		copy(op.runVar.Data().([]float32), variance.Data().([]float32))
	case []float64:
		copy(d, mean.Data().([]float64))
		copy(op.runVar.Data().([]float64), variance.Data().([]float64))
	}
	return nil
}

// SetTraining chooses batch statistics (true) or running ones (false). It
// leaves the running statistics alone.
func (op *bnOp) SetTraining(training bool) error { op.training = training; return nil }

var (
	_ gorgonia.Op   = (*bnOp)(nil)
	_ gorgonia.SDOp = (*bnOp)(nil)
)

func (op *bnOp) Arity() int { return 3 }
func (op *bnOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD(), fourD())
}
func (op *bnOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *bnOp) ReturnsPtr() bool                                      { return false }
func (op *bnOp) CallsExtern() bool                                     { return false }
func (op *bnOp) OverwritesInput() int                                  { return -1 }
func (op *bnOp) WriteHash(h hash.Hash)                                 { writeOpHash(h, "bn", &op.serial) }
func (op *bnOp) Hashcode() uint32                                      { return hashOf(op) }
func (op *bnOp) String() string {
	kind := "BatchNorm"
	if op.relu {
		kind += "ReLU"
	}
	if op.deferred {
		kind += "(deferred)"
	}
	return fmt.Sprintf("%s%v{training=%v}", kind, op.shape, op.training)
}

func (op *bnOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	ts, err := denseN(op.String(), vals, op.dt, op.shape, tensor.Shape{1, op.c, 1, 1}, tensor.Shape{1, op.c, 1, 1})
	if err != nil {
		return nil, err
	}
	if op.deferred {
		switch x := ts[0].Data().(type) {
		case []float32:
			bnForward(op, x, ts[1].Data().([]float32), ts[2].Data().([]float32), nil, op.runMean.Data().([]float32), op.runVar.Data().([]float32))
		case []float64:
			bnForward(op, x, ts[1].Data().([]float64), ts[2].Data().([]float64), nil, op.runMean.Data().([]float64), op.runVar.Data().([]float64))
		}
		return ts[0], nil
	}
	y := owned(&op.out, op.dt, op.shape)
	switch x := ts[0].Data().(type) {
	case []float32:
		bnForward(op, x, ts[1].Data().([]float32), ts[2].Data().([]float32), y.Data().([]float32), op.runMean.Data().([]float32), op.runVar.Data().([]float32))
	case []float64:
		bnForward(op, x, ts[1].Data().([]float64), ts[2].Data().([]float64), y.Data().([]float64), op.runMean.Data().([]float64), op.runVar.Data().([]float64))
	}
	return y, nil
}

// denseN checks the inputs' count, types, dtypes and shapes.
func denseN(what string, vals []gorgonia.Value, dt tensor.Dtype, shapes ...tensor.Shape) ([]*tensor.Dense, error) {
	if len(vals) != len(shapes) {
		return nil, fmt.Errorf("nn: %s: %d inputs, want %d", what, len(vals), len(shapes))
	}
	out := make([]*tensor.Dense, len(vals))
	for i, v := range vals {
		t, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("nn: %s: input %d is %T, want *tensor.Dense", what, i, v)
		}
		if t.Dtype() != dt || !t.Shape().Eq(shapes[i]) {
			return nil, fmt.Errorf("nn: %s: input %d is %v %v, want %v %v", what, i, t.Dtype(), t.Shape(), dt, shapes[i])
		}
		out[i] = t
	}
	return out, nil
}

// The kernels walk the batch in memory order (image by image, channel by
// channel), in chunks (see chunks), each chunk summing into its own
// per-channel accumulators: walking one channel across the batch instead
// touches short strided rows and runs at memory latency.

// accumulators returns per-chunk zeroed [2C] float64 accumulators.
func (op *bnOp) accumulators() [][]float64 {
	if n := numChunks(op.shape[0]); len(op.acc) != n {
		op.acc = make([][]float64, n)
		for i := range op.acc {
			op.acc[i] = make([]float64, 2*op.c)
		}
	}
	for _, a := range op.acc {
		clear(a)
	}
	return op.acc
}

func bnForward[T float32 | float64](op *bnOp, x, gamma, beta, y, runMean, runVar []T) {
	b, c, hw := op.shape[0], op.c, op.hw
	n := float64(b * hw)
	workers := max(1, min(maxWorkers(), b))
	if op.training {
		// One pass: Σ(x − s) and Σ(x − s)² with s the channel's first
		// value, which keeps the variance from cancelling; or, from the
		// convolution that made x, Σx and Σx² in float64 (s = 0).
		var acc [][]float64
		shifted := op.src == nil || !op.src.sums
		if shifted {
			acc = op.accumulators()
			chunks(workers, b, func(_, k, lo, hi int) {
				a := acc[k]
				for i := lo; i < hi; i++ {
					for ch := 0; ch < c; ch++ {
						shift := float64(x[ch*hw])
						s, ss := sumSqRow(x[(i*c+ch)*hw:(i*c+ch+1)*hw], shift)
						a[ch] += s
						a[c+ch] += ss
					}
				}
			})
		} else {
			acc = op.src.acc
		}
		m := op.momentum
		for ch := 0; ch < c; ch++ {
			var s, ss float64
			for _, a := range acc {
				s += a[ch]
				ss += a[c+ch]
			}
			d := s / n
			mu := d
			if shifted {
				mu += float64(x[ch*hw])
			}
			variance := max(ss/n-d*d, 0)
			unbiased := variance
			if n > 1 {
				unbiased = variance * n / (n - 1)
			}
			op.mean[ch], op.invStd[ch] = mu, 1/math.Sqrt(variance+op.eps)
			runMean[ch] = T((1-m)*float64(runMean[ch]) + m*mu)
			runVar[ch] = T((1-m)*float64(runVar[ch]) + m*unbiased)
		}
	} else {
		for ch := 0; ch < c; ch++ {
			op.mean[ch] = float64(runMean[ch])
			op.invStd[ch] = 1 / math.Sqrt(float64(runVar[ch])+op.eps)
		}
	}
	scale, shift := op.scale[:c], op.shift[:c]
	for ch := 0; ch < c; ch++ {
		inv, g := op.invStd[ch], float64(gamma[ch])
		scale[ch] = g * inv
		shift[ch] = float64(beta[ch]) - g*inv*op.mean[ch]
	}
	if y == nil {
		return // deferred: the consumers apply scale and shift
	}
	chunks(workers, b, func(_, _, lo, hi int) {
		for i := lo; i < hi; i++ {
			for ch := 0; ch < c; ch++ {
				off := (i*c + ch) * hw
				affineRow(y[off:off+hw], x[off:off+hw], T(scale[ch]), T(shift[ch]), op.relu)
			}
		}
	})
}

func (op *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (op *bnOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 3 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 3", op, len(inputs))
	}
	x, gamma := inputs[0], inputs[1]
	// Without a fused ReLU the gradient does not read y, and a deferred
	// op recomputes it from x: pass x in its place, so that y's buffer is
	// free once the forward pass is done with it (buffers.go).
	y := output
	if !op.relu || op.deferred {
		y = x
	}
	dx, err := gorgonia.ApplyOp(&bnGradXOp{fwd: op}, x, gamma, grad, y)
	if err != nil {
		return nil, err
	}
	dg, err := gorgonia.ApplyOp(&bnGradParamOp{fwd: op, beta: false}, dx)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(&bnGradParamOp{fwd: op, beta: true}, dx)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dg, db}, nil
}

// bnGradXOp is ∂x of a bnOp: (x, γ, dy, y) -> ∂x [B, C, H, W], using the
// forward op's μ and 1/√(σ² + ε) of this run; y (the forward output) masks
// dy where the op has a fused ReLU (without one, SymDiff passes x as y and
// it is not read). It leaves Σ dy and Σ dy·x̂ per channel
// in the forward op for the bnGradParamOps, which take ∂x as their input
// so that they run after it.
type bnGradXOp struct {
	serial uint64 // its hash (writeOpHash)
	fwd    *bnOp
	out    tensor.Tensor
}

func (op *bnGradXOp) Arity() int { return 4 }
func (op *bnGradXOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD(), fourD(), fourD())
}
func (op *bnGradXOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fwd.shape.Clone(), nil
}
func (op *bnGradXOp) ReturnsPtr() bool      { return false }
func (op *bnGradXOp) CallsExtern() bool     { return false }
func (op *bnGradXOp) OverwritesInput() int  { return -1 }
func (op *bnGradXOp) WriteHash(h hash.Hash) { writeOpHash(h, "bngradx", &op.serial) }
func (op *bnGradXOp) Hashcode() uint32      { return hashOf(op) }
func (op *bnGradXOp) String() string        { return fmt.Sprintf("BatchNormGradX%v", op.fwd.shape) }

func (op *bnGradXOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	f := op.fwd
	ts, err := denseN(op.String(), vals, f.dt, f.shape, tensor.Shape{1, f.c, 1, 1}, f.shape, f.shape)
	if err != nil {
		return nil, err
	}
	out := owned(&op.out, f.dt, f.shape)
	switch x := ts[0].Data().(type) {
	case []float32:
		bnBackward(f, x, ts[1].Data().([]float32), ts[2].Data().([]float32), ts[3].Data().([]float32), out.Data().([]float32))
	case []float64:
		bnBackward(f, x, ts[1].Data().([]float64), ts[2].Data().([]float64), ts[3].Data().([]float64), out.Data().([]float64))
	}
	return out, nil
}

func bnBackward[T float32 | float64](f *bnOp, x, gamma, dy, y, dx []T) {
	b, c, hw := f.shape[0], f.c, f.hw
	n := float64(b * hw)
	workers := max(1, min(maxWorkers(), b))
	// With a fused ReLU, dy is masked by y > 0 on the fly; a deferred op
	// recomputes the mask from x, as its consumers computed y.
	acc := f.accumulators()
	chunks(workers, b, func(_, k, lo, hi int) {
		a := acc[k]
		for i := lo; i < hi; i++ {
			for ch := 0; ch < c; ch++ {
				off := (i*c + ch) * hw
				var s, sx float64
				if f.relu && f.deferred {
					s, sx = dotDevAffMaskRow(dy[off:off+hw], x[off:off+hw], T(f.scale[ch]), T(f.shift[ch]), f.mean[ch])
				} else if f.relu {
					s, sx = dotDevMaskRow(dy[off:off+hw], y[off:off+hw], x[off:off+hw], f.mean[ch])
				} else {
					s, sx = dotDevRow(dy[off:off+hw], x[off:off+hw], f.mean[ch])
				}
				a[ch] += s
				a[c+ch] += sx
			}
		}
	})
	// training: ∂x = k·dy − k·Σdy/n − k·x̂·Σdy·x̂/n with k = γ·inv and
	// x̂ = (x − μ)·inv, i.e. ∂x = a·dy + bx·x + c0; inference: ∂x = k·dy.
	ka, kb, kc := f.ka[:c], f.kb[:c], f.kc[:c]
	for ch := 0; ch < c; ch++ {
		var sdy, sdyx float64 // Σ dy, Σ dy·(x − μ)
		for _, a := range acc {
			sdy += a[ch]
			sdyx += a[c+ch]
		}
		mu, inv := f.mean[ch], f.invStd[ch]
		sdyx *= inv
		f.sdy[ch], f.sdyx[ch] = sdy, sdyx
		k := float64(gamma[ch]) * inv
		ka[ch], kb[ch], kc[ch] = k, 0, 0
		if f.training {
			kb[ch] = -k * inv * sdyx / n
			kc[ch] = -k*sdy/n + k*inv*mu*sdyx/n
		}
	}
	chunks(workers, b, func(_, _, lo, hi int) {
		for i := lo; i < hi; i++ {
			for ch := 0; ch < c; ch++ {
				off := (i*c + ch) * hw
				if f.relu && f.deferred {
					bnDxAffMaskRow(dx[off:off+hw], dy[off:off+hw], x[off:off+hw], T(f.scale[ch]), T(f.shift[ch]), T(ka[ch]), T(kb[ch]), T(kc[ch]))
				} else if f.relu {
					bnDxMaskRow(dx[off:off+hw], dy[off:off+hw], y[off:off+hw], x[off:off+hw], T(ka[ch]), T(kb[ch]), T(kc[ch]))
				} else {
					bnDxRow(dx[off:off+hw], dy[off:off+hw], x[off:off+hw], T(ka[ch]), T(kb[ch]), T(kc[ch]))
				}
			}
		}
	})
}

// bnGradParamOp is ∂γ = Σ dy·x̂ (beta false) or ∂β = Σ dy (beta true) of a
// bnOp, [1, C, 1, 1], from the sums its bnGradXOp (the op's input, which it
// does not read) left in the forward op.
type bnGradParamOp struct {
	serial uint64 // its hash (writeOpHash)
	fwd    *bnOp
	beta   bool
	out    tensor.Tensor
}

func (op *bnGradParamOp) Arity() int    { return 1 }
func (op *bnGradParamOp) Type() hm.Type { return hm.NewFnType(fourD(), fourD()) }
func (op *bnGradParamOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{1, op.fwd.c, 1, 1}, nil
}
func (op *bnGradParamOp) ReturnsPtr() bool     { return false }
func (op *bnGradParamOp) CallsExtern() bool    { return false }
func (op *bnGradParamOp) OverwritesInput() int { return -1 }
func (op *bnGradParamOp) WriteHash(h hash.Hash) {
	kind := "bngradgamma"
	if op.beta {
		kind = "bngradbeta"
	}
	writeOpHash(h, kind, &op.serial)
}
func (op *bnGradParamOp) Hashcode() uint32 { return hashOf(op) }
func (op *bnGradParamOp) String() string {
	if op.beta {
		return fmt.Sprintf("BatchNormGradBeta%v", op.fwd.shape)
	}
	return fmt.Sprintf("BatchNormGradGamma%v", op.fwd.shape)
}

func (op *bnGradParamOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	f := op.fwd
	if _, err := denseN(op.String(), vals, f.dt, f.shape); err != nil {
		return nil, err
	}
	src := f.sdyx
	if op.beta {
		src = f.sdy
	}
	out := owned(&op.out, f.dt, tensor.Shape{1, f.c, 1, 1})
	switch d := out.Data().(type) {
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, src)
	}
	return out, nil
}
