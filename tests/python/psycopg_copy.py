"""COPY … TO STDOUT through psycopg 3's `cursor.copy()`, in text, CSV and binary.

Usage: psycopg_copy.py PORT USER PASSWORD

Prints one JSON object: per format, the rows psycopg read (binary ones decoded with the
column types), and the CSV header line. Run by tests/clients.rs against a real coordinator.
"""

import json
import sys

import psycopg

QUERY = "SELECT n_nationkey, n_name, n_comment FROM tpch.tiny.nation ORDER BY n_nationkey"


def main() -> None:
    port, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {}
    with psycopg.connect(
        host="127.0.0.1", port=port, dbname="quarry", user=user, password=password
    ) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY ({QUERY}) TO STDOUT") as copy:
                out["text"] = [list(row) for row in copy.rows()]
            with cur.copy(f"COPY ({QUERY}) TO STDOUT (FORMAT csv, HEADER)") as copy:
                raw = b"".join(bytes(block) for block in copy)
            lines = raw.decode().splitlines()
            out["csv_header"] = lines[0]
            out["csv_rows"] = len(lines) - 1
            out["csv_first"] = lines[1]
            with cur.copy(f"COPY ({QUERY}) TO STDOUT (FORMAT binary)") as copy:
                copy.set_types(["int8", "text", "text"])
                out["binary"] = [list(row) for row in copy.rows()]
            # No rows: the signature and the trailer still arrive, in one message.
            with cur.copy(f"COPY ({QUERY} LIMIT 0) TO STDOUT (FORMAT binary)") as copy:
                copy.set_types(["int8", "text", "text"])
                out["binary_empty"] = [list(row) for row in copy.rows()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
