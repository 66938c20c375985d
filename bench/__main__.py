"""`python -m bench --json`: every benchmark as one JSON document (the design's entry point; the
app's CLI does not import bench)."""
import json

from bench.run import collect

print(json.dumps(collect(), indent=1))
