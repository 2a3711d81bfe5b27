"""Thin ComfyUI V3 nodes: read inputs, validate, call the engine, wrap results in core types."""
