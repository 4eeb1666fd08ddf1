"""Performance as a measured figure: real configs at full size, analytic FLOPs, GPU peaks, PERFORMANCE.md.

Nothing here runs at import or during the default test run; `suites/perf` drives it.
"""
