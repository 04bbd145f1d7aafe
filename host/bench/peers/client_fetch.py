"""The client side of `quarry-bench clients`: one query's rows fetched whole into this Python
process, and thrown away, through Quarry's PostgreSQL port (psycopg 3: text results, binary
results, COPY binary) and through its Arrow Flight SQL port (ADBC), each timed `rounds` times.

Argument: a JSON request
  {"pg_port": 5432, "flight_sql_port": 5433, "user": "admin", "password": "...",
   "query": "SELECT * FROM tpch.sf1.lineitem", "rounds": 3}
Prints one JSON line on stdout:
  {"versions": {...}, "expected_rows": N,
   "methods": {"psycopg_text": {"seconds": [..], "rows": [..], "bytes": [..]}, ...}}
`rows` is null for COPY (its blocks are counted in bytes, not decoded); `bytes` is null for the
psycopg cursors, COPY's bytes received for COPY, the Arrow table's buffers for Flight SQL. Each
round runs every method once, so a drift over time falls on every method alike. Exits 3 when a
package is missing; with the argument `--check-imports`, does nothing else.
"""

import json
import sys
import time

MISSING_PACKAGES = 3
FETCH_MANY = 100_000

try:
    import adbc_driver_flightsql
    import adbc_driver_flightsql.dbapi as flight_sql
    import psycopg
    import pyarrow
except ImportError as error:
    print(f"client_fetch.py: {error}", file=sys.stderr)
    sys.exit(MISSING_PACKAGES)


def psycopg_cursor(conn, query, binary):
    """Rows become Python tuples, `FETCH_MANY` at a time (a client-side cursor: the whole
    result arrives during `execute`)."""

    def run():
        rows = 0
        with conn.cursor(binary=binary) as cur:
            cur.execute(query)
            while batch := cur.fetchmany(FETCH_MANY):
                rows += len(batch)
        return rows, None

    return run


def copy_binary(conn, query):
    """The COPY stream's blocks as they arrive, counted, not decoded."""

    def run():
        size = 0
        with conn.cursor() as cur:
            with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
                for block in copy:
                    size += len(block)
        return None, size

    return run


def flight_sql_table(conn, query):
    """The whole result as one decoded Arrow table."""

    def run():
        with conn.cursor() as cur:
            cur.execute(query)
            table = cur.fetch_arrow_table()
        return table.num_rows, table.nbytes

    return run


def main():
    if sys.argv[1] == "--check-imports":
        return
    request = json.loads(sys.argv[1])
    query, rounds = request["query"], request["rounds"]
    user, password = request["user"], request["password"]
    pg = psycopg.connect(
        host="127.0.0.1",
        port=request["pg_port"],
        dbname="quarry",
        user=user,
        password=password,
        autocommit=True,
    )
    flight = flight_sql.connect(
        f"grpc://127.0.0.1:{request['flight_sql_port']}",
        db_kwargs={"username": user, "password": password},
        autocommit=True,
    )
    with pg, flight:
        expected = pg.execute(f"SELECT count(*) FROM ({query}) AS fetched").fetchone()[0]
        methods = {
            "psycopg_text": psycopg_cursor(pg, query, binary=False),
            "psycopg_binary": psycopg_cursor(pg, query, binary=True),
            "copy_binary": copy_binary(pg, query),
            "flight_sql": flight_sql_table(flight, query),
        }
        out = {name: {"seconds": [], "rows": [], "bytes": []} for name in methods}
        for number in range(1, rounds + 1):
            for name, run in methods.items():
                started = time.perf_counter()
                rows, size = run()
                seconds = time.perf_counter() - started
                out[name]["seconds"].append(seconds)
                out[name]["rows"].append(rows)
                out[name]["bytes"].append(size)
                print(f"round {number}: {name} {seconds:.2f} s", file=sys.stderr)
    for figures in out.values():
        for key in ("rows", "bytes"):
            if all(value is None for value in figures[key]):
                figures[key] = None
    versions = {
        "psycopg": psycopg.__version__,
        "libpq": str(psycopg.pq.version()),
        "adbc_driver_flightsql": getattr(adbc_driver_flightsql, "__version__", "?"),
        "pyarrow": pyarrow.__version__,
    }
    print(json.dumps({"versions": versions, "expected_rows": expected, "methods": out}))


if __name__ == "__main__":
    main()
