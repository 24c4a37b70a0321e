"""Frames -> what people read: tables, figures, Markdown and the self-contained HTML report."""
