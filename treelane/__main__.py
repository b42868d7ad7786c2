from __future__ import annotations

from treelane.main import main

raise SystemExit(main())
