package nn

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Buffer sharing. Each of the package's ops writes its output into a
// buffer it owns and reuses every run (owned). Left alone, that is one
// buffer per node: at batch 256 (512 views of 28×28) the forward
// activations and the backward activation gradients of resnet-small are
// about 300 MB each. An activation gradient is dead once the layer below
// has consumed it, and a forward activation once its backward ops have
// run, so planBuffers gives nodes whose lifetimes do not overlap the same
// memory, as PyTorch's caching allocator does.
//
// Lifetimes come from the order the tape machine runs the nodes in (the
// reverse of gorgonia.Sort, as gorgonia.Compile uses) and the graph's
// edges: a buffer is live from its node's position to the last position
// of a node that reads it, following nodes that alias their input
// (ReturnsPtr, OverwritesInput). Two gorgonia traps make some nodes
// unshareable, and planBuffers leaves those with a buffer of their own:
//   - the tape machine reuses registers, and a gorgonia op that implements
//     UsePreallocDoer writes into whatever value its register held: when
//     one of our nodes shares a register with any node that is not ours,
//     that node could write into our buffer after our node is dead, while
//     the buffer belongs to another node; so only nodes whose registers
//     hold nothing but our pooled ops' outputs share;
//   - nodes read after the run (the loss, H, Z, Logits, Compile's outputs)
//     and gradients bound to parameters must survive the whole run.
//
// Every pooled op writes all of its output every run (none relies on a
// zeroed buffer), which TestBufferSharingExact checks against a machine
// without sharing, bit for bit.

// pooled is implemented by the ops whose output buffer may be shared.
type pooled interface {
	outBuf() *tensor.Tensor
	outShape() (tensor.Dtype, tensor.Shape)
}

func (op *convOp) outBuf() *tensor.Tensor                      { return &op.out }
func (op *convOp) outShape() (tensor.Dtype, tensor.Shape)      { return op.g.dt, op.g.yShape }
func (op *convGradXOp) outBuf() *tensor.Tensor                 { return &op.out }
func (op *convGradXOp) outShape() (tensor.Dtype, tensor.Shape) { return op.g.dt, op.g.xShape }
func (op *bnOp) outBuf() *tensor.Tensor                        { return &op.out }
func (op *bnOp) outShape() (tensor.Dtype, tensor.Shape)        { return op.dt, op.shape }
func (op *bnGradXOp) outBuf() *tensor.Tensor                   { return &op.out }
func (op *bnGradXOp) outShape() (tensor.Dtype, tensor.Shape)   { return op.fwd.dt, op.fwd.shape }
func (op *reluOp) outBuf() *tensor.Tensor                      { return &op.out }
func (op *reluOp) outShape() (tensor.Dtype, tensor.Shape)      { return op.dt, op.shape }
func (op *reluGradOp) outBuf() *tensor.Tensor                  { return &op.out }
func (op *reluGradOp) outShape() (tensor.Dtype, tensor.Shape)  { return op.fwd.dt, op.fwd.shape }

// BufferStats describes a machine's output buffers of the package's ops.
type BufferStats struct {
	Nodes, Shared int   // pooled-op nodes; of those, how many share memory
	Bytes         int64 // the pooled ops' output memory after sharing
	Unshared      int64 // what it would be with one buffer per node
	Borrowed      bool  // the shared float32 buffers are another machine's (CompileBorrowing)
}

