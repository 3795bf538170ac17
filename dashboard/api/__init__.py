"""Flask blueprints served beside the Dash app (machine-facing APIs)."""
