"""Drawing: the pictures of what the readers of the store found (grids of images, maps as PNGs and HTML pages,
confusion matrices). It draws what it is given and computes nothing; it imports no reader of the store."""
