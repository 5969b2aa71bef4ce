"""Search: queries against a collection, and pictures of their results."""

from embedkit.retrieval.query import SearchResult, search

__all__ = ["SearchResult", "search"]
