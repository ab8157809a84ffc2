package simclr

import "github.com/simclr-ablate/simclr-ablate/simclr/config"

// The settings of a cell live in package config, which reading a grid or
// a results database can import without the training engine; these are
// its names as the engine uses them.
type (
	Config     = config.Config
	FieldError = config.FieldError
)

// Method names (config.MethodSimCLR, ...).
const (
	MethodSimCLR     = config.MethodSimCLR
	MethodRawPixels  = config.MethodRawPixels
	MethodRandomInit = config.MethodRandomInit
	MethodSupervised = config.MethodSupervised
)

// DefaultConfig returns config.DefaultConfig().
func DefaultConfig() Config { return config.DefaultConfig() }
