"""Folder shapes a submission can take that a recursive walk cannot: chains nested deeper than Python's stack."""

import os


def deep_chain(folder, depth, name="d", leaf=None):
    """depth nested folders called name under folder, made through directory descriptors (the path may exceed
    PATH_MAX); leaf = (file name, bytes) puts a file in the innermost one. Returns nothing: nothing can reach
    the innermost folder by path."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=descriptor)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        if leaf:
            file_name, data = leaf
            with open(os.open(file_name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor), "wb") as handle:
                handle.write(data)
    finally:
        os.close(descriptor)


def depth_of(folder):
    """How many folders nest under folder, counted without recursion and without paths (descriptors only)."""
    deepest, pending = 0, [(os.open(folder, os.O_RDONLY | os.O_DIRECTORY), 0)]
    while pending:
        descriptor, depth = pending.pop()
        deepest = max(deepest, depth)
        for entry in os.scandir(descriptor):
            if entry.is_dir(follow_symlinks=False):
                pending.append((os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor), depth + 1))
        os.close(descriptor)
    return deepest
