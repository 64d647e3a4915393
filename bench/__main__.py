"""Entry point of `make bench`. The benchmark suites arrive with the runtime."""

import sys


def main() -> int:
    print("no benchmarks yet: they arrive with the agent runtime (see bench/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
