"""Talking to the MAST archive: batched searches, product choice, downloads, manners.

One room for everything that crosses the network, used by the ``mast`` source, by
``exoextract plan`` and by both executors (through the stage):

``client``      one kept-alive connection, the portal's services, retries, the shared pause
``products``    which files make a target's light curve (lightkurve's rules, one per segment)
``search``      many targets per query
``records``     what a search found, kept in the cache so a repeated run asks nothing
``transfer``    one file into the cache, never left half-written under its real name
``worker``      what the archive processes run
``stage``       searches and downloads ahead of the CPU workers, within ``max_downloads``
``inventory``   ``exoextract plan``: what a run would download and how long it would take
``direct``      one target fetched in this process (diagnostic sheets, Dask workers)
``options``     the archive's options, from the run's settings

Nothing here imports the executors, the features or the run folder.
"""
