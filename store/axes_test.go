package store

import (
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// TestAxesOfANewSetting: runs recorded before a setting existed have no
// params row for it; a new run at the setting's default does not make it
// an axis of their experiment, one at another value does.
func TestAxesOfANewSetting(t *testing.T) {
	db, _ := openTest(t)
	expID := mustExperiment(t, db, "e")
	old := mustClaim(t, db, expID, "old", testConfig(1))
	if _, err := db.db.Exec(`DELETE FROM params WHERE run_id = ? AND key = 'save_encoder'`, old); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, db, expID, "new", testConfig(2))
	if n := countRows(t, db, "experiment_axes", ""); n != 0 {
		t.Errorf("%d axes after a run at the new setting's default, want 0", n)
	}
	id := mustClaim(t, db, expID, "kept", testConfig(3, func(c *config.Config) { c.SaveEncoder = true }))
	if n := countRows(t, db, "experiment_axes", "key = 'save_encoder'"); n != 1 {
		t.Errorf("save_encoder is not an axis after a run that changes it")
	}
	var settings string
	if err := db.db.QueryRow(`SELECT settings FROM runs WHERE id = ?`, id).Scan(&settings); err != nil || settings != "save_encoder=true" {
		t.Errorf("settings of the run = %q, %v; want save_encoder=true", settings, err)
	}
}
