"""``python -m proofs_numeric.certificates FILE...``: re-verify certificates independently.

One line per file (``OK`` with what was proved, or ``FAIL`` with the reason); exit status
0 when every file verifies, 1 otherwise (2 for a usage error). Loads only the checker and
python-flint: not the claim registry, the claims, the search or the prover.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from proofs_numeric.certificates.checker import CertificateRejected, verify_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proofs_numeric.certificates",
        description="Re-verify proof certificates with the independent checker.",
        epilog="Exit status: 0 every file verifies; 1 a file does not; 2 usage error.",
    )
    parser.add_argument("files", nargs="+", help="certificate JSON files")
    args = parser.parse_args(argv)
    ok = True
    for name in args.files:
        try:
            print(verify_file(name).line(name), flush=True)
        except CertificateRejected as exc:
            ok = False
            print(f"FAIL {name}: {exc}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
