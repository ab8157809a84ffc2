package augment

import (
	"fmt"
	"math"
)

// Params are the knobs of the random transforms. The zero value is not
// useful: start from DefaultParams and override. simclr.Config carries the
// user-facing subset (color_strength, crop_min_scale, flip_prob, color_prob,
// gray_prob, blur_prob, cutout_size, noise_sigma); the rest keep the
// paper's values.
type Params struct {
	// ColorStrength is s of the colour distortion: brightness, contrast and
	// saturation factors ~ U[max(0, 1-0.8s), 1+0.8s], hue shift ~
	// U[-min(0.2s, 0.5), min(0.2s, 0.5)].
	ColorStrength float64
	// CropMinScale and CropMaxScale bound the area of a random resized crop
	// (and of an roi window) as a fraction of the image area.
	CropMinScale, CropMaxScale float64
	// CropMinRatio and CropMaxRatio bound the crop's aspect ratio w/h,
	// drawn log-uniformly.
	CropMinRatio, CropMaxRatio float64
	// FlipProb is the probability of a horizontal flip ("flip").
	FlipProb float64
	// ColorProb is the probability that "color" applies the jitter;
	// GrayProb, drawn independently after it, that it then drops colour.
	ColorProb, GrayProb float64
	// BlurProb is the probability that "blur" blurs; sigma ~
	// U[BlurSigmaMin, BlurSigmaMax]; the kernel side is BlurKernelSize of
	// the image side with BlurKernelFrac.
	BlurProb                   float64
	BlurSigmaMin, BlurSigmaMax float64
	BlurKernelFrac             float64
	// CutoutSize is the side of the square "cutout" erases, as a fraction of
	// the image's shorter side (rounded to whole pixels).
	CutoutSize float64
	// NoiseSigma is the standard deviation of the additive Gaussian noise of
	// "noise", in units of the [0,1] pixel range.
	NoiseSigma float64
}

// DefaultParams returns the SimCLR values (Chen et al. 2020, arXiv:2002.05709,
// appendix A) scaled as
// simclr.DefaultConfig does: colour strength 0.5 (the paper's CIFAR-10
// value), crop area [0.08, 1] with aspect [3/4, 4/3], flip 0.5, colour
// jitter 0.8, grayscale 0.2, blur 0.5 with sigma in [0.1, 2] and a kernel of
// 10% of the side. The paper gives no cutout or noise sizes: ours are a
// square of half the side (DeVries & Taylor use about that on CIFAR-10) and
// sigma 0.1.
func DefaultParams() Params {
	return Params{
		ColorStrength:  0.5,
		CropMinScale:   0.08,
		CropMaxScale:   1,
		CropMinRatio:   3.0 / 4.0,
		CropMaxRatio:   4.0 / 3.0,
		FlipProb:       0.5,
		ColorProb:      0.8,
		GrayProb:       0.2,
		BlurProb:       0.5,
		BlurSigmaMin:   0.1,
		BlurSigmaMax:   2.0,
		BlurKernelFrac: 0.1,
		CutoutSize:     0.5,
		NoiseSigma:     0.1,
	}
}

// Validate returns an error naming the first setting out of range, or nil.
func (p Params) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	prob := func(name string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("%s must be in [0, 1], got %g", name, v)
		}
		return nil
	}
	nonneg := func(name string, v float64) error {
		if !(v >= 0) || !finite(v) {
			return fmt.Errorf("%s must be >= 0 and finite, got %g", name, v)
		}
		return nil
	}
	checks := []error{
		nonneg("color_strength", p.ColorStrength),
		prob("flip_prob", p.FlipProb),
		prob("color_prob", p.ColorProb),
		prob("gray_prob", p.GrayProb),
		prob("blur_prob", p.BlurProb),
		prob("cutout_size", p.CutoutSize),
		nonneg("noise_sigma", p.NoiseSigma),
		nonneg("blur kernel fraction", p.BlurKernelFrac),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if !(p.CropMinScale > 0 && p.CropMinScale <= p.CropMaxScale && p.CropMaxScale <= 1) {
		return fmt.Errorf("crop scale range must satisfy 0 < crop_min_scale <= max <= 1, got [%g, %g]", p.CropMinScale, p.CropMaxScale)
	}
	if !(p.CropMinRatio > 0 && p.CropMinRatio <= p.CropMaxRatio && finite(p.CropMaxRatio)) {
		return fmt.Errorf("crop aspect range must satisfy 0 < min <= max < inf, got [%g, %g]", p.CropMinRatio, p.CropMaxRatio)
	}
	if !(p.BlurSigmaMin > 0 && p.BlurSigmaMin <= p.BlurSigmaMax && finite(p.BlurSigmaMax)) {
		return fmt.Errorf("blur sigma range must satisfy 0 < min <= max < inf, got [%g, %g]", p.BlurSigmaMin, p.BlurSigmaMax)
	}
	return nil
}
