import sys

from anker.cli import main

sys.exit(main())
