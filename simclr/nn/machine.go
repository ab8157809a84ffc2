package nn

import (
	"errors"
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Machine runs a Net's graph on gorgonia's TapeMachine and hides its
// traps:
//   - BatchNorm mode follows the Net (Build's train), and making a
//     machine does not wipe the running statistics (gorgonia resets them
//     to mean 0 / variance 1 whenever a training machine is made);
//   - Run resets the tape before running, so a forgotten Reset never turns
//     the next run into a silent no-op, and zeroes the parameter gradients,
//     so they are exactly this run's (gorgonia accumulates them);
//   - Run copies inputs into the input nodes' tensors (no reallocation,
//     no dtype mismatch: every input is float32, checked by length);
//   - after Run, Value() of the loss, H, Z, Logits and the extra outputs
//     given to Compile is this run's, even where gorgonia reused the
//     node's memory for a later operation.
type Machine struct {
	net     *Net
	vm      gorgonia.VM
	inputs  gorgonia.Nodes // the graph's input nodes other than parameters
	learn   gorgonia.Nodes // the parameters the loss depends on (nil: forward machine)
	watched gorgonia.Nodes // nodes whose values Run makes safe
	closed  bool

	arena  []float32 // the float32 memory of the shared buffers (buffers.go)
	lender *Machine  // whose arena holds this machine's buffers (CompileBorrowing), until Close
	lent   bool      // a machine not yet closed has its buffers in arena

	// Buffers: the output memory of the package's ops, shared between
	// nodes whose lifetimes do not overlap (see buffers.go).
	Buffers BufferStats
}

// Compile makes a machine for the whole graph.
//
// loss != nil: a training machine; the net must be built with train = true.
// gorgonia.Grad adds the gradients of loss with respect to the parameters
// it depends on (Machine.Learnables: all of Net.Learnables unless, say, a
// net with both head and classifier is trained on one of them), and after
// each Run each of those parameter nodes carries its gradient for a solver
// (gorgonia.NodesToValueGrads(m.Learnables())). A net's graph can be
// differentiated for one loss only: a second Compile with the same loss
// reuses the gradients, with another loss is an error.
//
// loss == nil: a forward machine (no gradients). On a net built with
// train = false it is the inference machine (BatchNorm with running
// statistics); on a training net BatchNorm still uses batch statistics and
// updates the running ones (and a gradient subgraph added by an earlier
// Compile(loss) runs too: gorgonia compiles the whole graph).
//
// outputs are extra nodes whose values are read after Run (H, Z, Logits
// and loss are always safe to read; NTXent's sim is safe by construction).
// Every input node of the graph (X, NewInput nodes, any gorgonia input
// added by the caller) must be fed at each Run.
func (n *Net) Compile(loss *gorgonia.Node, outputs ...*gorgonia.Node) (*Machine, error) {
	return n.compile(nil, loss, outputs)
}

// CompileBorrowing is Compile with the new machine's shared buffers in
// the memory of lender's (a machine of another net, say the training
// network while the kNN monitor extracts features between its epochs)
// when they fit there, so that the two need no more memory than the
// lender alone; else the new machine has its own, as Compile's. Until the
// new machine is closed, lender is lent: its Run fails. Its next Run
// after that is what it would have been without the loan, bit for bit
// (every op writes all of its output at every run, TestBufferSharingExact),
// but the values of its last run other than those Compile makes safe
// (loss, H, Z, Logits, the outputs given to Compile; and the parameters'
// gradients) are lost: read them before lending.
func (n *Net) CompileBorrowing(lender *Machine, loss *gorgonia.Node, outputs ...*gorgonia.Node) (*Machine, error) {
	switch {
	case lender == nil:
		return nil, errors.New("nn: compile: nil lender")
	case lender.closed:
		return nil, errors.New("nn: compile: the lender is closed")
	case lender.lent:
		return nil, errors.New("nn: compile: the lender's buffers are lent already")
	case lender.net == n:
		return nil, errors.New("nn: compile: a net cannot borrow from its own machine")
	}
	return n.compile(lender, loss, outputs)
}

func (n *Net) compile(lender *Machine, loss *gorgonia.Node, outputs gorgonia.Nodes) (*Machine, error) {
	m := &Machine{net: n}
	// Before differentiating: the gradient ops depend on the choice.
	n.deferBNs(append(gorgonia.Nodes{loss, n.H, n.Z, n.Logits}, outputs...))
	if loss != nil {
		if err := n.checkNode(loss, "loss"); err != nil {
			return nil, err
		}
		if !loss.IsScalar() {
			return nil, fmt.Errorf("nn: compile: the loss must be a scalar, got shape %v", loss.Shape())
		}
		if !n.Train {
			return nil, errors.New("nn: compile: a training machine needs a net built with train = true " +
				"(gorgonia's BatchNorm backward is wrong in inference mode)")
		}
		m.learn = n.dependencies(loss)
		if len(m.learn) == 0 {
			return nil, errors.New("nn: compile: the loss depends on no parameter of the net")
		}
		if err := n.differentiate(loss, m.learn); err != nil {
			return nil, err
		}
	}
	for _, o := range outputs {
		if err := n.checkNode(o, "output"); err != nil {
			return nil, err
		}
	}
	for _, w := range append(gorgonia.Nodes{loss, n.H, n.Z, n.Logits}, outputs...) {
		if w != nil && !m.watched.Contains(w) {
			m.watched = append(m.watched, w)
			n.watch(w)
		}
	}
	for _, w := range m.watched {
		if err := checkNotDeferred(w); err != nil {
			return nil, err
		}
	}
	learn := n.Learnables()
	for _, in := range n.G.Inputs() {
		if !learn.Contains(in) {
			m.inputs = append(m.inputs, in)
		}
	}

	opts := []gorgonia.VMOpt{}
	if len(m.learn) > 0 {
		opts = append(opts, gorgonia.BindDualValues(m.learn...))
	}
	if !n.Train {
		opts = append(opts, gorgonia.EvalMode())
	}
	// NewTapeMachine resets the running statistics of gorgonia's own
	// BatchNormOps; the net's are bnOps, which it leaves alone, and saving
	// and restoring them keeps Compile from changing them whatever the op.
	saved := n.runningStats()
	// A net compiled a second time keeps private buffers: the first
	// machine's plan does not hold for the second program.
	share := !n.noSharing && !n.compiled
	n.compiled = true
	var spare []float32
	if lender != nil {
		spare = lender.arena
	}
	vm, stats, arena, err := newTapeMachine(n.G, m.watched, share, spare, opts...)
	if err != nil {
		return nil, err
	}
	m.Buffers, m.arena = stats, arena
	if stats.Borrowed {
		m.lender, lender.lent = lender, true
	}
	if err := n.setRunningStats(saved); err != nil {
		return nil, err
	}
	m.vm = vm
	return m, nil
}

// ErrHashCollision is Compile's error for a graph in which two nodes have
// the same 32-bit hash: gorgonia.Compile would give both the first one's
// value (op.go). It happens to about one graph in 10⁵ of this package's
// (a few hundred nodes); building the network again gives its ops new
// hashes (simclr does, up to three times). Two colliding leaves (inputs
// and parameters hash by name and shape) collide again: that graph fails.
var ErrHashCollision = errors.New("nn: compile: two nodes of the graph have one hash (gorgonia would merge them); build the network again")

// hashCollision returns two nodes of g with the same Hashcode, if any.
// gorgonia's AddNode keeps one node per hash for equal nodes (same op
// hash, children, type and shape), so two nodes of a graph with one hash
// are different nodes.
func hashCollision(g *gorgonia.ExprGraph) (a, b *gorgonia.Node, ok bool) {
	seen := make(map[uint32]*gorgonia.Node)
	for _, n := range g.AllNodes() {
		h := n.Hashcode()
		if m, dup := seen[h]; dup && m != n {
			return m, n, true
		}
		seen[h] = n
	}
	return nil, nil, false
}

// newTapeMachine turns gorgonia's compile panics into errors.
// newTapeMachine compiles g, plans the output buffers of the package's ops
// (planBuffers; keep must outlive the run) and makes the machine.
// The float32 arena is spare's when it fits there.
func newTapeMachine(g *gorgonia.ExprGraph, keep gorgonia.Nodes, share bool, spare []float32, opts ...gorgonia.VMOpt) (vm gorgonia.VM, st BufferStats, arena []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nn: compile graph: %v", r)
		}
	}()
	if a, b, ok := hashCollision(g); ok {
		return nil, st, nil, fmt.Errorf("%w: %v and %v", ErrHashCollision, a, b)
	}
	prog, locMap, err := gorgonia.Compile(g)
	if err != nil {
		return nil, st, nil, fmt.Errorf("nn: compile graph: %w", err)
	}
	register := func(x *gorgonia.Node) (any, bool) {
		r, ok := locMap[x]
		return r, ok
	}
	if st, arena, err = planBuffers(g, register, keep, share, spare); err != nil {
		return nil, st, nil, err
	}
	opts = append(opts, gorgonia.WithPrecompiled(prog, locMap), gorgonia.WithEngine(addEngine{}))
	return gorgonia.NewTapeMachine(g, opts...), st, arena, nil
}

