"""Stub Collector: catalogue ticket stubs from photos and sell them to other collectors."""
