"""Fakes of the outside world's servers, for tests at the HTTP level."""