// checkNode checks that x is a node of this net's graph with its dtype.
func (n *Net) checkNode(x *gorgonia.Node, what string) error {
	if x == nil {
		return fmt.Errorf("nn: compile: nil %s node", what)
	}
	if x.Graph() != n.G {
		return fmt.Errorf("nn: compile: %s node %q belongs to another graph", what, x.Name())
	}
	if x.Dtype() != n.dt {
		return fmt.Errorf("nn: compile: %s node %q is %v, the net is %v", what, x.Name(), x.Dtype(), n.dt)
	}
	return nil
}

// dependencies returns the parameters loss is computed from, in
// Learnables order.
func (n *Net) dependencies(loss *gorgonia.Node) gorgonia.Nodes {
	seen := map[*gorgonia.Node]bool{}
	stack := gorgonia.Nodes{loss}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[x] {
			continue
		}
		seen[x] = true
		it := n.G.From(x.ID())
		for it.Next() {
			stack = append(stack, it.Node().(*gorgonia.Node))
		}
	}
	var out gorgonia.Nodes
	for _, p := range n.params {
		if seen[p.node] {
			out = append(out, p.node)
		}
	}
	return out
}

// differentiate adds the gradient nodes of loss with respect to wrt once.
func (n *Net) differentiate(loss *gorgonia.Node, wrt gorgonia.Nodes) error {
	if n.gradLoss == loss {
		return nil
	}
	if n.gradLoss != nil {
		return errors.New("nn: compile: this net's graph already has gradients of another loss; " +
			"build a new Net for a new loss")
	}
	grads, err := gorgonia.Grad(loss, wrt...)
	if err != nil {
		return fmt.Errorf("nn: compile: gradients of the loss: %w", err)
	}
	n.gradLoss, n.grads = loss, grads
	return nil
}

