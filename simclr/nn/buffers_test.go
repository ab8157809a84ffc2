package nn

import (
	"math"
	"math/rand"
	"runtime"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestBufferSharingExact trains each graph the package builds — SimCLR with
// every head kind, and a classifier (the supervised baseline and
// fine-tuning) — for three steps three times: with one buffer per node and
// every BN output stored (the reference), with deferred BNs (deferred.go),
// and with deferred BNs and buffer sharing, the last also with one worker
// and with five (GOMAXPROCS: the ops' partial sums are per chunk of the
// batch, whichever worker takes it); it requires the same losses
// and parameter gradients bit for bit: a buffer handed to a node while
// another still needed it, or a deferred BN applied differently by a
// consumer than by the op itself, would change them. It also requires that
// sharing saved memory and that every BN was deferred.
func TestBufferSharingExact(t *testing.T) {
	const n, c, hw = 8, 1, 12
	cases := []struct {
		name string
		arch Arch
	}{
		{"none", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Head: HeadSpec{Kind: HeadNone}}},
		{"linear", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Head: HeadSpec{Kind: HeadLinear, Out: 8}}},
		{"nonlinear", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Head: HeadSpec{Kind: HeadNonlinear, Hidden: 16, Out: 8}}},
		{"classifier", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Classes: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := func(share, deferBN bool) (losses []float64, grads [][]float32, st BufferStats) {
				net, err := Build(tc.arch, 2*n, c, hw, hw, true, 7)
				if err != nil {
					t.Fatal(err)
				}
				net.noSharing = !share
				net.noDefer = !deferBN
				var loss, onehot *gorgonia.Node
				if tc.arch.Classes > 0 {
					onehot = net.NewInput("onehot", 2*n, tc.arch.Classes)
					loss, err = SoftmaxCrossEntropy(net.Logits, onehot)
				} else {
					loss, _, err = NTXent(net.Z, n, 0.5)
				}
				if err != nil {
					t.Fatal(err)
				}
				m := mustCompile(t, net, loss)
				deferred := 0
				for _, l := range net.bns {
					if l.op.deferred {
						deferred++
					}
				}
				if want := map[bool]int{false: 0, true: len(net.bns)}[deferBN]; deferred != want {
					t.Fatalf("%d of %d batch norms deferred, want %d", deferred, len(net.bns), want)
				}
				rng := rand.New(rand.NewSource(3))
				for step := 0; step < 3; step++ {
					in := map[*gorgonia.Node][]float32{net.X: randf32(rng, 2*n*c*hw*hw)}
					if onehot != nil {
						oh := make([]float32, 2*n*tc.arch.Classes)
						for i := 0; i < 2*n; i++ {
							oh[i*tc.arch.Classes+rng.Intn(tc.arch.Classes)] = 1
						}
						in[onehot] = oh
					}
					if err := m.Run(in); err != nil {
						t.Fatal(err)
					}
					losses = append(losses, scalarValue(t, loss))
					for _, p := range m.Learnables() {
						g, err := p.Grad()
						if err != nil {
							t.Fatal(err)
						}
						gd := append([]float32(nil), g.Data().([]float32)...)
						grads = append(grads, gd)
						w := p.Value().Data().([]float32)
						for i := range w {
							w[i] -= 0.1 * gd[i] // plain SGD, so that later steps see new weights
						}
					}
				}
				return losses, grads, m.Buffers
			}
			wantLoss, wantGrads, private := run(false, false)
			for _, mode := range []struct {
				name           string
				share, deferBN bool
				procs          int // GOMAXPROCS, 0: as it is
			}{
				{"deferred BNs", false, true, 0},
				{"deferred BNs and shared buffers", true, true, 0},
				{"one worker", true, true, 1},
				{"five workers", true, true, 5},
			} {
				procs := runtime.GOMAXPROCS(mode.procs)
				gotLoss, gotGrads, _ := run(mode.share, mode.deferBN)
				runtime.GOMAXPROCS(procs)
				for i := range wantLoss {
					if math.Float64bits(gotLoss[i]) != math.Float64bits(wantLoss[i]) {
						t.Fatalf("step %d: loss %v with %s, %v without", i, gotLoss[i], mode.name, wantLoss[i])
					}
				}
				for i := range wantGrads {
					for j := range wantGrads[i] {
						if math.Float32bits(gotGrads[i][j]) != math.Float32bits(wantGrads[i][j]) {
							t.Fatalf("gradient %d[%d]: %v with %s, %v without", i, j, gotGrads[i][j], mode.name, wantGrads[i][j])
						}
					}
				}
			}
			_, _, shared := run(true, true)
			if private.Bytes != private.Unshared || private.Shared != 0 {
				t.Errorf("without sharing: %+v, want Bytes == Unshared and nothing shared", private)
			}
			if shared.Shared == 0 || shared.Bytes >= shared.Unshared {
				t.Errorf("with sharing: %+v, want some nodes sharing and fewer bytes", shared)
			}
			t.Logf("%s: %d of %d nodes share; %d KB instead of %d KB", tc.name, shared.Shared, shared.Nodes, shared.Bytes>>10, shared.Unshared>>10)
		})
	}
}

// TestDeferredRegisters compiles every kind of net the package builds —
// both encoders, every head, the classifier; training and inference
// machines — with deferred BNs: planBuffers refuses a graph in which a
// gorgonia op could inherit the register of a deferred BN or of its input
// (and overwrite the buffer they share), so compiling is the check. Every
// BN must have been deferred.
func TestDeferredRegisters(t *testing.T) {
	encoders := []EncoderSpec{{Preset: PresetResNetSmall, Width: 4}, {Preset: PresetResNet18, Width: 4}}
	heads := []HeadSpec{{Kind: HeadNone}, {Kind: HeadLinear, Out: 8}, {Kind: HeadNonlinear, Hidden: 8, Out: 8}}
	const n, c, hw = 4, 3, 8
	for _, enc := range encoders {
		var archs []Arch
		for _, h := range heads {
			archs = append(archs, Arch{Encoder: enc, Head: h})
		}
		archs = append(archs, Arch{Encoder: enc, Classes: 3})
		for _, arch := range archs {
			for _, train := range []bool{true, false} {
				net, err := Build(arch, 2*n, c, hw, hw, train, 1)
				if err != nil {
					t.Fatal(err)
				}
				var loss *gorgonia.Node
				switch {
				case train && arch.Classes > 0:
					loss, err = SoftmaxCrossEntropy(net.Logits, net.NewInput("onehot", 2*n, arch.Classes))
				case train:
					loss, _, err = NTXent(net.Z, n, 0.5)
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := net.Compile(loss); err != nil {
					t.Fatalf("%s encoder, head %q, classes %d, train %v: %v", enc.Preset, arch.Head.Kind, arch.Classes, train, err)
				}
				for _, l := range net.bns {
					if !l.op.deferred {
						t.Errorf("%s encoder, head %q, train %v: %s not deferred", enc.Preset, arch.Head.Kind, train, l.name)
					}
				}
			}
		}
	}
}
