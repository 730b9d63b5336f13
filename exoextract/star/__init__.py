"""One star in a worker: the task it is given, the entry the pool calls, and the
extraction (fetch, clean, features, rows). Never raises: failures come back as data."""
