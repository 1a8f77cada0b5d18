from experiments.runner.cli import main

raise SystemExit(main())
