package nn

import (
	"fmt"
	"math/rand"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Net is one network as a gorgonia graph: encoder, optional projection
// head and optional classifier, with its learnable parameters and
// BatchNorm layers. A Net is used by one goroutine at a time.
//
// Read H, Z, Logits (and the loss and similarity nodes built on them) with
// Value() after Machine.Run and before the next Run; Run makes those values
// safe from gorgonia's register reuse.
type Net struct {
	G      *gorgonia.ExprGraph
	X      *gorgonia.Node // input [B, C, H, W], float32
	H      *gorgonia.Node // representation [B, F] (after global average pool)
	Z      *gorgonia.Node // projection [B, D]; == H for head "none"; nil when Head.Kind == ""
	Logits *gorgonia.Node // [B, Classes] when Classes > 0, else nil

	Arch  Arch // as given to Build, InChannels filled in
	Train bool // BatchNorm mode: batch statistics (true) or running statistics (false)

	dt        tensor.Dtype
	params    []param
	bns       []bnLayer
	convParts workspace // the convolutions' ∂w partial sums (conv2dNode)

	// gradient state: gorgonia caches derivatives in the nodes, so one
	// graph can be differentiated for one loss only.
	gradLoss *gorgonia.Node
	grads    gorgonia.Nodes

	// reads holds, per watched node, the value a Read statement copies at
	// run time (see Machine.Run).
	reads map[*gorgonia.Node]*gorgonia.Value

	// noSharing: every op node keeps its own output buffer (tests compare
	// against it; see buffers.go).
	noSharing bool
	compiled  bool // Compile has run once
	// noDefer: every BN + ReLU stores its output (tests compare against
	// it; see deferred.go); deferChecked: the first Compile has chosen.
	noDefer      bool
	deferChecked bool
}

type param struct {
	name string
	node *gorgonia.Node
}

type bnLayer struct {
	name     string
	op       *bnOp
	node     *gorgonia.Node // the op's output
	channels int
}

// Build makes the graph of arch for input batches of shape [batch, c, h, w]
// in float32, with parameters initialised deterministically from seed
// (conv: Kaiming normal, fan_out, ReLU gain, as torchvision's ResNet;
// BN: γ = 1, β = 0, running mean 0, variance 1; linear: PyTorch's
// U(±1/√fan_in) for weight and bias). train = true: BatchNorm normalises
// with batch statistics and updates its running statistics on every run;
// train = false: BatchNorm uses the running statistics (inference mode).
func Build(arch Arch, batch, c, h, w int, train bool, seed int64) (*Net, error) {
	return build(arch, batch, c, h, w, train, seed, tensor.Float32)
}

// build is Build for a dtype; tests build float64 graphs for finite
// differences.
func build(arch Arch, batch, c, h, w int, train bool, seed int64, dt tensor.Dtype) (*Net, error) {
	if err := arch.validate(); err != nil {
		return nil, err
	}
	r, err := arch.Encoder.resolve()
	if err != nil {
		return nil, err
	}
	if batch <= 0 || c <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("nn: input shape [%d, %d, %d, %d] must be positive", batch, c, h, w)
	}
	if train && batch < 2 {
		return nil, fmt.Errorf("nn: training-mode BatchNorm needs a batch of at least 2, got %d", batch)
	}
	if arch.Encoder.InChannels != 0 && arch.Encoder.InChannels != c {
		return nil, fmt.Errorf("nn: encoder expects %d input channels, input has %d", arch.Encoder.InChannels, c)
	}
	arch.Encoder.InChannels = c
	g := gorgonia.NewGraph()
	n := &Net{G: g, Arch: arch, Train: train, dt: dt, reads: map[*gorgonia.Node]*gorgonia.Value{}}
	b := &builder{net: n, g: g, dt: dt, rng: rand.New(rand.NewSource(seed)), momentum: arch.momentum(), fuseStats: train}

	n.X = n.NewInput("x", batch, c, h, w)
	y, err := b.conv2d("enc.stem.conv", n.X, r.stemWidth, 3, 1, 1)
	if err != nil {
		return nil, err
	}
	if y, err = b.batchNormReLU("enc.stem.bn", y); err != nil {
		return nil, err
	}
	for si, st := range r.stages {
		for bi := 0; bi < st.blocks; bi++ {
			stride := 1
			if bi == 0 {
				stride = st.stride
			}
			if y, err = b.basicBlock(fmt.Sprintf("enc.s%d.b%d", si+1, bi), y, st.width, stride); err != nil {
				return nil, err
			}
		}
	}
	if n.H, err = b.globalAvgPool(y); err != nil {
		return nil, err
	}
	feat := r.stages[len(r.stages)-1].width

	switch arch.Head.Kind {
	case "":
	case HeadNone:
		n.Z = n.H
	case HeadLinear:
		if n.Z, err = b.linear("head.l1", n.H, arch.Head.Out); err != nil {
			return nil, err
		}
	case HeadNonlinear:
		hidden := arch.Head.Hidden
		if hidden == 0 {
			hidden = feat
		}
		z, err := b.linear("head.l1", n.H, hidden)
		if err != nil {
			return nil, err
		}
		if z, err = b.relu(z); err != nil {
			return nil, err
		}
		if n.Z, err = b.linear("head.l2", z, arch.Head.Out); err != nil {
			return nil, err
		}
	}
	if arch.Classes > 0 {
		if n.Logits, err = b.linear("cls", n.H, arch.Classes); err != nil {
			return nil, err
		}
	}
	if !train {
		for _, l := range n.bns {
			if err := l.op.SetTraining(false); err != nil {
				return nil, fmt.Errorf("nn: %s: %w", l.name, err)
			}
		}
	}
	return n, nil
}

// NewInput adds an input node of the net's dtype (float32 for Build) with
// a zeroed value of the given shape, e.g. the one-hot labels of a
// classifier loss. Machine.Run copies data into it.
func (n *Net) NewInput(name string, shape ...int) *gorgonia.Node {
	t := tensor.New(tensor.Of(n.dt), tensor.WithShape(shape...))
	return gorgonia.NewTensor(n.G, n.dt, len(shape), gorgonia.WithShape(shape...),
		gorgonia.WithName(name), gorgonia.WithValue(t))
}

// Learnables returns the parameter nodes in a fixed order (the order of
// construction: encoder, head, classifier). Each node's Name() is the
// parameter name used by State and NoDecay.
func (n *Net) Learnables() gorgonia.Nodes {
	out := make(gorgonia.Nodes, len(n.params))
	for i, p := range n.params {
		out[i] = p.node
	}
	return out
}

// ParamNames returns the parameter names in Learnables order.
func (n *Net) ParamNames() []string {
	out := make([]string, len(n.params))
	for i, p := range n.params {
		out[i] = p.name
	}
	return out
}

// NumParams returns the number of learnable scalars (conv, BN γ and β,
// linear weights and biases; BN running statistics are not parameters).
func (n *Net) NumParams() int {
	total := 0
	for _, p := range n.params {
		total += p.node.Shape().TotalSize()
	}
	return total
}

// isHeadOrClassifier reports whether a parameter or BN layer name belongs
// to the projection head or the classifier.
func isHeadOrClassifier(name string) bool {
	return strings.HasPrefix(name, "head.") || strings.HasPrefix(name, "cls.")
}
