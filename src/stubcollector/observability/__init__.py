"""Logs, request ids and metrics: what operators need to see what the app is doing."""
