"""Payment providers behind one interface (see ``ports.py``)."""
