"""Bundled data (dinosaur names, a default text) and text helpers."""
