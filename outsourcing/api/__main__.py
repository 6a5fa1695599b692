import sys

from outsourcing.api.server import main

sys.exit(main())
