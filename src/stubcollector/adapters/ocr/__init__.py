"""Reading stub photos: the :class:`~.base.StubReader` interface, its engines and the parser."""
