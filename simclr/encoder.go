package simclr

import (
	"cmp"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/internal/safetensors"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// EncoderFormat is the "format" entry of an exported encoder's metadata.
const EncoderFormat = "simclr-ablate encoder 1"

// EncoderInfo is what an exported encoder records about where it came
// from, in its safetensors metadata.
type EncoderInfo struct {
	ConfigHash string // Config.Hash() of the cell
	Seed       int64
	Commit     string // source revision that trained it; "" when unknown
	Dirty      bool   // the source had uncommitted changes
	// Steps is the number of training steps the network took: every
	// BatchNorm's num_batches_tracked.
	Steps int64
}

// MarshalEncoder returns the network state st as a safetensors file that
// PyTorch loads with load_state_dict into the module of
// bench/torch_simclr_step.py (and, for other encoder sizes, into the same
// module built with the widths and blocks the metadata lists):
//
//	enc.stem.conv.w                     stem.0.weight          [out, in, 3, 3]
//	enc.stem.bn (γ, β, statistics)      stem.1.weight, .bias, .running_mean, .running_var, .num_batches_tracked
//	enc.sS.bB.conv1.w, .bn1             layers.K.c1.weight, layers.K.b1.*
//	enc.sS.bB.conv2.w, .bn2             layers.K.c2.weight, layers.K.b2.*
//	enc.sS.bB.short.conv.w, .short.bn   layers.K.sc.0.weight, layers.K.sc.1.*
//	head.l1.w, .b                       head.0.weight [out, in], head.0.bias [out]
//	head.l2.w, .b (nonlinear head)      head.2.weight, head.2.bias
//	cls.w, .b (supervised classifier)   fc.weight, fc.bias
//
// K numbers the BasicBlocks of every stage in order (layers is one
// nn.Sequential of blocks). Conv weights keep their [out, in, kh, kw]
// layout; linear weights, [in, out] in Go, are transposed to PyTorch's
// [out, in]; BatchNorm γ and β, [1, C, 1, 1] in Go, and biases, [1, out],
// become vectors. num_batches_tracked is an int64 scalar, info.Steps. The
// metadata holds "format" (EncoderFormat), "config_hash", "seed",
// "commit", "dirty" ("true" or "false"), "steps", "modules" (JSON: each PyTorch module with tensors →
// its PyTorch constructor, as repr prints it) and "go_names" (JSON: each
// tensor → the Go parameter or BatchNorm layer it came from).
func MarshalEncoder(st *nn.State, info EncoderInfo) ([]byte, error) {
	tensors, modules, goNames, err := torchTensors(st, info.Steps)
	if err != nil {
		return nil, err
	}
	mods, err := json.Marshal(modules)
	if err != nil {
		return nil, fmt.Errorf("export encoder: %w", err)
	}
	names, err := json.Marshal(goNames)
	if err != nil {
		return nil, fmt.Errorf("export encoder: %w", err)
	}
	b, err := safetensors.Marshal(&safetensors.File{
		Metadata: map[string]string{
			"format":      EncoderFormat,
			"config_hash": info.ConfigHash,
			"seed":        strconv.FormatInt(info.Seed, 10),
			"commit":      info.Commit,
			"dirty":       strconv.FormatBool(info.Dirty),
			"steps":       strconv.FormatInt(info.Steps, 10),
			"modules":     string(mods),
			"go_names":    string(names),
		},
		Tensors: tensors,
	})
	if err != nil {
		return nil, fmt.Errorf("export encoder: %w", err)
	}
	return b, nil
}

// WriteEncoder writes MarshalEncoder(st, info) to w.
func WriteEncoder(w io.Writer, st *nn.State, info EncoderInfo) error {
	b, err := MarshalEncoder(st, info)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("export encoder: %w", err)
	}
	return nil
}

// goModule is one Go layer: a conv, a BatchNorm or a linear map.
type goModule struct {
	name  string // "enc.s2.b0.short.conv"
	torch string // "layers.1.sc.0"
	kind  string // "conv", "bn" or "linear"
}

