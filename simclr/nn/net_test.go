package nn

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// smallArch is resnet-small at width 4 (stages 4, 8, 16) with every part:
// nonlinear head and classifier.
func smallArch() Arch {
	return Arch{
		Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4},
		Head:    HeadSpec{Kind: HeadNonlinear, Out: 8},
		Classes: 3,
	}
}

func toF64(x []float32) []float64 { return toFloat64s(x) }

// cosines is the [r, r] cosine-similarity matrix of the rows of z.
func cosines(z []float64, r int) []float64 {
	d := len(z) / r
	out := make([]float64, r*r)
	for i := 0; i < r; i++ {
		for j := 0; j < r; j++ {
			dot, ni, nj := 0.0, 0.0, 0.0
			for k := 0; k < d; k++ {
				dot += z[i*d+k] * z[j*d+k]
				ni += z[i*d+k] * z[i*d+k]
				nj += z[j*d+k] * z[j*d+k]
			}
			out[i*r+j] = dot / math.Sqrt(ni*nj)
		}
	}
	return out
}

// TestNetMatchesReference trains a small net for two steps and checks, in
// training mode, H, Z, Logits and the BN running statistics (momentum 0.1,
// unbiased variance) against the plain-Go reference; then an inference net
// of another seed, given the trained State, must compute with the running
// statistics, for two inputs in a row (no Reset between the runs).
//
// It also catches a gorgonia trap: after a training RunAll, H.Value() and
// Z.Value() are normally garbage (the backward pass reuses their memory;
// H came out divided by 4 when we tried); Run must make them right.
func TestNetMatchesReference(t *testing.T) {
	const n, c, hw = 2, 2, 7 // 7x7: stride-2 stages give 4x4 and 2x2
	arch := smallArch()
	net, err := Build(arch, 2*n, c, hw, hw, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, sim, err := NTXent(net.Z, n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	solver := gorgonia.NewMomentum(gorgonia.WithLearnRate(0.5), gorgonia.WithMomentum(0.9))
	r := rand.New(rand.NewSource(5))
	for step := 0; step < 2; step++ {
		before, err := net.State()
		if err != nil {
			t.Fatal(err)
		}
		x := randf32(r, 2*n*c*hw*hw)
		if err := m.Run(map[*gorgonia.Node][]float32{net.X: x}); err != nil {
			t.Fatal(err)
		}
		ref, h, z, logits := refForward(t, before, arch, toF64(x), 2*n, c, hw, hw, true)
		checkClose(t, "train H", values(t, net.H), h, 2e-4, 2e-4)
		checkClose(t, "train Z", values(t, net.Z), z, 2e-4, 2e-4)
		checkClose(t, "train Logits", values(t, net.Logits), logits, 2e-4, 2e-4)
		checkClose(t, "train sim", values(t, sim), cosines(z, 2*n), 2e-4, 2e-4)
		after, err := net.State()
		if err != nil {
			t.Fatal(err)
		}
		for name, st := range before.BN {
			var wantMean, wantVar []float64
			for i := range st.Mean {
				wantMean = append(wantMean, 0.9*float64(st.Mean[i])+0.1*ref.batchMean[name][i])
				wantVar = append(wantVar, 0.9*float64(st.Var[i])+0.1*ref.batchVarUnbiased[name][i])
			}
			checkClose(t, name+" running mean", toF64(after.BN[name].Mean), wantMean, 1e-5, 1e-4)
			checkClose(t, name+" running var", toF64(after.BN[name].Var), wantVar, 1e-5, 1e-4)
		}
		if err := solver.Step(gorgonia.NodesToValueGrads(m.Learnables())); err != nil {
			t.Fatal(err)
		}
		m.Reset()
	}
	trained, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	if v := trained.BN["enc.s3.b0.bn2"].Var[0]; v == 1 {
		t.Fatalf("running variance still 1 after two training steps: stats not updated")
	}

	eval, err := Build(arch, 3, c, hw, hw, false, 99)
	if err != nil {
		t.Fatal(err)
	}
	if err := eval.SetState(trained); err != nil {
		t.Fatal(err)
	}
	em, err := eval.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	var prevH []float64
	for i := 0; i < 2; i++ {
		x := randf32(r, 3*c*hw*hw)
		if err := em.Run(map[*gorgonia.Node][]float32{eval.X: x}); err != nil {
			t.Fatal(err)
		}
		_, h, z, logits := refForward(t, trained, arch, toF64(x), 3, c, hw, hw, false)
		got := values(t, eval.H)
		checkClose(t, "eval H", got, h, 1e-4, 1e-4)
		checkClose(t, "eval Z", values(t, eval.Z), z, 1e-4, 1e-4)
		checkClose(t, "eval Logits", values(t, eval.Logits), logits, 1e-4, 1e-4)
		if prevH != nil && got[0] == prevH[0] {
			t.Errorf("second Run gave the first run's H: the tape was not reset")
		}
		prevH = got
	}
	// Inference does not touch the running statistics.
	st, err := eval.State()
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "eval running mean", toF64(st.BN["enc.stem.bn"].Mean), toF64(trained.BN["enc.stem.bn"].Mean), 0, 0)
}

// TestGlobalAvgPoolMatchesLoop: gorgonia reduces middle axes of 4-D tensors
// wrongly; the pool must equal a plain loop on a non-square [2, 3, 4, 5].
func TestGlobalAvgPoolMatchesLoop(t *testing.T) {
	const b, c, h, w = 2, 3, 4, 5
	r := rand.New(rand.NewSource(7))
	net, bl := newTestNet(tensor.Float32, 1)
	x := net.NewInput("x", b, c, h, w)
	y, err := bl.globalAvgPool(x)
	if err != nil {
		t.Fatal(err)
	}
	if !y.Shape().Eq(tensor.Shape{b, c}) {
		t.Fatalf("globalAvgPool(%v) shape = %v, want [%d %d]", x.Shape(), y.Shape(), b, c)
	}
	m := mustCompile(t, net, nil, y)
	in := randf32(r, b*c*h*w)
	if err := m.Run(map[*gorgonia.Node][]float32{x: in}); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, b*c)
	for i := range want {
		for _, v := range in[i*h*w : (i+1)*h*w] {
			want[i] += float64(v) / (h * w)
		}
	}
	checkClose(t, "globalAvgPool", values(t, y), want, 1e-6, 1e-6)
}