// watch adds, once per node, a Read statement that copies the node's value
// while it is live.
func (n *Net) watch(x *gorgonia.Node) {
	if _, ok := n.reads[x]; ok {
		return
	}
	v := new(gorgonia.Value)
	if !x.IsScalar() {
		*v = tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(x.Shape()...))
	}
	gorgonia.Read(x, v)
	n.reads[x] = v
}

// Run copies inputs (one entry per input node: X, and any input added with
// NewInput, each with exactly as many values as the node has) into the
// input tensors and runs the graph once: forward, and for a training
// machine backward. Then read the values (loss.Value(), net.H.Value(), ...;
// they are valid until the next Run) and the gradients, call the solver,
// and call Reset (Run also resets before running, so a missed Reset is
// harmless). A failed Run leaves the machine ready for the next one.
func (m *Machine) Run(inputs map[*gorgonia.Node][]float32) error {
	if m.closed {
		return errors.New("nn: run: machine is closed")
	}
	if m.net.dt != tensor.Float32 {
		return fmt.Errorf("nn: run: the net is %v; Run takes float32 inputs", m.net.dt)
	}
	for x := range inputs {
		if !m.inputs.Contains(x) {
			return fmt.Errorf("nn: run: node %q is not an input of this net", nodeName(x))
		}
	}
	for _, x := range m.inputs {
		data, ok := inputs[x]
		if !ok {
			return fmt.Errorf("nn: run: no data for input %q %v", x.Name(), x.Shape())
		}
		if size := x.Shape().TotalSize(); len(data) != size {
			return fmt.Errorf("nn: run: input %q %v needs %d values, got %d", x.Name(), x.Shape(), size, len(data))
		}
		if x.Dtype() != tensor.Float32 {
			return fmt.Errorf("nn: run: input %q is %v; Run takes float32 data", x.Name(), x.Dtype())
		}
	}
	for _, x := range m.inputs {
		if err := setInput(x, inputs[x]); err != nil {
			return err
		}
	}
	return m.run()
}

