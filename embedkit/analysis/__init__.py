"""Analysis: what is learnt from vectors already stored (ensembles, stackers, classifiers, clusters, near-duplicates,
maps), never encoding an image again unless asked to. `classify`, `cluster_collection`, `find_duplicates` and
`map_collection` take `(store, collection, *, vector=None, ...)` and return a report that writes no file until
its `save` has `embedkit.drawing` draw it."""
