"""``python -m proofs_numeric.certificates FILE...``: re-verify certificates independently.

One line per file (``OK`` with the claim proved, or ``FAIL`` with the reason); with
``--verbose`` the statement proved, the lemmas it assumes and the tail check follow each
``OK`` line, indented. Exit status 0 when every file verifies, 1 otherwise (2 for a usage
error). Loads only the checker and
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
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the statement proved, its assumptions and the tail check",
    )
    args = parser.parse_args(argv)
    ok = True
    for name in args.files:
        try:
            report = verify_file(name)
            print(report.line(name), flush=True)
            if args.verbose:
                for line in report.details():
                    print(f"     {line}", flush=True)
        except CertificateRejected as exc:
            ok = False
            print(f"FAIL {name}: {exc}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
