"""photoface's engine: no Qt here, ever. The GUI and the CLI both drive this package."""
