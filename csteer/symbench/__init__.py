"""SymBench: the 37 symbolic tasks of the CodeSteer paper, with generators and deterministic verifiers."""
