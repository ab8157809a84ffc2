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

// TestHashNewSettings: the settings added after results were stored
// leave the hash of a config that does not use them as it was (so stored
// runs keep their identity), and change it when they are used.
func TestHashNewSettings(t *testing.T) {
	def := DefaultConfig()
	same := map[string]func(*Config){
		"lr_schedule empty (a config stored before the setting)": func(c *Config) { c.LRSchedule = "" },
		"kNN monitor off":     func(c *Config) { c.KNNTrain, c.KNNTest = 0, 0 },
		"kNN monitor resized": func(c *Config) { c.KNNTrain, c.KNNTest = 5000, 2000 },
	}
	for name, mut := range same {
		c := DefaultConfig()
		mut(&c)
		if c.Hash() != def.Hash() {
			t.Errorf("%s: Hash = %s, want the default's %s", name, c.Hash(), def.Hash())
		}
	}
	differ := map[string]func(*Config){
		"steps":             func(c *Config) { c.Epochs, c.Steps = 0, 780 },
		"constant schedule": func(c *Config) { c.LRSchedule = "constant" },
		"step schedule":     func(c *Config) { c.LRSchedule, c.LRMilestones = "step", []int{5} },
		"final fraction":    func(c *Config) { c.LRFinalFraction = 0.1 },
	}
	seen := map[string]string{def.Hash(): "default"}
	for name, mut := range differ {
		c := DefaultConfig()
		mut(&c)
		h := c.Hash()
		if prev, ok := seen[h]; ok {
			t.Errorf("%s: Hash = %s, the same as %s", name, h, prev)
		}
		seen[h] = name
	}
}