// torchTensors maps st to PyTorch's names and layouts. It fails on a name
// it does not know, so that a layer added to the Go network cannot be
// left out of the file silently.
func torchTensors(st *nn.State, steps int64) ([]safetensors.Tensor, map[string]string, map[string]string, error) {
	if st == nil {
		return nil, nil, nil, fmt.Errorf("export encoder: nil state")
	}
	blocks, err := blockIndex(st)
	if err != nil {
		return nil, nil, nil, err
	}
	headKind := st.Arch.Head.Kind
	momentum := st.Arch.BNMomentum
	if momentum == 0 {
		momentum = nn.DefaultBNMomentum
	}
	var (
		tensors []safetensors.Tensor
		modules = map[string]string{}
		goNames = map[string]string{}
		used    = map[string]bool{}
	)
	add := func(t safetensors.Tensor, from string) {
		tensors = append(tensors, t)
		goNames[t.Name] = from
	}
	param := func(name string, rank int) (nn.Tensor, error) {
		p, ok := st.Params[name]
		if !ok {
			return nn.Tensor{}, fmt.Errorf("export encoder: parameter %s missing from the state", name)
		}
		if len(p.Shape) != rank || product(p.Shape) != len(p.Data) {
			return nn.Tensor{}, fmt.Errorf("export encoder: parameter %s has shape %v with %d values, want rank %d", name, p.Shape, len(p.Data), rank)
		}
		used[name] = true
		return p, nil
	}

	mods, err := goModules(st, blocks, headKind)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, m := range mods {
		switch m.kind {
		case "conv":
			w, err := param(m.name+".w", 4)
			if err != nil {
				return nil, nil, nil, err
			}
			add(safetensors.F32Tensor(m.torch+".weight", w.Shape, w.Data), m.name+".w")
			stride, pad := convGeometry(m.name)
			modules[m.torch] = torchConv(w.Shape, stride, pad)
		case "bn":
			g, err := param(m.name+".gamma", 4)
			if err != nil {
				return nil, nil, nil, err
			}
			b, err := param(m.name+".beta", 4)
			if err != nil {
				return nil, nil, nil, err
			}
			c := len(g.Data)
			s, ok := st.BN[m.name]
			if !ok || len(s.Mean) != c || len(s.Var) != c || len(b.Data) != c {
				return nil, nil, nil, fmt.Errorf("export encoder: batch-norm %s: %d channels, beta %d, running statistics %d and %d",
					m.name, c, len(b.Data), len(s.Mean), len(s.Var))
			}
			add(safetensors.F32Tensor(m.torch+".weight", []int{c}, g.Data), m.name+".gamma")
			add(safetensors.F32Tensor(m.torch+".bias", []int{c}, b.Data), m.name+".beta")
			add(safetensors.F32Tensor(m.torch+".running_mean", []int{c}, s.Mean), m.name+" running mean")
			add(safetensors.F32Tensor(m.torch+".running_var", []int{c}, s.Var), m.name+" running variance")
			add(safetensors.I64Tensor(m.torch+".num_batches_tracked", []int{}, []int64{steps}), m.name+" (training steps)")
			modules[m.torch] = fmt.Sprintf("BatchNorm2d(%d, eps=1e-05, momentum=%s, affine=True, track_running_stats=True)",
				c, strconv.FormatFloat(momentum, 'g', -1, 64))
		case "linear":
			w, err := param(m.name+".w", 2)
			if err != nil {
				return nil, nil, nil, err
			}
			b, err := param(m.name+".b", 2)
			if err != nil {
				return nil, nil, nil, err
			}
			in, out := w.Shape[0], w.Shape[1]
			if len(b.Data) != out {
				return nil, nil, nil, fmt.Errorf("export encoder: %s has weight %v and %d biases", m.name, w.Shape, len(b.Data))
			}
			add(safetensors.F32Tensor(m.torch+".weight", []int{out, in}, transpose(w.Data, in, out)), m.name+".w")
			add(safetensors.F32Tensor(m.torch+".bias", []int{out}, b.Data), m.name+".b")
			modules[m.torch] = fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=True)", in, out)
		}
	}
	for name := range st.Params {
		if !used[name] {
			return nil, nil, nil, fmt.Errorf("export encoder: parameter %s has no PyTorch name", name)
		}
	}
	return tensors, modules, goNames, nil
}

// blockIndex numbers the BasicBlocks "enc.sS.bB" of st in stage, then
// block order: their index K in PyTorch's layers.
func blockIndex(st *nn.State) (map[string]int, error) {
	type block struct {
		name string
		s, b int
	}
	seen := map[string]bool{}
	var list []block
	for name := range st.Params {
		rest, ok := strings.CutPrefix(name, "enc.s")
		if !ok || strings.HasPrefix(name, "enc.stem.") {
			continue
		}
		parts := strings.SplitN(rest, ".", 3)
		s, err1 := strconv.Atoi(parts[0])
		if len(parts) < 3 || err1 != nil || !strings.HasPrefix(parts[1], "b") {
			return nil, fmt.Errorf("export encoder: parameter %s has no PyTorch name", name)
		}
		b, err2 := strconv.Atoi(parts[1][1:])
		if err2 != nil {
			return nil, fmt.Errorf("export encoder: parameter %s has no PyTorch name", name)
		}
		key := "enc.s" + parts[0] + "." + parts[1]
		if !seen[key] {
			seen[key] = true
			list = append(list, block{key, s, b})
		}
	}
	slices.SortFunc(list, func(x, y block) int {
		if c := cmp.Compare(x.s, y.s); c != 0 {
			return c
		}
		return cmp.Compare(x.b, y.b)
	})
	out := make(map[string]int, len(list))
	for k, b := range list {
		out[b.name] = k
	}
	return out, nil
}

