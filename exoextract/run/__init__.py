"""A run: read the input, plan chunks, drive an executor, checkpoint, merge; the run
folder (manifest, checkpoints, status) and what is read from it (export, check)."""
