package simclr

import (
	"maps"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/simclr-ablate/simclr-ablate/internal/safetensors"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// systemPython is Debian's interpreter, where python3-torch installs
// torch (a python3 earlier on PATH, such as a pyenv one, lacks it).
const systemPython = "/usr/bin/python3"

// TestEncoderLoadsInPyTorch writes the reference model's encoder and head
// (bench/torch_simclr_step.py: resnet-small, nonlinear head 64-64-32, one
// input channel) with every BatchNorm's γ, β and running statistics made
// unlike their initial values, computes h and z of 16 fixed 28×28 images
// in inference mode, and has PyTorch load the file into the benchmark's
// module (load_state_dict, strict) and compute them again: they must agree
// within 1e-4. It needs torch in /usr/bin/python3 (Debian's
// python3-torch, which .ci/run installs): it is skipped, saying so, only
// where that cannot import torch, and fails instead when CI is set.
func TestEncoderLoadsInPyTorch(t *testing.T) {
	needPython(t, "torch", "python3-torch")

	const batch, steps = 16, 1234
	arch := nn.Arch{
		Encoder: nn.EncoderSpec{Preset: nn.PresetResNetSmall},
		Head:    nn.HeadSpec{Kind: nn.HeadNonlinear, Out: 32},
	}
	net, err := nn.Build(arch, batch, 1, 28, 28, false, 5)
	if err != nil {
		t.Fatal(err)
	}
	st, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(9))
	uniform := func(xs []float32, lo, hi float64) {
		for i := range xs {
			xs[i] = float32(lo + (hi-lo)*rng.Float64())
		}
	}
	for _, name := range st.Names() { // sorted: the same values every run
		switch {
		case strings.HasSuffix(name, ".gamma"):
			uniform(st.Params[name].Data, 0.5, 1.5)
		case strings.HasSuffix(name, ".beta"):
			uniform(st.Params[name].Data, -0.3, 0.3)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.BN)) {
		uniform(st.BN[name].Mean, -0.2, 0.2)
		uniform(st.BN[name].Var, 0.5, 2)
	}
	if err := net.SetState(st); err != nil {
		t.Fatal(err)
	}
	m, err := net.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x := make([]float32, batch*28*28)
	uniform(x, 0, 1)
	if err := m.Run(map[*G.Node][]float32{net.X: x}); err != nil {
		t.Fatal(err)
	}
	h := append([]float32(nil), net.H.Value().Data().([]float32)...)
	z := append([]float32(nil), net.Z.Value().Data().([]float32)...)

	dir := t.TempDir()
	enc, err := MarshalEncoder(st, EncoderInfo{ConfigHash: "0123456789abcdef", Seed: 5, Commit: "test", Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	check, err := safetensors.Marshal(&safetensors.File{Tensors: []safetensors.Tensor{
		safetensors.F32Tensor("x", []int{batch, 1, 28, 28}, x),
		safetensors.F32Tensor("h", []int{batch, len(h) / batch}, h),
		safetensors.F32Tensor("z", []int{batch, len(z) / batch}, z),
	}})
	if err != nil {
		t.Fatal(err)
	}
	encPath, checkPath := filepath.Join(dir, "encoder.safetensors"), filepath.Join(dir, "check.safetensors")
	for path, b := range map[string][]byte{encPath: enc, checkPath: check} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(systemPython, filepath.Join("testdata", "torch_encoder_check.py"),
		filepath.Join("..", "bench", "torch_simclr_step.py"), encPath, checkPath)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the PyTorch check failed (%v):\n%s", err, out)
	}
}

// needPython skips the test, saying why, when /usr/bin/python3 cannot
// import modules (Debian's packages debs install them); with CI set it
// fails instead, since .ci/run installs them.
func needPython(t *testing.T, modules, debs string) {
	t.Helper()
	out, err := exec.Command(systemPython, "-c", "import "+modules).CombinedOutput()
	if err == nil {
		return
	}
	msg := systemPython + " cannot import " + modules + " (install Debian's " + debs + " to run this check): " +
		strings.TrimSpace(lastLine(string(out))+" "+err.Error())
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; .ci/run installs it")
	}
	t.Skip(msg)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
