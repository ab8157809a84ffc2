package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// Deferred batch norms. A BN (+ ReLU) whose output is read only by ops
// that can apply it themselves — a convolution copying its input into
// phase planes, a residual add + ReLU — need not store that output: the op
// computes its statistics and coefficients, passes x on as its value, and
// each consumer applies x·scale + shift (and the ReLU) as it loads x
// (bnOp's doc). In resnet-small that is every BN: the stem's and each
// block's first BN + ReLU (at batch 256, 71 of the 250 MB of activations
// the backward pass keeps) and the BNs before the residual adds (outputs
// the backward pass does not keep, but a pass over memory each).
//
// The first Compile of a net chooses (a later Compile must not change
// what the ops already differentiated assume); a node a caller reads after
// the run (Compile's outputs) is never deferred, since its value would be
// x. Nets with noDefer keep every output, for the tests that compare the
// two bit for bit.

// deferBNs marks the BN ops whose consumers all apply them, and tells the
// consumers. keep are the nodes read after runs.
func (n *Net) deferBNs(keep gorgonia.Nodes) {
	if n.deferChecked {
		return
	}
	n.deferChecked = true
	if n.noDefer {
		return
	}
	for _, l := range n.bns {
		if keep.Contains(l.node) {
			continue
		}
		var convs []*convOp
		var adds []*reluOp
		ok := true
		it := n.G.To(l.node.ID())
		for it.Next() && ok {
			c := it.Node().(*gorgonia.Node)
			switch op := c.Op().(type) {
			case *convOp:
				ok = op.g.padded && op.x == l.node
				convs = append(convs, op)
			case *reluOp:
				in := op.inputs
				ok = op.arity == 2 && len(op.shape) == 4 && (in[0] == l.node) != (in[1] == l.node)
				adds = append(adds, op)
			default:
				ok = false
			}
		}
		if !ok || len(convs)+len(adds) == 0 {
			continue
		}
		l.op.deferred = true
		for _, op := range convs {
			op.pre = l.op
		}
		for _, op := range adds {
			for i, in := range op.inputs {
				if in == l.node {
					op.pre[i] = l.op
				}
			}
		}
	}
}

// checkNotDeferred refuses to read a deferred BN's node after a run.
func checkNotDeferred(x *gorgonia.Node) error {
	if op, ok := x.Op().(*bnOp); ok && op.deferred {
		return fmt.Errorf("nn: compile: node %v is a deferred batch norm, whose value is its input; "+
			"pass it to the first Compile to keep its output", x)
	}
	return nil
}

// aliasOf reports whether x's value is its first input's (a deferred BN).
func aliasOf(x *gorgonia.Node) bool {
	op, ok := x.Op().(*bnOp)
	return ok && op.deferred
}
