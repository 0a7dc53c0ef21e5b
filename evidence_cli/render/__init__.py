"""Renderers: rich tables for the terminal, plain JSON/JSONL/TSV for scripts, markdown for notes."""
