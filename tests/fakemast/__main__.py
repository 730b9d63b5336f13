"""Serve a folder as a fake MAST: python -m fakemast FOLDER [PORT] (run from tests/)."""

import sys
import time

from fakemast.server import FakeMast

if __name__ == "__main__":
    mast = FakeMast(sys.argv[1]).start()
    print(f"fake MAST serving {len(mast.products)} files at {mast.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        mast.stop()
