package config

import "testing"

// TestHashPinned pins Config.Hash: results databases key runs by it, so a
// change to the hash of unchanged settings orphans every stored result.
func TestHashPinned(t *testing.T) {
	c := DefaultConfig()
	if got, want := c.Hash(), "03dfbdeed2c80b7b"; got != want {
		t.Errorf("DefaultConfig().Hash() = %s, want %s", got, want)
	}
	c.Seed = 7
	if got, want := c.Hash(), "03dfbdeed2c80b7b"; got != want {
		t.Errorf("Hash with seed 7 = %s, want %s (the seed is not hashed)", got, want)
	}
	c.Dataset, c.Path, c.Blocks, c.AugmentB, c.FinetuneBatch = "synthetic", "x", []int{1, 2}, []string{"crop"}, 8
	if got, want := c.Hash(), "f965d700cfe35f0f"; got != want {
		t.Errorf("Hash of a changed config = %s, want %s", got, want)
	}
}
