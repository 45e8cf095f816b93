"""JSON API blueprints, one per area."""
