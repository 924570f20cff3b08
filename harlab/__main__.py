import sys

from harlab.cli import main

sys.exit(main())
