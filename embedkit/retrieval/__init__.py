"""Search: queries against a collection (their pictures are drawn by `embedkit.drawing.grid`)."""

from embedkit.retrieval.query import SearchResult, search

__all__ = ["SearchResult", "search"]
