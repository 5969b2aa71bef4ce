"""Analysis: what is learnt from vectors already stored (ensembles, stackers), never encoding an image again
unless asked to."""