// goModules lists st's layers in PyTorch's module order: stem, blocks,
// head, classifier.
func goModules(st *nn.State, blocks map[string]int, headKind string) ([]goModule, error) {
	mods := []goModule{{"enc.stem.conv", "stem.0", "conv"}, {"enc.stem.bn", "stem.1", "bn"}}
	names := make([]string, 0, len(blocks))
	for b := range blocks {
		names = append(names, b)
	}
	slices.SortFunc(names, func(x, y string) int { return cmp.Compare(blocks[x], blocks[y]) })
	for _, b := range names {
		k := "layers." + strconv.Itoa(blocks[b])
		mods = append(mods,
			goModule{b + ".conv1", k + ".c1", "conv"}, goModule{b + ".bn1", k + ".b1", "bn"},
			goModule{b + ".conv2", k + ".c2", "conv"}, goModule{b + ".bn2", k + ".b2", "bn"})
		if _, ok := st.Params[b+".short.conv.w"]; ok {
			mods = append(mods, goModule{b + ".short.conv", k + ".sc.0", "conv"}, goModule{b + ".short.bn", k + ".sc.1", "bn"})
		}
	}
	_, l1 := st.Params["head.l1.w"]
	_, l2 := st.Params["head.l2.w"]
	switch {
	case headKind == nn.HeadNonlinear && l1 && l2:
		// nn.Sequential(Linear, ReLU, Linear)
		mods = append(mods, goModule{"head.l1", "head.0", "linear"}, goModule{"head.l2", "head.2", "linear"})
	case headKind == nn.HeadLinear && l1 && !l2:
		mods = append(mods, goModule{"head.l1", "head.0", "linear"})
	case l1 || l2:
		return nil, fmt.Errorf("export encoder: head parameters do not match a %q head", headKind)
	}
	if _, ok := st.Params["cls.w"]; ok {
		mods = append(mods, goModule{"cls", "fc", "linear"})
	}
	return mods, nil
}

// convGeometry returns the stride and padding of the Go convolution name:
// 3×3 convolutions pad 1, shortcuts 0; a stage after the first halves the
// resolution in its first block's conv1 and shortcut (nn.EncoderSpec).
func convGeometry(name string) (stride, pad int) {
	stride, pad = 1, 1
	if strings.HasSuffix(name, ".short.conv") {
		pad = 0
	}
	if strings.HasSuffix(name, ".conv1") || strings.HasSuffix(name, ".short.conv") {
		if rest, ok := strings.CutPrefix(name, "enc.s"); ok && !strings.HasPrefix(rest, "1.") && strings.Contains(rest, ".b0.") {
			stride = 2
		}
	}
	return stride, pad
}

// torchConv is PyTorch's repr of a bias-free Conv2d of weight shape w.
func torchConv(w []int, stride, pad int) string {
	s := fmt.Sprintf("Conv2d(%d, %d, kernel_size=(%d, %d), stride=(%d, %d)", w[1], w[0], w[2], w[3], stride, stride)
	if pad != 0 {
		s += fmt.Sprintf(", padding=(%d, %d)", pad, pad)
	}
	return s + ", bias=False)"
}

// transpose returns the [cols, rows] transpose of the row-major [rows, cols] m.
func transpose(m []float32, rows, cols int) []float32 {
	out := make([]float32, len(m))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = m[r*cols+c]
		}
	}
	return out
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// CheckpointModel is the network of a training checkpoint (Hooks.Checkpoint).
type CheckpointModel struct {
	Kind       string // "simclr" or "supervised"
	ConfigHash string
	Seed       int64
	Epoch      int   // epochs completed
	Steps      int64 // training steps taken
	Model      *nn.State
}

// ReadCheckpoint returns the network saved in the checkpoint directory
// dir, which a cell keeps while it runs and after it is interrupted (a
// finished cell deletes it). A missing checkpoint is an error wrapping
// fs.ErrNotExist.
func ReadCheckpoint(dir string) (*CheckpointModel, error) {
	f, err := os.Open(filepath.Join(dir, checkpointFile))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	var ck checkpoint
	if err := gob.NewDecoder(f).Decode(&ck); err != nil {
		return nil, fmt.Errorf("checkpoint %s is unreadable: %w", f.Name(), err)
	}
	if ck.Model == nil {
		return nil, fmt.Errorf("checkpoint %s holds no model", f.Name())
	}
	var steps int64
	for _, e := range ck.Epochs {
		steps += int64(e.Steps)
	}
	return &CheckpointModel{Kind: ck.Kind, ConfigHash: ck.ConfigHash, Seed: ck.Seed, Epoch: ck.Epoch, Steps: steps, Model: ck.Model}, nil
}
