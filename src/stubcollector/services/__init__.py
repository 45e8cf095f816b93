"""Use cases. Each public function owns its database transaction (see ``transaction``)."""
