-- Schema version 4: params rows for the settings added after runs were
-- stored (steps, lr_schedule, lr_final_fraction, lr_milestones, knn_train,
-- knn_test), in every run that lacks them, with the values those runs
-- had: epochs decided the length, the rate decayed by cosine to 0, and no
-- kNN monitor ran. Without them a new run of an old experiment would
-- differ from its first run in these keys and make them axes, and
-- `runner ls --where "lr_schedule = 'cosine'"` would miss the old runs.
-- The texts are what store.FlattenConfig writes.
INSERT OR IGNORE INTO params (run_id, key, value, value_num) SELECT id, 'steps', '0', 0 FROM runs;
INSERT OR IGNORE INTO params (run_id, key, value, value_num) SELECT id, 'lr_schedule', 'cosine', NULL FROM runs;
INSERT OR IGNORE INTO params (run_id, key, value, value_num) SELECT id, 'lr_final_fraction', '0', 0 FROM runs;
INSERT OR IGNORE INTO params (run_id, key, value, value_num) SELECT id, 'lr_milestones', '[]', NULL FROM runs;
INSERT OR IGNORE INTO params (run_id, key, value, value_num) SELECT id, 'knn_train', '0', 0 FROM runs;
INSERT OR IGNORE INTO params (run_id, key, value, value_num) SELECT id, 'knn_test', '0', 0 FROM runs;
