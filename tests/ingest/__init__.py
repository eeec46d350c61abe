"""Tests of cnnkit.ingest: everything a submission crosses before grading reads it."""
