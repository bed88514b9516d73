"""`csteer bench`: run SymBench for one or more steering methods, keep results in an append-only
JSONL file that a killed run resumes, and report accuracy next to the paper's Table 1.

    methods.py   method names (policies and ablation variants) -> RunSettings changes
    samples.py   which tasks, which samples (generated per index from a seed, or loaded from --data)
    results.py   the append-only results file: whole-line writes, torn-tail repair, latest line per key
    runner.py    one runtime Assembly (engines, sandbox), a worker pool, per-sample errors, clean stop
    report.py    accuracy, Ave.Norm, cost, the paper's numbers; rich table, HTML, JSON
    chart.py     the matplotlib bar chart
"""
