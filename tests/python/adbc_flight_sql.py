"""ADBC's Flight SQL driver against Quarry's Flight SQL endpoint.

Usage: adbc_flight_sql.py PORT USER PASSWORD

Prints one JSON object: a TPC-H query's Arrow schema and rows, a query with a bound parameter,
lineitem read whole as an Arrow table, the catalog listing (get_objects) and a table's schema
as ADBC reports them, a query with the password (the admin token) as a bearer token, and the
error a wrong password gets. Run by tests/clients.rs against a
real coordinator.
"""

import json
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager

QUERY = (
    "SELECT r_name AS region, count(*) AS nations FROM tpch.tiny.region "
    "JOIN tpch.tiny.nation ON n_regionkey = r_regionkey GROUP BY r_name ORDER BY r_name"
)


def connect(port: str, user: str, password: str):
    return flight_sql.connect(
        f"grpc://127.0.0.1:{port}",
        db_kwargs={"username": user, "password": password},
        autocommit=True,
    )


def main() -> None:
    port, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {}
    with connect(port, user, password) as conn:
        with conn.cursor() as cur:
            cur.execute(QUERY)
            table = cur.fetch_arrow_table()
            out["schema"] = [f"{field.name}:{field.type}" for field in table.schema]
            out["rows"] = [list(row.values()) for row in table.to_pylist()]

            cur.execute(
                "SELECT n_name FROM tpch.tiny.nation WHERE n_nationkey = $1", parameters=(7,)
            )
            out["parameter_rows"] = [list(row) for row in cur.fetchall()]

            cur.execute("SELECT * FROM tpch.tiny.lineitem")
            lineitem = cur.fetch_arrow_table()
            out["lineitem_rows"] = lineitem.num_rows
            out["lineitem_columns"] = lineitem.num_columns

        objects = conn.adbc_get_objects(
            depth="tables", catalog_filter="tpch", db_schema_filter="tiny"
        ).read_all().to_pylist()
        out["objects"] = [
            {
                "catalog": catalog["catalog_name"],
                "schemas": [
                    {
                        "schema": schema["db_schema_name"],
                        "tables": sorted(t["table_name"] for t in schema["db_schema_tables"]),
                    }
                    for schema in catalog["catalog_db_schemas"]
                ],
            }
            for catalog in objects
        ]
        schema = conn.adbc_get_table_schema("region", catalog_filter="tpch", db_schema_filter="tiny")
        out["region_schema"] = [f"{field.name}:{field.type}" for field in schema]

    # The admin token as a bearer token on every call, instead of a login.
    with flight_sql.connect(
        f"grpc://127.0.0.1:{port}",
        db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {password}"},
        autocommit=True,
    ) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM tpch.tiny.region")
            out["bearer_rows"] = [list(row) for row in cur.fetchall()]

    try:
        with connect(port, user, password + "-wrong") as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
        out["wrong_password"] = "accepted"
    except adbc_driver_manager.Error as error:
        out["wrong_password"] = str(error)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
