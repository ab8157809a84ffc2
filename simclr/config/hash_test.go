package config

import (
	"encoding/json"
	"strings"
	"testing"
)

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
	c.SaveEncoder = true
	if got, want := c.Hash(), "03dfbdeed2c80b7b"; got != want {
		t.Errorf("Hash with save_encoder = %s, want %s (keeping the encoder is the same cell)", got, want)
	}
	c.Dataset, c.Path, c.Blocks, c.AugmentB, c.FinetuneBatch = "synthetic", "x", []int{1, 2}, []string{"crop"}, 8
	if got, want := c.Hash(), "f965d700cfe35f0f"; got != want {
		t.Errorf("Hash of a changed config = %s, want %s", got, want)
	}
}

// TestSaveEncoderRecorded: the config's JSON (config_json) records
// save_encoder when it is on, though Hash leaves it out.
func TestSaveEncoderRecorded(t *testing.T) {
	c := DefaultConfig()
	c.SaveEncoder = true
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"save_encoder":true`) {
		t.Errorf("JSON of a config with save_encoder = %s, want it recorded", b)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil || !back.SaveEncoder {
		t.Errorf("Unmarshal(JSON) = %v, SaveEncoder %v; want true", err, back.SaveEncoder)
	}
}
