"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

ansible-test creates each sanity virtualenv without pip and bootstraps pip by running a
get-pip script it caches under ~/.ansible/test/cache/get_pip_<version>.py. That host is not
reachable from our CI, so tests/test_sanity.py places this script there instead: it installs
the pip that ships inside CPython (ensurepip, no network) and then lets that pip install the
requested pip version through the configured package index, like `make venv` does.

Usage (what ansible-test runs): python get_pip_X_Y.py [pip options] pip==X.Y [--no-setuptools] [--no-wheel]
"""

import subprocess
import sys


def main() -> int:
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    sys.exit(main())
