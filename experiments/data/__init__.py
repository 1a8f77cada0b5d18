"""Data readers and generators: N-MNIST event files and their emulation, MNIST IDX files and
image patches."""
