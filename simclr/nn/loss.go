package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// diagMask is added to the diagonal of the NT-Xent logits: exp of it is 0
// in float32 and float64, and unlike −Inf it gives no NaN in the backward
// pass (−Inf·0). It stays far below every real logit, (sim−1)/τ ≥ −2/τ, for
// τ > 2e-4.
const diagMask = -1e4

// NTXent is the SimCLR loss of z [2N, d], rows i and i+N being the two
// views of image i (Chen et al. 2020, "A Simple Framework for Contrastive
// Learning of Visual Representations", arXiv:2002.05709: ℓ is eq. 1, L
// its mean over the 2N anchors as in Algorithm 1):
//
//	u_i     = z_i / ‖z_i‖
//	s_ik    = u_iᵀ u_k
//	ℓ(i, j) = −log( exp(s_ij/τ) / Σ_{k≠i} exp(s_ik/τ) )
//	L       = 1/(2N) Σ_i ℓ(i, pos(i)),   pos(i) = i+N mod 2N
//
// It returns the scalar loss L and sim [2N, 2N], the cosine similarities
// s (diagonal included), for ContrastiveStats. A collapsed encoder (all
// rows equal) gives L = log(2N−1).
//
// The graph avoids gorgonia's SoftMax (wrong row maxima) and −Inf: logits
// (s−1)/τ ≤ 0, the diagonal gets diagMask, each row is shifted by its
// stop-gradient maximum, and log-sum-exp is Exp/Sum/Log; positives are
// picked with a constant mask matrix. sim is a node of its own with no
// consumer, so its value stays intact after a run.
func NTXent(z *gorgonia.Node, n int, tau float64) (loss, sim *gorgonia.Node, err error) {
	if z == nil {
		return nil, nil, fmt.Errorf("nn: NT-Xent of a nil node (build the net with a projection head)")
	}
	s := z.Shape()
	if len(s) != 2 || s[0] != 2*n || n < 1 {
		return nil, nil, fmt.Errorf("nn: NT-Xent needs z of shape [2N, d] with N = %d, got %v", n, s)
	}
	if !(tau > 0) || math.IsInf(tau, 0) {
		return nil, nil, fmt.Errorf("nn: NT-Xent temperature must be positive and finite, got %g", tau)
	}
	dt := z.Dtype()
	rows := 2 * n
	wrap := func(what string, err error) error { return fmt.Errorf("nn: NT-Xent: %s: %w", what, err) }

	u, err := normalizeRows(z)
	if err != nil {
		return nil, nil, wrap("normalise", err)
	}
	ut, err := gorgonia.Transpose(u)
	if err != nil {
		return nil, nil, wrap("transpose", err)
	}
	if sim, err = gorgonia.Mul(u, ut); err != nil {
		return nil, nil, wrap("similarity", err)
	}
	// logits = (u/τ)·uᵀ − 1/τ, a product of its own so that sim has no
	// consumer (gorgonia may reuse a consumed node's memory).
	us, err := gorgonia.Mul(u, scalar(dt, 1/tau))
	if err != nil {
		return nil, nil, wrap("scale", err)
	}
	logits, err := gorgonia.Mul(us, ut)
	if err != nil {
		return nil, nil, wrap("logits", err)
	}
	if logits, err = gorgonia.Sub(logits, scalar(dt, 1/tau)); err != nil {
		return nil, nil, wrap("shift", err)
	}
	diag := make([]float64, rows*rows)
	pos := make([]float64, rows*rows)
	for i := 0; i < rows; i++ {
		diag[i*rows+i] = diagMask
		pos[i*rows+(i+n)%rows] = 1
	}
	masked, err := gorgonia.Add(logits, matrix(dt, rows, rows, diag))
	if err != nil {
		return nil, nil, wrap("mask", err)
	}
	lossRows, err := crossEntropyRows(masked, matrix(dt, rows, rows, pos))
	if err != nil {
		return nil, nil, wrap("cross-entropy", err)
	}
	if loss, err = gorgonia.Mean(lossRows); err != nil {
		return nil, nil, wrap("mean", err)
	}
	return loss, sim, nil
}

