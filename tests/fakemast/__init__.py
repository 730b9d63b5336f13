"""A local fake of the MAST archive for tests (see server.py)."""

from fakemast.server import FAULTS, FakeMast, scan

__all__ = ["FAULTS", "FakeMast", "scan"]
