"""Running tasks in killable processes: the local supervised pool, a Dask cluster, the
child processes, retries and time limits, memory caps, the workers' preload."""