// TestBatchNormParams: γ and β are (1, C, 1, 1) with 1 and 0 (gorgonia
// issue #408 makes full-shape random ones when nil), and a solver step
// changes them.
func TestBatchNormParams(t *testing.T) {
	const n = 2
	net, err := Build(smallArch(), 2*n, 1, 6, 6, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, _, err := NTXent(net.Z, n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	before, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	if len(net.bns) != 9 {
		t.Errorf("resnet-small has %d BN layers, want 9", len(net.bns))
	}
	for _, l := range net.bns {
		for _, suffix := range []string{".gamma", ".beta"} {
			p := before.Params[l.name+suffix]
			if want := []int{1, l.channels, 1, 1}; !sameShape(want, p.Shape) {
				t.Errorf("%s%s shape = %v, want %v", l.name, suffix, p.Shape, want)
			}
			init := float32(0)
			if suffix == ".gamma" {
				init = 1
			}
			for _, v := range p.Data {
				if v != init {
					t.Fatalf("%s%s initialised to %v, want %v", l.name, suffix, v, init)
				}
			}
		}
	}
	if err := m.Run(map[*gorgonia.Node][]float32{net.X: randf32(rand.New(rand.NewSource(1)), 2*n*36)}); err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.NewMomentum(gorgonia.WithLearnRate(0.1)).Step(gorgonia.NodesToValueGrads(m.Learnables())); err != nil {
		t.Fatal(err)
	}
	after, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range net.bns {
		for _, suffix := range []string{".gamma", ".beta"} {
			name := l.name + suffix
			changed := false
			for i, v := range after.Params[name].Data {
				if v != before.Params[name].Data[i] {
					changed = true
				}
			}
			if !changed {
				t.Errorf("%s unchanged by a solver step", name)
			}
		}
	}
}

// TestBatchNormMomentum: after k training runs the running statistics are
// the EMA with PyTorch's momentum semantics (weight m on the new batch),
// the variance unbiased.
func TestBatchNormMomentum(t *testing.T) {
	for _, mom := range []float64{0.1, 0.5} {
		net, b := newTestNet(tensor.Float32, 1)
		b.momentum = mom
		x := net.NewInput("x", 4, 2, 3, 3)
		y, err := b.batchNorm("bn", x)
		if err != nil {
			t.Fatal(err)
		}
		loss := weightedSum(t, y, randn(rand.New(rand.NewSource(1)), 72, 1))
		m, err := net.Compile(loss)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewSource(2))
		mean, variance := []float64{0, 0}, []float64{1, 1}
		for k := 0; k < 3; k++ {
			in := randf32(r, 72)
			for i := range in {
				in[i] = in[i]*3 + 1
			}
			if err := m.Run(map[*gorgonia.Node][]float32{x: in}); err != nil {
				t.Fatal(err)
			}
			for c := 0; c < 2; c++ {
				var vals []float64
				for n := 0; n < 4; n++ {
					vals = append(vals, toF64(in[(n*2+c)*9:(n*2+c+1)*9])...)
				}
				mu, ss := 0.0, 0.0
				for _, v := range vals {
					mu += v / float64(len(vals))
				}
				for _, v := range vals {
					ss += (v - mu) * (v - mu)
				}
				mean[c] = (1-mom)*mean[c] + mom*mu
				variance[c] = (1-mom)*variance[c] + mom*ss/float64(len(vals)-1)
			}
		}
		gotMean, gotVar := getRunning(net.bns[0].op)
		checkClose(t, "running mean", gotMean, mean, 1e-5, 1e-5)
		checkClose(t, "running var", gotVar, variance, 1e-5, 1e-5)
		m.Close()
	}
}

// TestRunningStatsSurviveCompile: gorgonia resets BN running statistics
// whenever a training machine is made; a second Compile must keep them.
func TestRunningStatsSurviveCompile(t *testing.T) {
	const n = 2
	net, err := Build(smallArch(), 2*n, 1, 6, 6, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, _, err := NTXent(net.Z, n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m, err := net.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(map[*gorgonia.Node][]float32{net.X: randf32(rand.New(rand.NewSource(1)), 2*n*36)}); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	before, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	for _, second := range []*gorgonia.Node{loss, nil} {
		m2, err := net.Compile(second)
		if err != nil {
			t.Fatal(err)
		}
		after, err := net.State()
		if err != nil {
			t.Fatal(err)
		}
		for name, st := range before.BN {
			checkClose(t, name+" mean after Compile", toF64(after.BN[name].Mean), toF64(st.Mean), 0, 0)
			checkClose(t, name+" var after Compile", toF64(after.BN[name].Var), toF64(st.Var), 0, 0)
		}
		m2.Close()
	}
	m.Close()
}

// TestGradientsAreOneRun: gorgonia accumulates gradients across runs and
// across gradient subgraphs; every Run must give exactly that run's
// gradient, also on a second machine compiled for the same loss.
func TestGradientsAreOneRun(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	net, b := newTestNet(tensor.Float32, 1)
	z := variable(b, "z", []int{4, 3}, randn(r, 12, 1))
	loss, _, err := NTXent(z, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m, err := net.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, m)
	first := grad(t, z)
	mustRun(t, m)
	checkClose(t, "gradient of a second run", grad(t, z), first, 0, 1e-6)
	m.Close()
	m2, err := net.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	mustRun(t, m2)
	checkClose(t, "gradient on a second machine", grad(t, z), first, 0, 1e-6)

	other, err := gorgonia.Mul(loss, scalar(tensor.Float32, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Compile(other); err == nil {
		t.Errorf("Compile(another loss) = nil error, want an error (one loss per graph)")
	}
}

// TestRunChecksInputs: Run takes float32 data of exactly the input's size
// for every input and nothing else; dtypes cannot mix in a built net.
func TestRunChecksInputs(t *testing.T) {
	net, err := Build(smallArch(), 2, 1, 4, 4, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range net.G.AllNodes() {
		if x.Dtype() != tensor.Float32 {
			t.Errorf("node %s has dtype %v, want float32", x.Name(), x.Dtype())
		}
	}
	m := mustCompile(t, net, nil)
	stranger := gorgonia.NewMatrix(gorgonia.NewGraph(), tensor.Float32, gorgonia.WithShape(2, 2), gorgonia.WithName("stranger"))
	cases := []struct {
		name   string
		inputs map[*gorgonia.Node][]float32
	}{
		{"short", map[*gorgonia.Node][]float32{net.X: make([]float32, 31)}},
		{"long", map[*gorgonia.Node][]float32{net.X: make([]float32, 33)}},
		{"missing", map[*gorgonia.Node][]float32{}},
		{"not an input", map[*gorgonia.Node][]float32{net.X: make([]float32, 32), net.H: make([]float32, 2*16)}},
		{"another graph", map[*gorgonia.Node][]float32{net.X: make([]float32, 32), stranger: make([]float32, 4)}},
	}
	for _, c := range cases {
		if err := m.Run(c.inputs); err == nil {
			t.Errorf("Run(%s) = nil error, want an error", c.name)
		}
	}
	if err := m.Run(map[*gorgonia.Node][]float32{net.X: make([]float32, 32)}); err != nil {
		t.Errorf("Run(valid) = %v, want nil", err)
	}

	// A training machine needs a training net; a loss of another dtype or
	// graph is refused.
	loss, err := gorgonia.Sum(net.H)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Compile(loss); err == nil {
		t.Errorf("Compile(loss) on an inference net = nil error, want an error")
	}
	tr, err := Build(smallArch(), 2, 1, 4, 4, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Compile(loss); err == nil {
		t.Errorf("Compile(loss of another graph) = nil error, want an error")
	}
	f64 := gorgonia.NewScalar(tr.G, tensor.Float64, gorgonia.WithName("f64"))
	if _, err := tr.Compile(f64); err == nil {
		t.Errorf("Compile(float64 loss) = nil error, want an error")
	}

	// A float64 input added by hand cannot be fed float32 data.
	in64 := gorgonia.NewMatrix(net.G, tensor.Float64, gorgonia.WithShape(2, 2), gorgonia.WithName("in64"))
	m64, err := net.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m64.Close()
	if err := m64.Run(map[*gorgonia.Node][]float32{net.X: make([]float32, 32), in64: make([]float32, 4)}); err == nil {
		t.Errorf("Run(float32 data for a float64 input) = nil error, want an error")
	}
	// Run refuses float64 nets (only the tests build them).
	n64, b64 := newTestNet(tensor.Float64, 1)
	z := variable(b64, "z", []int{4, 2}, filled(8, 1))
	l64, _, err := NTXent(z, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := n64.Compile(l64)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	if err := mf.Run(nil); err == nil {
		t.Errorf("Run on a float64 net = nil error, want an error")
	}
}

func TestParamCounts(t *testing.T) {
	// Counted by hand from the PyTorch model: conv weights + BN γ, β +
	// linear weights and biases (see the comments).
	cases := []struct {
		name string
		arch Arch
		c    int
		want int
	}{
		// stem 1·16·9 + 32; block1 2·2304 + 64; block2 4608 + 9216 + 512 + 3·64;
		// block3 18432 + 36864 + 2048 + 3·128 = 77104; head 64·64+64 + 64·32+32 = 6240.
		{"resnet-small 1ch nonlinear 64-64-32", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall}, Head: HeadSpec{Kind: HeadNonlinear, Out: 32}}, 1, 83344},
		{"resnet-small 3ch nonlinear 64-64-32", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall}, Head: HeadSpec{Kind: HeadNonlinear, Out: 32}}, 3, 83632},
		{"resnet-small 1ch encoder", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall}}, 1, 77104},
		{"resnet-small 1ch linear 32 + 10 classes", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall}, Head: HeadSpec{Kind: HeadLinear, Out: 32}, Classes: 10}, 1, 77104 + 64*32 + 32 + 64*10 + 10},
		{"resnet-small 1ch head none", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall}, Head: HeadSpec{Kind: HeadNone}}, 1, 77104},
		// CIFAR ResNet-18 without fc: 11,173,962 − (512·10 + 10).
		{"resnet-18 3ch encoder", Arch{Encoder: EncoderSpec{Preset: PresetResNet18}}, 3, 11168832},
	}
	for _, c := range cases {
		net, err := Build(c.arch, 1, c.c, 4, 4, false, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := net.NumParams(); got != c.want {
			t.Errorf("Build(%s).NumParams() = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestFeatureDim(t *testing.T) {
	cases := []struct {
		spec    EncoderSpec
		want    int
		wantErr bool
	}{
		{EncoderSpec{Preset: PresetResNetSmall}, 64, false},
		{EncoderSpec{Preset: PresetResNet18}, 512, false},
		{EncoderSpec{Preset: PresetResNetSmall, Width: 8}, 32, false},
		{EncoderSpec{Preset: PresetResNet18, Blocks: []int{1, 1}}, 128, false},
		{EncoderSpec{Preset: PresetResNetSmall, Width: 4, Blocks: []int{2, 1, 1, 1}}, 32, false},
		{EncoderSpec{Preset: "resnet-50"}, 0, true},
		{EncoderSpec{Preset: PresetResNetSmall, Width: -1}, 0, true},
		{EncoderSpec{Preset: PresetResNetSmall, Blocks: []int{}}, 0, true},
		{EncoderSpec{Preset: PresetResNetSmall, Blocks: []int{1, 0}}, 0, true},
	}
	for _, c := range cases {
		got, err := FeatureDim(c.spec)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("FeatureDim(%+v) = %d, %v; want %d, error %v", c.spec, got, err, c.want, c.wantErr)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	good := smallArch()
	cases := []struct {
		name       string
		arch       Arch
		b, c, h, w int
		train      bool
	}{
		{"unknown head", Arch{Encoder: good.Encoder, Head: HeadSpec{Kind: "mlp", Out: 8}}, 2, 1, 4, 4, true},
		{"linear head without Out", Arch{Encoder: good.Encoder, Head: HeadSpec{Kind: HeadLinear}}, 2, 1, 4, 4, true},
		{"negative classes", Arch{Encoder: good.Encoder, Classes: -1}, 2, 1, 4, 4, true},
		{"bn momentum 2", Arch{Encoder: good.Encoder, BNMomentum: 2}, 2, 1, 4, 4, true},
		{"unknown preset", Arch{Encoder: EncoderSpec{Preset: "vgg"}}, 2, 1, 4, 4, true},
		{"channel mismatch", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4, InChannels: 3}}, 2, 1, 4, 4, true},
		{"zero batch", good, 0, 1, 4, 4, false},
		{"training batch of 1", good, 1, 1, 4, 4, true},
	}
	for _, c := range cases {
		if _, err := Build(c.arch, c.b, c.c, c.h, c.w, c.train, 1); err == nil {
			t.Errorf("Build(%s) = nil error, want an error", c.name)
		}
	}
}

func TestNoDecay(t *testing.T) {
	cases := map[string]bool{
		"enc.stem.conv.w":          false,
		"enc.stem.bn.gamma":        true,
		"enc.s1.b0.bn1.beta":       true,
		"enc.s2.b0.short.conv.w":   false,
		"enc.s2.b0.short.bn.gamma": true,
		"head.l1.w":                false,
		"head.l1.b":                true,
		"cls.w":                    false,
		"cls.b":                    true,
	}
	for name, want := range cases {
		if got := NoDecay(name); got != want {
			t.Errorf("NoDecay(%q) = %v, want %v", name, got, want)
		}
	}
	// Every parameter of a built net is named so that NoDecay is right.
	net, err := Build(smallArch(), 2, 1, 4, 4, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range net.Learnables() {
		name := p.Name()
		want := len(p.Shape()) == 4 && p.Shape()[0] == 1 || len(p.Shape()) == 2 && p.Shape()[0] == 1
		if NoDecay(name) != want {
			t.Errorf("NoDecay(%q) = %v for shape %v", name, NoDecay(name), p.Shape())
		}
	}
}

// TestInit: the same seed gives the same parameters, another seed others;
// conv weights have std √(2/fan_out), linear weights lie in ±1/√fan_in.
func TestInit(t *testing.T) {
	build := func(seed int64) *State {
		net, err := Build(Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall}, Head: HeadSpec{Kind: HeadNonlinear, Out: 32}}, 2, 1, 4, 4, false, seed)
		if err != nil {
			t.Fatal(err)
		}
		s, err := net.State()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b, c := build(1), build(1), build(2)
	for name, p := range a.Params {
		checkClose(t, "same seed "+name, toF64(b.Params[name].Data), toF64(p.Data), 0, 0)
	}
	if a.Params["enc.stem.conv.w"].Data[0] == c.Params["enc.stem.conv.w"].Data[0] {
		t.Errorf("seeds 1 and 2 give the same enc.stem.conv.w[0]")
	}
	w := a.Params["enc.s3.b0.conv2.w"].Data // [64, 64, 3, 3], fan_out 576
	ss, mean := 0.0, 0.0
	for _, v := range w {
		mean += float64(v) / float64(len(w))
		ss += float64(v) * float64(v) / float64(len(w))
	}
	if want := math.Sqrt(2.0 / 576); math.Abs(math.Sqrt(ss)-want) > 0.02*want || math.Abs(mean) > 0.02*want {
		t.Errorf("enc.s3.b0.conv2.w: mean %.4g std %.4g, want 0 and %.4g", mean, math.Sqrt(ss), want)
	}
	for _, name := range []string{"head.l1.w", "head.l1.b", "head.l2.w"} {
		bound, maxAbs := 1/math.Sqrt(64), 0.0
		for _, v := range a.Params[name].Data {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		if maxAbs > bound || maxAbs < 0.8*bound {
			t.Errorf("%s: max |w| = %.4g, want just below 1/√64 = %.4g", name, maxAbs, bound)
		}
	}
}