// run executes the tape with the inputs already in place.
func (m *Machine) run() error {
	if m.lent {
		return errors.New("nn: run: the machine's buffers are lent to a machine not yet closed (CompileBorrowing)")
	}
	m.vm.Reset()
	for _, p := range m.learn {
		zeroGrad(p)
	}
	if err := m.vm.RunAll(); err != nil {
		m.vm.Reset()
		return fmt.Errorf("nn: run: %w", err)
	}
	for _, w := range m.watched {
		v := *m.net.reads[w]
		if v == nil {
			return fmt.Errorf("nn: run: no value was read for %q", w.Name())
		}
		if err := gorgonia.UnsafeLet(w, v); err != nil {
			return fmt.Errorf("nn: run: bind the value of %q: %w", w.Name(), err)
		}
	}
	return nil
}

// Learnables returns the parameters a training machine computes gradients
// for (nil for a forward machine): pass them to the solver.
func (m *Machine) Learnables() gorgonia.Nodes { return m.learn }

// Reset rewinds the tape for the next Run. Call it after the solver step.
func (m *Machine) Reset() {
	if !m.closed {
		m.vm.Reset()
	}
}

// Close releases the machine. The net stays usable.
func (m *Machine) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	if m.lender != nil {
		m.lender.lent, m.lender = false, nil
	}
	if err := m.vm.Close(); err != nil {
		return fmt.Errorf("nn: close machine: %w", err)
	}
	return nil
}

// setInput copies data into the tensor bound to the input node x, binding
// a new float32 tensor the first time.
func setInput(x *gorgonia.Node, data []float32) error {
	if t, ok := x.Value().(*tensor.Dense); ok {
		if d, ok := t.Data().([]float32); ok && len(d) == len(data) {
			copy(d, data)
			return nil
		}
	}
	if x.Dtype() != tensor.Float32 {
		return fmt.Errorf("nn: run: input %q is %v; Run takes float32 data", x.Name(), x.Dtype())
	}
	t := tensor.New(tensor.WithShape(x.Shape()...), tensor.WithBacking(append([]float32(nil), data...)))
	if err := gorgonia.Let(x, t); err != nil {
		return fmt.Errorf("nn: run: input %q: %w", x.Name(), err)
	}
	return nil
}

// zeroGrad zeroes the gradient a parameter node carries, if any.
func zeroGrad(p *gorgonia.Node) {
	g, err := p.Grad()
	if err != nil {
		return
	}
	if t, ok := g.(tensor.Tensor); ok {
		t.Zero()
	}
}

func nodeName(x *gorgonia.Node) string {
	if x == nil {
		return "<nil>"
	}
	return x.Name()
}
