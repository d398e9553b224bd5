import sys

from archc.cli.main import main

sys.exit(main())