// SoftmaxCrossEntropy is the mean over the batch of the cross-entropy of
// softmax(logits) against target rows (one-hot, or any rows summing to 1):
//
//	L = 1/B Σ_b ( m_b + log Σ_k exp(x_bk − m_b) − Σ_k y_bk x_bk ),  m_b = max_k x_bk
//
// logits and onehot are [B, K] of one dtype. m_b is a stop-gradient row
// maximum (it changes neither the value nor the gradient), so no exp
// exceeds 1 and huge logits in any row give finite values; gorgonia's
// SoftMax/LogSoftMax are not used.
func SoftmaxCrossEntropy(logits, onehot *gorgonia.Node) (*gorgonia.Node, error) {
	if logits == nil || onehot == nil {
		return nil, fmt.Errorf("nn: softmax cross-entropy of a nil node (build the net with Classes > 0)")
	}
	if len(logits.Shape()) != 2 || !logits.Shape().Eq(onehot.Shape()) {
		return nil, fmt.Errorf("nn: softmax cross-entropy needs logits and targets of one [B, K] shape, got %v and %v",
			logits.Shape(), onehot.Shape())
	}
	if logits.Dtype() != onehot.Dtype() {
		return nil, fmt.Errorf("nn: softmax cross-entropy: logits are %v, targets %v; make them one dtype",
			logits.Dtype(), onehot.Dtype())
	}
	rows, err := crossEntropyRows(logits, onehot)
	if err != nil {
		return nil, fmt.Errorf("nn: softmax cross-entropy: %w", err)
	}
	loss, err := gorgonia.Mean(rows)
	if err != nil {
		return nil, fmt.Errorf("nn: softmax cross-entropy: %w", err)
	}
	return loss, nil
}

// crossEntropyRows is, per row b of x [R, K] and targets y [R, K] whose
// rows sum to 1, log Σ_k exp(x_bk) − Σ_k y_bk x_bk, computed on x shifted
// by its stop-gradient row maximum: [R].
func crossEntropyRows(x, y *gorgonia.Node) (*gorgonia.Node, error) {
	m, err := gorgonia.ApplyOp(rowMaxOp{}, x)
	if err != nil {
		return nil, fmt.Errorf("row max: %w", err)
	}
	shifted, err := gorgonia.BroadcastSub(x, m, nil, []byte{1})
	if err != nil {
		return nil, fmt.Errorf("shift: %w", err)
	}
	e, err := gorgonia.Exp(shifted)
	if err != nil {
		return nil, err
	}
	se, err := gorgonia.Sum(e, 1)
	if err != nil {
		return nil, err
	}
	lse, err := gorgonia.Log(se)
	if err != nil {
		return nil, err
	}
	picked, err := gorgonia.HadamardProd(shifted, y)
	if err != nil {
		return nil, fmt.Errorf("pick targets: %w", err)
	}
	ps, err := gorgonia.Sum(picked, 1)
	if err != nil {
		return nil, err
	}
	return gorgonia.Sub(lse, ps)
}

// normEps keeps the row norm of an all-zero row finite: ‖z‖ is computed as
// √(Σ z² + normEps²), PyTorch's F.normalize clamps ‖z‖ at 1e-12.
const normEps = 1e-12

// normalizeRows returns z [R, d] with each row divided by its L2 norm.
func normalizeRows(z *gorgonia.Node) (*gorgonia.Node, error) {
	sq, err := gorgonia.Square(z)
	if err != nil {
		return nil, err
	}
	ss, err := gorgonia.Sum(sq, 1)
	if err != nil {
		return nil, err
	}
	if ss, err = gorgonia.Add(ss, scalar(z.Dtype(), normEps*normEps)); err != nil {
		return nil, err
	}
	norm, err := gorgonia.Sqrt(ss)
	if err != nil {
		return nil, err
	}
	if norm, err = gorgonia.Reshape(norm, tensor.Shape{z.Shape()[0], 1}); err != nil {
		return nil, err
	}
	return gorgonia.BroadcastHadamardDiv(z, norm, nil, []byte{1})
}

// scalar is a constant of dtype dt.
func scalar(dt tensor.Dtype, v float64) *gorgonia.Node {
	if dt == tensor.Float32 {
		return gorgonia.NewConstant(float32(v))
	}
	return gorgonia.NewConstant(v)
}

// matrix is a constant [r, c] matrix of dtype dt.
func matrix(dt tensor.Dtype, r, c int, vals []float64) *gorgonia.Node {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(r, c))
	switch d := t.Data().(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	}
	return gorgonia.NewConstant(t)
}

// ContrastiveStats summarises the value of NTXent's sim, the [2N, 2N]
// row-major cosine-similarity matrix: top1Acc is the fraction of the 2N
// anchors whose positive (i+N mod 2N) is strictly more similar than every
// other view k ≠ i (a collapsed encoder scores 0); posCos is the mean
// cosine similarity of the positive pairs. It panics if len(sim) != 4n².
func ContrastiveStats(sim []float32, n int) (top1Acc, posCos float64) {
	rows := 2 * n
	if n < 1 || len(sim) != rows*rows {
		panic(fmt.Sprintf("nn: ContrastiveStats: sim has %d values, want (2·%d)² = %d", len(sim), n, rows*rows))
	}
	hits := 0
	for i := 0; i < rows; i++ {
		row := sim[i*rows : (i+1)*rows]
		j := (i + n) % rows
		p := row[j]
		posCos += float64(p)
		best := true
		for k, v := range row {
			if k != i && k != j && v >= p {
				best = false
				break
			}
		}
		if best {
			hits++
		}
	}
	return float64(hits) / float64(rows), posCos / float64(rows)
}
