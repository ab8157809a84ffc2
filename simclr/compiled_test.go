package simclr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// TestCompiledRetries: compiled builds again on nn.ErrHashCollision, at
// most three times, and on nothing else.
func TestCompiledRetries(t *testing.T) {
	collision := fmt.Errorf("compile network: %w", nn.ErrHashCollision)
	other := errors.New("build network: bad arch")
	for _, tc := range []struct {
		name      string
		errs      []error // build's results, in turn
		wantCalls int
		want      error
	}{
		{"first try", []error{nil}, 1, nil},
		{"after a collision", []error{collision, nil}, 2, nil},
		{"after two", []error{collision, collision, nil}, 3, nil},
		{"three collisions", []error{collision, collision, collision, nil}, 3, nn.ErrHashCollision},
		{"other error", []error{other, nil}, 1, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := compiled(func() error {
				calls++
				return tc.errs[calls-1]
			})
			if calls != tc.wantCalls {
				t.Errorf("build ran %d times, want %d", calls, tc.wantCalls)
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("compiled = %v, want %v", err, tc.want)
			}
		})
	}
}
