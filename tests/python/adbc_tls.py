"""ADBC's Flight SQL driver over TLS, trusting only the test CA.

Usage: adbc_tls.py PORT CA_PEM_PATH USER PASSWORD

Prints one JSON object: the nation count read over `grpc+tls://`, and the error a plain
`grpc://` connection to the same port gets. Run by tests/security.rs against a TLS coordinator.
"""

import json
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager

QUERY = "SELECT count(*) AS nations FROM tpch.tiny.nation"


def count(uri: str, options: dict) -> int:
    with flight_sql.connect(uri, db_kwargs=options, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute(QUERY)
            return cur.fetchone()[0]


def main() -> None:
    port, ca, user, password = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    with open(ca, encoding="ascii") as pem:
        roots = pem.read()
    options = {"username": user, "password": password}
    out = {
        "nations": count(
            f"grpc+tls://127.0.0.1:{port}",
            {**options, "adbc.flight.sql.client_option.tls_root_certs": roots},
        )
    }
    try:
        out["plain"] = count(f"grpc://127.0.0.1:{port}", options)
    except adbc_driver_manager.Error as error:
        out["plain"] = str(error)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
