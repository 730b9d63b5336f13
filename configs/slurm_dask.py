"""exoextract on a SLURM cluster through Dask (an example to adapt; not run by the tests).

    pip install 'exoextract[dask]' dask-jobqueue      # in an environment every node sees
    python configs/slurm_dask.py targets.csv /shared/runs/koi [--timeout 1800 ...]

This process holds the Dask scheduler and is exoextract's client: it alone writes the run
folder, so put that on storage you can reach after the job (it is also where `exoextract
resume` and `status` look). The workers are SLURM jobs; each finds light curves itself,
from a --data-dir every node can read or from MAST into its own lightkurve cache.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dask
from dask_jobqueue import SLURMCluster

VENV = "/shared/venvs/exoextract"  # the same Python and exoextract version on every node


def main() -> int:
    targets, out, *options = sys.argv[1:]
    # The scheduler runs here: a worker lost mid-target is reported to exoextract at once
    # (KilledWorker), which retries or quarantines it by its own policy.
    dask.config.set({"distributed.scheduler.allowed-failures": 0})
    cluster = SLURMCluster(
        queue="normal",  # your partition
        account="my-project",  # your allocation
        cores=16,
        processes=16,  # one Dask worker per core, one thread each: one target per core
        memory="64GB",
        walltime="04:00:00",
        job_script_prologue=[f"source {VENV}/bin/activate"],
    )
    cluster.scale(jobs=4)  # 4 nodes x 16 workers; or cluster.adapt(minimum_jobs=1, maximum_jobs=8)
    try:
        exoextract = f"{VENV}/bin/exoextract"
        if (Path(out) / "manifest.json").exists():  # a run this script started before
            command = [exoextract, "resume", out]
        else:
            command = [exoextract, "run", targets, "--out", out, "--config", "configs/cluster.toml"]
        command += ["--executor", "dask", "--scheduler", cluster.scheduler_address, *options]
        return subprocess.call(command)
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
