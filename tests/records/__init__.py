"""Tests of cnnkit.records: each hand-off record, and that its name is spelled in its own module only."""
