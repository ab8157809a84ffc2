package nn

import (
	"fmt"
	"strings"
)

// Encoder presets accepted by EncoderSpec.Preset.
const (
	PresetResNetSmall = "resnet-small"
	PresetResNet18    = "resnet-18"
)

// Head kinds accepted by HeadSpec.Kind ("" builds no head: Net.Z is nil).
const (
	HeadNone      = "none"
	HeadLinear    = "linear"
	HeadNonlinear = "nonlinear"
)

// DefaultBNMomentum is PyTorch's BatchNorm momentum: after each training
// step running = (1 − m)·running + m·batch statistic.
const DefaultBNMomentum = 0.1

// bnEpsilon is PyTorch's BatchNorm epsilon.
const bnEpsilon = 1e-5

// EncoderSpec chooses the ResNet encoder. Every preset uses the CIFAR stem
// (conv3x3 stride 1 padding 1, no bias, + BN + ReLU, no max-pool) and
// BasicBlocks (conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU); the shortcut
// is conv1x1 with the block's stride + BN when the shape changes, the
// identity otherwise. The first stage has stride 1, every later stage
// stride 2 in its first block; stage widths double from the first. The
// representation h is the global average pool of the last stage, [B, F]
// with F the last stage's width.
//
//	resnet-small  width 16, blocks 1,1,1   -> F = 64  (the reference model of bench/torch_simclr_step.py)
//	resnet-18     width 64, blocks 2,2,2,2 -> F = 512 (CIFAR ResNet-18)
type EncoderSpec struct {
	Preset     string
	Width      int   // first-stage width; 0 = the preset's
	Blocks     []int // BasicBlocks per stage, its length the number of stages; nil = the preset's
	InChannels int   // 0 = taken from Build's c; otherwise must equal it
}

// HeadSpec chooses the projection head g(h) of SimCLR:
//
//	none       z = h
//	linear     z = h·W + b                      [B, Out]
//	nonlinear  z = ReLU(h·W1 + b1)·W2 + b2      hidden width Hidden (0 = F), [B, Out]
type HeadSpec struct {
	Kind   string // "" (no head), "none", "linear" or "nonlinear"
	Hidden int    // nonlinear hidden width; 0 = the encoder's feature dim F
	Out    int    // output dim of linear and nonlinear heads; must be > 0 for them
}

// Arch is a whole network: encoder, optional projection head, optional
// linear classifier on h.
type Arch struct {
	Encoder    EncoderSpec
	Head       HeadSpec
	Classes    int     // > 0 adds a linear classifier on h: Logits = h·Wc + bc, [B, Classes]
	BNMomentum float64 // PyTorch semantics; 0 = DefaultBNMomentum (0.1)
}

// stageSpec is one resolved stage.
type stageSpec struct {
	width, blocks, stride int
}

// resolved is an EncoderSpec with the preset applied.
type resolved struct {
	stemWidth int
	stages    []stageSpec
}

// resolve applies the preset and the overrides, and validates them.
func (s EncoderSpec) resolve() (resolved, error) {
	var width int
	var blocks []int
	switch s.Preset {
	case PresetResNetSmall:
		width, blocks = 16, []int{1, 1, 1}
	case PresetResNet18:
		width, blocks = 64, []int{2, 2, 2, 2}
	default:
		return resolved{}, fmt.Errorf("nn: unknown encoder preset %q (valid: %s)", s.Preset,
			strings.Join([]string{PresetResNetSmall, PresetResNet18}, ", "))
	}
	if s.Width < 0 {
		return resolved{}, fmt.Errorf("nn: encoder width must be >= 0, got %d", s.Width)
	}
	if s.Width > 0 {
		width = s.Width
	}
	if s.Blocks != nil {
		if len(s.Blocks) == 0 {
			return resolved{}, fmt.Errorf("nn: encoder blocks must list at least one stage, got %v", s.Blocks)
		}
		for _, b := range s.Blocks {
			if b <= 0 {
				return resolved{}, fmt.Errorf("nn: every encoder stage needs at least one block, got %v", s.Blocks)
			}
		}
		blocks = s.Blocks
	}
	if s.InChannels < 0 {
		return resolved{}, fmt.Errorf("nn: encoder in_channels must be >= 0, got %d", s.InChannels)
	}
	r := resolved{stemWidth: width}
	for i, b := range blocks {
		stride := 2
		if i == 0 {
			stride = 1
		}
		r.stages = append(r.stages, stageSpec{width: width << i, blocks: b, stride: stride})
	}
	return r, nil
}

// FeatureDim returns F, the width of the representation h of spec: the last
// stage's width.
func FeatureDim(spec EncoderSpec) (int, error) {
	r, err := spec.resolve()
	if err != nil {
		return 0, err
	}
	return r.stages[len(r.stages)-1].width, nil
}

// validate checks the head and classifier settings.
func (a Arch) validate() error {
	switch a.Head.Kind {
	case "", HeadNone:
	case HeadLinear, HeadNonlinear:
		if a.Head.Out <= 0 {
			return fmt.Errorf("nn: a %s head needs Out > 0, got %d", a.Head.Kind, a.Head.Out)
		}
		if a.Head.Hidden < 0 {
			return fmt.Errorf("nn: head hidden width must be >= 0, got %d", a.Head.Hidden)
		}
	default:
		return fmt.Errorf("nn: unknown head kind %q (valid: %s, %s, %s, or empty for no head)",
			a.Head.Kind, HeadNone, HeadLinear, HeadNonlinear)
	}
	if a.Classes < 0 {
		return fmt.Errorf("nn: classes must be >= 0, got %d", a.Classes)
	}
	if !(a.BNMomentum >= 0 && a.BNMomentum <= 1) {
		return fmt.Errorf("nn: bn_momentum must be in [0, 1] (PyTorch semantics, 0.1), got %g", a.BNMomentum)
	}
	return nil
}

// momentum is the BN momentum with the default applied.
func (a Arch) momentum() float64 {
	if a.BNMomentum == 0 {
		return DefaultBNMomentum
	}
	return a.BNMomentum
}

// NoDecay reports whether the parameter named paramName is a BatchNorm
// scale or shift (".gamma", ".beta") or a bias (".b"): such parameters are
// excluded from weight decay and from LARS adaptation, as in SimCLR.
func NoDecay(paramName string) bool {
	return strings.HasSuffix(paramName, ".gamma") || strings.HasSuffix(paramName, ".beta") ||
		strings.HasSuffix(paramName, ".b")
}
