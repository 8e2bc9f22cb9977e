"""Plotly figures and reports, pure functions of result tables; never runs a model."""
