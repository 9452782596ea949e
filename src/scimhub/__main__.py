import sys

from scimhub.cli import main

sys.exit(main())