// planBuffers assigns the output buffers of the pooled ops of g, given the
// machine's register of every node (gorgonia.Compile's locMap, passed as a
// lookup because its type is gorgonia's own) and the nodes that must live
// until the end of the run. share = false gives every node its own buffer.
// The float32 arena is spare's first elements when spare is long enough,
// else new; it is returned.
func planBuffers(g *gorgonia.ExprGraph, register func(*gorgonia.Node) (any, bool), keep gorgonia.Nodes, share bool, spare []float32) (BufferStats, []float32, error) {
	var st BufferStats
	order, err := gorgonia.Sort(g)
	if err != nil {
		return st, nil, fmt.Errorf("nn: sort graph: %w", err)
	}
	slices.Reverse(order)
	pos := make(map[*gorgonia.Node]int, len(order))
	for i, x := range order {
		pos[x] = i
	}
	consumers := make(map[*gorgonia.Node]gorgonia.Nodes)
	for _, x := range order {
		it := g.From(x.ID())
		for it.Next() {
			c := it.Node().(*gorgonia.Node)
			consumers[c] = append(consumers[c], x)
		}
	}

	// Registers that hold anything but a pooled op's output.
	foreign := make(map[any]bool)
	for _, x := range order {
		r, ok := register(x)
		if !ok {
			continue
		}
		if _, mine := x.Op().(pooled); !mine {
			foreign[r] = true
		}
		if aliasOf(x) {
			// A deferred BN's register holds its input's buffer: that
			// buffer is private when a foreign op may write into the
			// register (below); our ops never do.
			delete(foreign, r)
		}
	}
	end := len(order) // "live until the run ends"
	var lastUse func(x *gorgonia.Node, depth int) int
	lastUse = func(x *gorgonia.Node, depth int) int {
		if slices.Contains(keep, x) || len(consumers[x]) == 0 || depth > 64 {
			return end
		}
		last := pos[x]
		for _, c := range consumers[x] {
			u := pos[c]
			if op := c.Op(); op != nil && (op.ReturnsPtr() || op.OverwritesInput() >= 0 || aliasOf(c)) {
				u = lastUse(c, depth+1) // c's output may be x's memory
			}
			last = max(last, u)
		}
		return last
	}

	var ivs []interval
	// A deferred BN's value is its input's buffer, held in two registers:
	// the BN's and the input's. gorgonia frees each register when its own
	// node's last reader has run, which can be before the deferred BN's
	// consumers are done with the buffer; a gorgonia op that inherits
	// either register would then write into a buffer still in use. No
	// graph this package builds has one (TestDeferredRegisters): refuse
	// rather than compute wrong numbers if one ever does.
	foreignOps := make(map[any]gorgonia.Nodes) // register -> the gorgonia op nodes in it
	for _, x := range order {
		if _, mine := x.Op().(pooled); !mine && x.Op() != nil {
			if r, ok := register(x); ok {
				foreignOps[r] = append(foreignOps[r], x)
			}
		}
	}
	overwritable := func(r any, self *gorgonia.Node) bool {
		for _, f := range foreignOps[r] {
			if f != self {
				return true
			}
		}
		return false
	}
	for _, x := range order {
		if op, ok := x.Op().(*bnOp); ok && op.deferred {
			r, _ := register(x)
			rx, _ := register(op.x)
			if overwritable(r, x) || overwritable(rx, op.x) {
				return st, nil, fmt.Errorf("nn: compile: %v is deferred, but a gorgonia op shares its register or its input's "+
					"and could overwrite the buffer they share (a graph this package has not built before: see simclr/nn/deferred.go)", x)
			}
		}
	}
	// aliasForeign: a deferred BN consuming x has a register a foreign op
	// may write into.
	aliasForeign := func(x *gorgonia.Node) bool {
		for _, c := range consumers[x] {
			if r, ok := register(c); ok && aliasOf(c) && foreign[r] {
				return true
			}
		}
		return false
	}
	for _, x := range order {
		op, ok := x.Op().(pooled)
		if !ok || aliasOf(x) {
			continue
		}
		st.Nodes++
		dt, s := op.outShape()
		st.Unshared += int64(s.TotalSize() * int(dt.Size()))
		*op.outBuf() = nil
		r, hasReg := register(x)
		if !share || !hasReg || foreign[r] || aliasForeign(x) || len(x.DerivOf()) > 0 && derivOfParam(x) {
			st.Bytes += int64(s.TotalSize() * int(dt.Size()))
			continue // owned() allocates a private buffer at the first run
		}
		ivs = append(ivs, interval{x: x, op: op, start: pos[x], end: lastUse(x, 0)})
	}

	// Offsets in one arena per dtype, largest buffers first (TFLite's
	// "greedy by size"): each buffer goes at the lowest offset where it
	// overlaps no placed buffer whose lifetime overlaps its own; a buffer
	// is free once its last reader has run (end < start: an op never
	// writes into its input). Reusing whole buffers instead (best fit, in
	// program order) strands the small forward buffers of the late stages
	// when the backward pass needs large ones: at batch 256 it needed
	// 302 MB where this packs the same lifetimes into (README) less.
	slices.SortStableFunc(ivs, func(a, b interval) int {
		na, nb := a.n(), b.n()
		if na != nb {
			return nb - na
		}
		return a.start - b.start
	})
	type slot struct {
		dt       tensor.Dtype
		off, n   int
		from, to int
	}
	var slots []slot
	arena := make(map[tensor.Dtype]int) // elements
	for _, iv := range ivs {
		dt, _ := iv.op.outShape()
		n := iv.n()
		var busy []slot // same dtype, lifetime overlapping iv's
		for _, p := range slots {
			if p.dt == dt && p.from <= iv.end && iv.start <= p.to {
				busy = append(busy, p)
			}
		}
		slices.SortFunc(busy, func(a, b slot) int { return a.off - b.off })
		off := 0
		for _, p := range busy {
			if off+n <= p.off {
				break
			}
			off = max(off, p.off+p.n)
		}
		slots = append(slots, slot{dt: dt, off: off, n: n, from: iv.start, to: iv.end})
		arena[dt] = max(arena[dt], off+n)
	}
	mem := make(map[tensor.Dtype]any, len(arena))
	var arena32 []float32
	for dt, n := range arena {
		switch dt {
		case tensor.Float32:
			if len(spare) >= n {
				arena32, st.Borrowed = spare[:n:n], true
			} else {
				arena32 = make([]float32, n)
			}
			mem[dt] = arena32
		case tensor.Float64:
			mem[dt] = make([]float64, n)
		default:
			return st, nil, fmt.Errorf("nn: buffer of dtype %v", dt)
		}
		st.Bytes += int64(n * int(dt.Size()))
	}
	for i, iv := range ivs {
		p := slots[i]
		var data any
		switch d := mem[p.dt].(type) {
		case []float32:
			data = d[p.off : p.off+p.n : p.off+p.n]
		case []float64:
			data = d[p.off : p.off+p.n : p.off+p.n]
		}
		_, s := iv.op.outShape()
		*iv.op.outBuf() = tensor.New(tensor.WithShape(s.Clone()...), tensor.WithBacking(data))
		for j, q := range slots {
			if j != i && q.dt == p.dt && q.off < p.off+p.n && p.off < q.off+q.n {
				st.Shared++ // shares memory with another node
				break
			}
		}
	}
	return st, arena32, nil
}

// interval is a pooled node's output buffer and its lifetime, positions
// in the tape's order.
type interval struct {
	x          *gorgonia.Node
	op         pooled
	start, end int
}

// n is the buffer's length in elements.
func (iv interval) n() int {
	_, s := iv.op.outShape()
	return s.TotalSize()
}

// derivOfParam reports whether x is the gradient of an input node (a
// parameter), which gorgonia binds to the parameter after the run.
func derivOfParam(x *gorgonia.Node) bool {
	for _, p := range x.DerivOf() {
		if p.IsVar() {
			return true
		}
	}
	return false
}
