package simclr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/internal/safetensors"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

func buildState(t *testing.T, arch nn.Arch) *nn.State {
	t.Helper()
	net, err := nn.Build(arch, 2, 1, 8, 8, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func bnNames(prefix string, c int) []string {
	out := []string{}
	for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
		out = append(out, fmt.Sprintf("%s.%s %d", prefix, s, c))
	}
	return append(out, prefix+".num_batches_tracked")
}

// TestMarshalEncoderNames pins the PyTorch names and shapes of every
// tensor, for two stages of which the second has two blocks (a shortcut
// in the first only), and each kind of head and the classifier.
func TestMarshalEncoderNames(t *testing.T) {
	enc := nn.EncoderSpec{Preset: nn.PresetResNetSmall, Width: 4, Blocks: []int{1, 2}}
	encoder := slices.Concat(
		[]string{"stem.0.weight 4,1,3,3"}, bnNames("stem.1", 4),
		[]string{"layers.0.c1.weight 4,4,3,3"}, bnNames("layers.0.b1", 4),
		[]string{"layers.0.c2.weight 4,4,3,3"}, bnNames("layers.0.b2", 4),
		[]string{"layers.1.c1.weight 8,4,3,3"}, bnNames("layers.1.b1", 8),
		[]string{"layers.1.c2.weight 8,8,3,3"}, bnNames("layers.1.b2", 8),
		[]string{"layers.1.sc.0.weight 8,4,1,1"}, bnNames("layers.1.sc.1", 8),
		[]string{"layers.2.c1.weight 8,8,3,3"}, bnNames("layers.2.b1", 8),
		[]string{"layers.2.c2.weight 8,8,3,3"}, bnNames("layers.2.b2", 8),
	)
	for _, c := range []struct {
		name string
		arch nn.Arch
		more []string
	}{
		{"nonlinear head", nn.Arch{Encoder: enc, Head: nn.HeadSpec{Kind: nn.HeadNonlinear, Hidden: 5, Out: 3}},
			[]string{"head.0.weight 5,8", "head.0.bias 5", "head.2.weight 3,5", "head.2.bias 3"}},
		{"linear head", nn.Arch{Encoder: enc, Head: nn.HeadSpec{Kind: nn.HeadLinear, Out: 3}},
			[]string{"head.0.weight 3,8", "head.0.bias 3"}},
		{"no head", nn.Arch{Encoder: enc, Head: nn.HeadSpec{Kind: nn.HeadNone}}, nil},
		{"classifier", nn.Arch{Encoder: enc, Classes: 10}, []string{"fc.weight 10,8", "fc.bias 10"}},
	} {
		st := buildState(t, c.arch)
		b, err := MarshalEncoder(st, EncoderInfo{ConfigHash: "h", Seed: 3, Commit: "abc", Dirty: true, Steps: 42})
		if err != nil {
			t.Fatalf("%s: MarshalEncoder = %v", c.name, err)
		}
		f, err := safetensors.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, x := range f.Tensors {
			s := x.Name
			if len(x.Shape) > 0 {
				s += " " + strings.Trim(strings.ReplaceAll(fmt.Sprint(x.Shape), " ", ","), "[]")
			}
			got = append(got, s)
		}
		want := slices.Concat(encoder, c.more)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: tensors\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for k, v := range map[string]string{"format": EncoderFormat, "config_hash": "h", "seed": "3", "commit": "abc", "dirty": "true", "steps": "42"} {
			if f.Metadata[k] != v {
				t.Errorf("%s: metadata %s = %q, want %q", c.name, k, f.Metadata[k], v)
			}
		}
		n, _ := f.Tensor("layers.2.b2.num_batches_tracked")
		if v, err := n.Int64s(); err != nil || len(v) != 1 || v[0] != 42 || n.DType != safetensors.I64 {
			t.Errorf("%s: num_batches_tracked = %v %v, %v; want I64 42", c.name, n.DType, v, err)
		}
		var goNames map[string]string
		if err := json.Unmarshal([]byte(f.Metadata["go_names"]), &goNames); err != nil || len(goNames) != len(f.Tensors) {
			t.Errorf("%s: go_names = %v, %v; want one a tensor", c.name, goNames, err)
		}
	}
}

// TestMarshalEncoderLayouts: values land where PyTorch reads them — linear
// weights transposed, γ and β flattened, running statistics copied — and
// the modules metadata is PyTorch's repr of each layer.
func TestMarshalEncoderLayouts(t *testing.T) {
	arch := nn.Arch{Encoder: nn.EncoderSpec{Preset: nn.PresetResNetSmall, Width: 4, Blocks: []int{1, 2}},
		Head: nn.HeadSpec{Kind: nn.HeadNonlinear, Hidden: 5, Out: 3}, BNMomentum: 0.01}
	st := buildState(t, arch)
	s := st.BN["enc.s2.b0.short.bn"]
	for i := range s.Mean {
		s.Mean[i], s.Var[i] = float32(i), float32(10+i)
	}
	gamma := st.Params["enc.s2.b0.short.bn.gamma"].Data
	for i := range gamma {
		gamma[i] = float32(-i)
	}
	b, err := MarshalEncoder(st, EncoderInfo{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []float32 {
		x, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no tensor %s", name)
		}
		v, err := x.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	goW := st.Params["head.l2.w"] // [5, 3]
	w := get("head.2.weight")     // [3, 5]
	for i := range 5 {
		for o := range 3 {
			if w[o*5+i] != goW.Data[i*3+o] {
				t.Fatalf("head.2.weight[%d][%d] = %v, want Go's head.l2.w[%d][%d] = %v", o, i, w[o*5+i], i, o, goW.Data[i*3+o])
			}
		}
	}
	if got := get("layers.1.sc.1.running_var"); !slices.Equal(got, s.Var) {
		t.Errorf("layers.1.sc.1.running_var = %v, want %v", got, s.Var)
	}
	if got := get("layers.1.sc.1.running_mean"); !slices.Equal(got, s.Mean) {
		t.Errorf("layers.1.sc.1.running_mean = %v, want %v", got, s.Mean)
	}
	if got := get("layers.1.sc.1.weight"); !slices.Equal(got, gamma) {
		t.Errorf("layers.1.sc.1.weight = %v, want γ %v", got, gamma)
	}
	if got := get("layers.1.c1.weight"); !slices.Equal(got, st.Params["enc.s2.b0.conv1.w"].Data) {
		t.Error("layers.1.c1.weight differs from enc.s2.b0.conv1.w (conv weights keep their layout)")
	}

	var modules map[string]string
	if err := json.Unmarshal([]byte(f.Metadata["modules"]), &modules); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"stem.0":        "Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)",
		"layers.0.c1":   "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)",
		"layers.1.c1":   "Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)",
		"layers.1.sc.0": "Conv2d(4, 8, kernel_size=(1, 1), stride=(2, 2), bias=False)",
		"layers.1.sc.1": "BatchNorm2d(8, eps=1e-05, momentum=0.01, affine=True, track_running_stats=True)",
		"layers.2.c1":   "Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)",
		"head.0":        "Linear(in_features=8, out_features=5, bias=True)",
		"head.2":        "Linear(in_features=5, out_features=3, bias=True)",
	} {
		if modules[name] != want {
			t.Errorf("modules[%s] = %q, want %q", name, modules[name], want)
		}
	}
	if len(modules) != 18 {
		t.Errorf("%d modules, want 18 (8 convolutions, 8 batch norms, 2 linear): %v", len(modules), modules)
	}
}

func TestMarshalEncoderRejects(t *testing.T) {
	arch := nn.Arch{Encoder: nn.EncoderSpec{Preset: nn.PresetResNetSmall, Width: 4, Blocks: []int{1}}, Head: nn.HeadSpec{Kind: nn.HeadLinear, Out: 3}}
	for _, c := range []struct {
		name string
		edit func(st *nn.State)
		want string
	}{
		{"unknown parameter", func(st *nn.State) { st.Params["enc.extra.w"] = nn.Tensor{Shape: []int{1}, Data: []float32{1}} }, "enc.extra.w has no PyTorch name"},
		{"missing statistics", func(st *nn.State) { delete(st.BN, "enc.s1.b0.bn2") }, "batch-norm enc.s1.b0.bn2"},
		{"missing weight", func(st *nn.State) { delete(st.Params, "enc.s1.b0.conv2.w") }, "enc.s1.b0.conv2.w missing"},
		{"head of another kind", func(st *nn.State) { st.Arch.Head.Kind = nn.HeadNonlinear }, "do not match"},
		{"bad shape", func(st *nn.State) {
			p := st.Params["head.l1.w"]
			p.Shape = []int{len(p.Data)}
			st.Params["head.l1.w"] = p
		}, "head.l1.w has shape"},
	} {
		st := buildState(t, arch)
		c.edit(st)
		if _, err := MarshalEncoder(st, EncoderInfo{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: MarshalEncoder = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := MarshalEncoder(nil, EncoderInfo{}); err == nil {
		t.Error("MarshalEncoder(nil) = nil error")
	}
}

// TestOnTrainedAndCheckpoint: Run hands the trained network to OnTrained;
// an interrupted cell's checkpoint reads back with ReadCheckpoint as the
// same kind of state, which MarshalEncoder writes.
func TestOnTrainedAndCheckpoint(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 2
	cfg.LinearEpochs = 5
	dir := t.TempDir()
	if _, err := ReadCheckpoint(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadCheckpoint(empty dir) = %v, want fs.ErrNotExist", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hooks := Hooks{Checkpoint: dir, OnEpoch: func(e EpochStats) {
		if e.Epoch == 1 {
			cancel()
		}
	}}
	if _, err := Run(ctx, cfg, hooks); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run cancelled after epoch 1 = %v, want context.Canceled", err)
	}
	ck, err := ReadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != "simclr" || ck.ConfigHash != cfg.Hash() || ck.Seed != cfg.Seed || ck.Epoch != 1 || ck.Steps != int64(cfg.SyntheticSize/cfg.BatchSize) {
		t.Errorf("checkpoint = %+v, want simclr, hash %s, seed %d, epoch 1, %d steps", ck, cfg.Hash(), cfg.Seed, cfg.SyntheticSize/cfg.BatchSize)
	}
	if _, err := MarshalEncoder(ck.Model, EncoderInfo{Steps: ck.Steps}); err != nil {
		t.Errorf("MarshalEncoder(checkpoint model) = %v", err)
	}

	var trained *nn.State
	hooks = Hooks{Checkpoint: dir, OnTrained: func(st *nn.State) { trained = st }}
	res, err := Run(context.Background(), cfg, hooks)
	if err != nil {
		t.Fatal(err)
	}
	if trained == nil || trained.Arch.Head.Kind != cfg.Head || trained.Params["head.l2.w"].Data == nil {
		t.Fatalf("OnTrained got %v, want the pretrained network with its %s head", trained, cfg.Head)
	}
	if _, err := ReadCheckpoint(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadCheckpoint after the cell finished = %v, want fs.ErrNotExist (deleted)", err)
	}
	if len(res.Epochs) != 2 {
		t.Errorf("resumed run has %d epochs, want 2", len(res.Epochs))
	}

	for _, method := range []string{MethodRandomInit, MethodRawPixels} {
		c := cfg
		c.Method = method
		trained = nil
		if _, err := Run(context.Background(), c, Hooks{OnTrained: func(st *nn.State) { trained = st }}); err != nil {
			t.Fatal(err)
		}
		if (trained != nil) != (method == MethodRandomInit) {
			t.Errorf("%s: OnTrained got %v; want a state for random-init only", method, trained != nil)
		}
	}
}
