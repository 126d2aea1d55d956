import sys

from aura_exporter.cli import main

sys.exit(main())
