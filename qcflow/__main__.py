import sys

from qcflow.cli import main

sys.exit(main())
