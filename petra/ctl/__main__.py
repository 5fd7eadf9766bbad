"""`python -m petra.ctl`: the same as the `petra-ctl` console script."""

import sys

from petra.ctl import main

sys.exit(main())
