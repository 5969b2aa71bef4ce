"""Search: queries against a collection, and pictures of their results."""

from embedkit.retrieval.query import SearchResult, search, stored_vector_name

__all__ = ["SearchResult", "search", "stored_vector_name"]
