"""python3 -m grader: grade a class's submissions (see grader/README.md, or --help)."""

import sys

from grader.grading.cli import main

sys.exit(main())
