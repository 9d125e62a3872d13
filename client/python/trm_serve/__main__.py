"""python3 -m trm_serve arc run CHALLENGES.json [--solutions S] [--out submission.json] ..."""
import sys

from . import arc


def main() -> int:
    if sys.argv[1:3] != ["arc", "run"]:
        print("usage: python3 -m trm_serve arc run CHALLENGES.json [--solutions SOLUTIONS.json] "
              "[--out submission.json] [--target host:port]", file=sys.stderr)
        return 2
    return arc.main(sys.argv[3:])


sys.exit(main())
