"""The exceptions a user can cause, each with a one-line message that says what to do.

The CLI catches only :class:`ExoextractError`; anything else is a bug and keeps its
traceback. Each subclass carries the exit code the CLI uses for it.
"""

from __future__ import annotations


class ExoextractError(Exception):
    """Something the user can fix; the message says what and how."""

    exit_code = 1


class InputError(ExoextractError):
    """The target CSV, a config file or an option is unusable."""

    exit_code = 2


class RunDirError(ExoextractError):
    """The run directory is missing, taken, or does not match what was asked."""

    exit_code = 2


class CheckpointError(ExoextractError):
    """A checkpoint could not be written (disk full, permissions); finished work is kept."""

    exit_code = 3


class CacheError(ExoextractError):
    """The lightkurve cache could not be located or cleaned."""

    exit_code = 2


class ArchiveUnreachable(ExoextractError):
    """The archive did not answer (network down, wrong --mast-url); nothing was written."""

    exit_code = 7


class WorkersUnavailable(ExoextractError):
    """No worker process could be started (out of memory or processes); the run ended
    incomplete with every finished target checkpointed — resume."""

    exit_code = 4


class Interrupted(ExoextractError):
    """The run was stopped by a signal after checkpointing everything that finished."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


# --- target-level errors: raised inside workers, recorded as outcomes, never shown raw ---


class TargetError(Exception):
    """A problem with one target; becomes that target's outcome, not a crash of the run."""

    status = "failed"
    transient = False


class NoDataError(TargetError):
    """The source has no light curve for this target (not retried)."""

    status = "no_data"


class TransientError(TargetError):
    """A failure that may pass on a later attempt (network, archive 5xx, bad download)."""

    transient = True


class RefetchError(TransientError):
    """A downloaded file went bad before it was read; it is downloaded again."""


class CorruptFileError(TargetError):
    """A light-curve file exists but is not a fully readable FITS file."""


class PluginError(TargetError):
    """A user feature plugin returned something that is not a mapping of names to numbers."""
