-- Schema version 2: the peak resident memory of the runner process while
-- the run's attempt ran (MB; NULL when not measured: with -j > 1 cells
-- share one process, and off Linux).
ALTER TABLE runs ADD COLUMN peak_rss_mb REAL;
