#!/usr/bin/env bash
# Gradescope runs this once, while it builds the autograder image: it installs Python 3.11,
# CPU-only torch (far smaller than the default CUDA build) and the grader into /autograder/venv.
set -euo pipefail
cd "$(dirname "$0")"

# >>> INSTRUCTOR: where the grader comes from. Edit this one line (any pip requirement works,
# >>> e.g. "git+https://github.com/YOUR-ORG/torchgrade@v0.1.0"). By default: the wheel in this zip.
GRADER="./@WHEEL@"

apt-get update -qq
apt-get install -y -qq python3 python3-venv > /dev/null
python3 -m venv /tmp/uv-bootstrap
/tmp/uv-bootstrap/bin/python -m pip install --quiet uv
UV=/tmp/uv-bootstrap/bin/uv
"$UV" venv --python 3.11 /autograder/venv
"$UV" pip install --python /autograder/venv/bin/python --torch-backend cpu "$GRADER"
/autograder/venv/bin/python -m grader --version
