"""The qdrant-client backend: a Qdrant server, or qdrant-client's own local mode (store.py), and what a server's
answers mean (answers.py)."""
