"""``python -m ledger.poa``: one node of the network model as a process (:func:`ledger.poa.node.main`)."""

import sys

from ledger.poa.node import main

sys.exit(main())
