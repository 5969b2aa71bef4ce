"""The embedded backend: Qdrant Edge shards in a folder (store.py), with what only it needs: the folder's lock
(lock.py), reading a store it may not write from copies (readonly.py), and stopping before the disk is full
(space.py)."""
