"""Pantau's Plotly Dash application (layouts in pages/, callbacks in callbacks/)."""
