// Package nn holds the gorgonia graphs of simclr: the ResNet encoder
// (CIFAR stem, BasicBlocks), the projection heads, the linear classifier,
// the NT-Xent and softmax cross-entropy losses, model state for
// checkpoints, and Machine, a wrapper of gorgonia's TapeMachine that
// avoids its traps (docs/gorgonia.md at the repository's root).
//
// A training step:
//
//	net, _ := nn.Build(arch, 2*n, c, h, w, true, seed)   // float32, BN in training mode
//	loss, sim, _ := nn.NTXent(net.Z, n, tau)             // z [2N, d], rows i and i+N a positive pair
//	m, _ := net.Compile(loss)                            // gradients + TapeMachine
//	vgs := gorgonia.NodesToValueGrads(m.Learnables())
//	for each batch {
//		m.Run(map[*gorgonia.Node][]float32{net.X: views}) // forward + backward
//		l := loss.Value()                                // also sim.Value(), net.H.Value(), ...
//		solver.Step(vgs)                                 // updates in place, zeroes the gradients
//		m.Reset()
//	}
//
// Features or predictions come from a second net built with train = false
// (BatchNorm with running statistics), given the trained weights and
// statistics with SetState(trained.State()), and Compile(nil).
//
// Parameter names are dotted paths: "enc.stem.conv.w", "enc.s1.b0.bn1.gamma",
// "enc.s2.b0.short.conv.w", "head.l1.w", "head.l2.b", "cls.w". Conv weights
// are [out, in, k, k] as in PyTorch; linear weights are [in, out] (the
// transpose of PyTorch's) with biases [1, out]; BN γ and β are [1, C, 1, 1].
// NoDecay tells which are excluded from weight decay and LARS adaptation.
//
// The hot layers are custom gorgonia ops (Op + SDOp, each gradient an op
// of its own) that write into buffers kept across runs instead of
// gorgonia's per-run allocations:
//   - conv_op.go: convolution as an implicit GEMM (conv_gemm.go: products
//     over shifted views of each image's zero-bordered phase planes, laid
//     out by geom.go, a kernel row's taps in one product, no im2col
//     matrix); stride-1 convolutions compute ∂x as the convolution of dy
//     with the flipped weights; conv_wino.go runs the forward, and so
//     the ∂x, of the stride-1 3×3 ones as Winograd's F(2×2, 3×3), and
//     their ∂w as its adjoint.
//     conv_ref.go holds the definition the ops must equal. GEMM is gonum's pure-Go BLAS, or OpenBLAS with the
//     openblas build tag (blas_openblas.go: -lopenblas, Debian's
//     libopenblas-dev, single-threaded).
//   - schedule.go: the batch cut into a fixed number of chunks that
//     GOMAXPROCS workers take in turn, partial sums added in chunk order
//     (results do not depend on the number of workers), for the
//     convolutions and batch norms; op.go: glue every op shares.
//   - kernels.go: the row loops of the ops (BN statistics and gradients,
//     ReLU masks, affine maps, row copies), run as AVX2 + FMA assembly
//     (internal/f32) on CPUs that have both, as Go loops otherwise or with
//     the purego build tag; engine.go: gorgonia's gradient sums split
//     between the workers.
//   - bn.go: BatchNorm2d, optionally fused with the ReLU after it, taking
//     its batch statistics from the convolution before it when there is
//     one; relu.go: ReLU and the residual add + ReLU fused.
//   - deferred.go: a BN + ReLU read only by convolutions and residual adds
//     does not store its output; its consumers apply it as they load x.
//
// The layer outputs are buffers planned by buffers.go: nodes whose
// lifetimes do not overlap share memory, packed into one arena per dtype.
// A node's value is valid until the next Run, like every gorgonia register
// (see the last trap below).
//
// The gorgonia v0.9.18 traps handled here, each with a test that fails if
// the handling is removed:
//   - BatchNorm (our bnOp, replacing gorgonia's BatchNormOp): γ/β of shape
//     (1, C, 1, 1) (gorgonia's nil ones are broken, issue #408); PyTorch
//     momentum semantics (0.1); running statistics start at mean 0 /
//     variance 1, survive every Compile and travel in State; inference
//     uses a separate net.
//   - Global average pooling reduces the last axis of a reshape; reductions
//     over middle axes of 4-D tensors are wrong.
//   - Losses use no SoftMax/LogSoftMax and no −Inf: a stop-gradient row
//     maximum, a finite diagonal mask, log-sum-exp by hand.
//   - The tape is reset and the gradients zeroed at every Run; one graph is
//     differentiated for one loss only (gorgonia caches derivatives).
//   - After a run gorgonia has often reused the memory of intermediate
//     nodes for later operations (H came out divided by 4 after a training
//     run): Run makes the values of H, Z, Logits, the loss and Compile's
//     extra outputs right, and NTXent's sim is a node nothing consumes.
//   - gorgonia.Compile merges nodes by their 32-bit hash alone (value
//     numbering, no equality check): of two nodes with one hash, the
//     second silently reads the first's value. The package's ops hash by
//     a serial number never reused (op.go), and Compile refuses a graph
//     with two nodes of one hash (ErrHashCollision; TestHashCollision
//     builds such a graph), which the caller builds again.
//
// Inputs are float32 only through this API; float64 graphs exist for the
// package's finite-difference tests.
package nn
