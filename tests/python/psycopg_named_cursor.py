"""A psycopg 3 named (server-side) cursor paging through lineitem.

Usage: psycopg_named_cursor.py PORT USER PASSWORD

Prints one JSON object: the page sizes a text and a binary named cursor fetched, the rows and
their key checksum, and what a plain query counted for comparison. Run by tests/clients.rs
against a real coordinator.
"""

import json
import sys

import psycopg

QUERY = (
    "SELECT l_orderkey, l_linenumber, l_quantity FROM tpch.tiny.lineitem "
    "ORDER BY l_orderkey, l_linenumber"
)
PAGE = 10_000


def page_through(conn, name: str, binary: bool) -> dict:
    pages = []
    checksum = 0
    previous = None
    ordered = True
    with conn.cursor(name=name, binary=binary) as cur:
        cur.execute(QUERY)
        while True:
            page = cur.fetchmany(PAGE)
            if not page:
                break
            pages.append(len(page))
            for orderkey, linenumber, _quantity in page:
                checksum += orderkey * 10 + linenumber
                if previous is not None and (orderkey, linenumber) <= previous:
                    ordered = False
                previous = (orderkey, linenumber)
    return {"pages": pages, "rows": sum(pages), "checksum": checksum, "ordered": ordered}


def main() -> None:
    port, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {}
    with psycopg.connect(
        host="127.0.0.1", port=port, dbname="quarry", user=user, password=password
    ) as conn:
        out["text"] = page_through(conn, "lineitem_pages", binary=False)
        out["binary"] = page_through(conn, "lineitem_binary_pages", binary=True)
        conn.commit()
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*), sum(l_orderkey * 10 + l_linenumber) FROM tpch.tiny.lineitem"
            )
            count, checksum = cur.fetchone()
            out["expected_rows"] = count
            out["expected_checksum"] = int(checksum)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
