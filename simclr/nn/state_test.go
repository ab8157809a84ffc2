package nn

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
)

func equalStates(t *testing.T, what string, got, want *State) {
	t.Helper()
	if len(got.Params) != len(want.Params) || len(got.BN) != len(want.BN) {
		t.Fatalf("%s: %d params, %d BN; want %d, %d", what, len(got.Params), len(got.BN), len(want.Params), len(want.BN))
	}
	for name, p := range want.Params {
		g, ok := got.Params[name]
		if !ok || !sameShape(g.Shape, p.Shape) {
			t.Fatalf("%s: parameter %s = %v, want shape %v", what, name, g.Shape, p.Shape)
		}
		checkClose(t, what+" "+name, toF64(g.Data), toF64(p.Data), 0, 0)
	}
	for name, s := range want.BN {
		checkClose(t, what+" "+name+" mean", toF64(got.BN[name].Mean), toF64(s.Mean), 0, 0)
		checkClose(t, what+" "+name+" var", toF64(got.BN[name].Var), toF64(s.Var), 0, 0)
	}
}

// trainedState trains a small net for one step so that weights and running
// statistics differ from their initialisation.
func trainedState(t *testing.T, arch Arch) (*Net, *State) {
	t.Helper()
	net, err := Build(arch, 4, 1, 6, 6, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, _, err := NTXent(net.Z, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	if err := m.Run(map[*gorgonia.Node][]float32{net.X: randf32(rand.New(rand.NewSource(1)), 4*36)}); err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.NewMomentum(gorgonia.WithLearnRate(0.1)).Step(gorgonia.NodesToValueGrads(m.Learnables())); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	s, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	return net, s
}

func pretrainArch() Arch {
	return Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Head: HeadSpec{Kind: HeadNonlinear, Out: 8}}
}

func TestStateRoundTrip(t *testing.T) {
	net, s := trainedState(t, pretrainArch())
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadState(&buf)
	if err != nil {
		t.Fatal(err)
	}
	equalStates(t, "LoadState(Save(s))", loaded, s)
	if loaded.Arch.Head != s.Arch.Head || loaded.Arch.Encoder.Width != 4 {
		t.Errorf("LoadState(Save(s)).Arch = %+v, want %+v", loaded.Arch, s.Arch)
	}

	other, err := Build(pretrainArch(), 2, 1, 6, 6, false, 42)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SetState(loaded); err != nil {
		t.Fatal(err)
	}
	got, err := other.State()
	if err != nil {
		t.Fatal(err)
	}
	equalStates(t, "SetState then State", got, s)

	// State is a deep copy.
	w := net.Learnables()[0].Value().Data().([]float32)
	keep := s.Params[net.Learnables()[0].Name()].Data[0]
	w[0] += 1
	if s.Params[net.Learnables()[0].Name()].Data[0] != keep {
		t.Errorf("State shares memory with the net")
	}
}

func TestSetStateEncoderOnly(t *testing.T) {
	_, s := trainedState(t, pretrainArch())
	cls := Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Classes: 3}
	net, err := Build(cls, 2, 1, 6, 6, true, 7)
	if err != nil {
		t.Fatal(err)
	}
	init, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	if err := net.SetState(s); err != nil {
		t.Fatalf("SetState(pretrained encoder + head) on a classifier net = %v, want nil", err)
	}
	got, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "encoder weight", toF64(got.Params["enc.s2.b0.conv1.w"].Data), toF64(s.Params["enc.s2.b0.conv1.w"].Data), 0, 0)
	checkClose(t, "classifier keeps its init", toF64(got.Params["cls.w"].Data), toF64(init.Params["cls.w"].Data), 0, 0)
	checkClose(t, "BN statistics", toF64(got.BN["enc.s3.b0.short.bn"].Var), toF64(s.BN["enc.s3.b0.short.bn"].Var), 0, 0)
}

func TestSetStateRejects(t *testing.T) {
	_, s := trainedState(t, pretrainArch())
	clone := func() *State {
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			t.Fatal(err)
		}
		c, err := LoadState(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	missing := clone()
	delete(missing.Params, "enc.s1.b0.conv1.w")
	missingBN := clone()
	delete(missingBN.BN, "enc.s2.b0.short.bn")
	badBN := clone()
	badBN.BN["enc.stem.bn"] = BNStats{Mean: []float32{0}, Var: []float32{1}}
	cases := []struct {
		name     string
		arch     Arch
		s        *State
		contains string
	}{
		{"missing encoder parameter", pretrainArch(), missing, "enc.s1.b0.conv1.w"},
		{"missing BN statistics", pretrainArch(), missingBN, "enc.s2.b0.short.bn"},
		{"BN channel mismatch", pretrainArch(), badBN, "enc.stem.bn"},
		{"wider encoder", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 8}}, s, "enc.stem.conv.w"},
		{"other head width", Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Head: HeadSpec{Kind: HeadNonlinear, Out: 16}}, s, "head.l2"},
		{"nil", pretrainArch(), nil, "nil"},
	}
	for _, c := range cases {
		net, err := Build(c.arch, 2, 1, 6, 6, false, 3)
		if err != nil {
			t.Fatal(err)
		}
		before, err := net.State()
		if err != nil {
			t.Fatal(err)
		}
		err = net.SetState(c.s)
		if err == nil || !strings.Contains(err.Error(), c.contains) {
			t.Errorf("SetState(%s) = %v, want an error naming %s", c.name, err, c.contains)
			continue
		}
		after, err := net.State()
		if err != nil {
			t.Fatal(err)
		}
		equalStates(t, "net after a failed SetState("+c.name+")", after, before)
	}
}

func TestLoadStateRejects(t *testing.T) {
	var buf bytes.Buffer
	bad := &State{Params: map[string]Tensor{"enc.stem.conv.w": {Shape: []int{2, 2}, Data: []float32{1, 2, 3}}}}
	if err := bad.Save(&buf); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"not gob":                   []byte("this is not a state"),
		"empty":                     nil,
		"shape and values disagree": buf.Bytes(),
	}
	for name, b := range cases {
		if _, err := LoadState(bytes.NewReader(b)); err == nil {
			t.Errorf("LoadState(%s) = nil error, want an error", name)
		}
	}
}
