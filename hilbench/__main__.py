from hilbench.cli import main

raise SystemExit(main())
