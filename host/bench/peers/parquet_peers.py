"""The peers of `quarry-bench files`: DuckDB and DataFusion (both from PyPI) reading the same
Parquet files, in this one process, each limited to the same number of threads. DataFusion runs
twice: with its default settings, and with its filters evaluated inside the Parquet scan
(`pushdown_filters` and `reorder_filters`), which is faster on some queries and slower on
others; the benchmark compares Quarry with the faster of all three.

Reads a JSON request on stdin:
  {"root": DIR, "schema": "sf1", "threads": 2, "rounds": 3,
   "tables": ["lineitem", ...], "queries": {"Q1": "select ... from tpch.sf1.lineitem ..."}}
and writes one JSON line on stdout:
  {"versions": {...},
   "seconds": {"duckdb": {"Q1": [..]}, "datafusion": {...}, "datafusion_pushdown": {...}},
   "rows": {"duckdb": {"Q1": 4}, "datafusion": {...}, "datafusion_pushdown": {...}}}
Each query runs once untimed, then `rounds` timed runs. Table names lose their `tpch.<schema>.`
prefix: each engine sees the files as plain tables.
"""

import json
import os
import sys
import time


def timed(run, sql, rounds):
    rows = run(sql)
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        run(sql)
        seconds.append(time.perf_counter() - started)
    return rows, seconds


def main():
    request = json.load(sys.stdin)
    root, schema = request["root"], request["schema"]
    threads, rounds = request["threads"], request["rounds"]
    prefix = f"tpch.{schema}."
    paths = {t: os.path.join(root, schema, f"{t}.parquet") for t in request["tables"]}

    import duckdb
    import datafusion

    duck = duckdb.connect()
    duck.execute(f"SET threads = {threads}")
    for table, path in paths.items():
        duck.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")

    def fusion(settings):
        config = datafusion.SessionConfig().with_target_partitions(threads)
        for key, value in settings.items():
            config = config.set(key, value)
        context = datafusion.SessionContext(config, datafusion.RuntimeEnvBuilder())
        for table, path in paths.items():
            context.register_parquet(table, path)
        return lambda sql: sum(b.num_rows for b in context.sql(sql).collect())

    pushdown = {
        "datafusion.execution.parquet.pushdown_filters": "true",
        "datafusion.execution.parquet.reorder_filters": "true",
    }
    engines = {
        "duckdb": lambda sql: len(duck.execute(sql).fetchall()),
        "datafusion": fusion({}),
        "datafusion_pushdown": fusion(pushdown),
    }
    seconds, rows = {}, {}
    for engine, run in engines.items():
        seconds[engine], rows[engine] = {}, {}
        for name, sql in request["queries"].items():
            got, times = timed(run, sql.replace(prefix, ""), rounds)
            rows[engine][name] = got
            seconds[engine][name] = times
            print(f"{engine} {name}: {min(times):.2f} s", file=sys.stderr)
    versions = {"duckdb": duckdb.__version__, "datafusion": datafusion.__version__}
    print(json.dumps({"versions": versions, "seconds": seconds, "rows": rows}))


if __name__ == "__main__":
    main()
