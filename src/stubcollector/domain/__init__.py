"""Domain rules: plain Python, no Flask, no SQLAlchemy, no vendor SDKs."""
