"""Tests of cnnkit.policy: the submission policy's rules, as pure functions."""
