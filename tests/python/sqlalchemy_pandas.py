"""What a Python user does with Quarry's PostgreSQL port, through SQLAlchemy and pandas.

Usage: sqlalchemy_pandas.py PORT USER PASSWORD

Connects an SQLAlchemy engine (psycopg 3) to database `quarry`, reads a TPC-H query into a
pandas frame with `read_sql`, lists a schema's tables with SQLAlchemy's inspector, and prints
what it got as one JSON object. Run by tests/clients.rs against a real coordinator.
"""

import json
import sys

import pandas
from sqlalchemy import create_engine, inspect, text

QUERY = """
SELECT r.r_name AS region, count(*) AS nations
FROM tpch.tiny.nation n JOIN tpch.tiny.region r ON n.n_regionkey = r.r_regionkey
GROUP BY r.r_name
ORDER BY r.r_name
"""


def main() -> None:
    port, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
    engine = create_engine(f"postgresql+psycopg://{user}:{password}@127.0.0.1:{port}/quarry")
    frame = pandas.read_sql(text(QUERY), engine)
    inspector = inspect(engine)
    with engine.connect() as connection:
        database = connection.execute(text("SELECT current_database()")).scalar()
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    print(
        json.dumps(
            {
                "columns": list(frame.columns),
                "rows": frame.values.tolist(),
                "dtypes": [str(t) for t in frame.dtypes],
                "tables": inspector.get_table_names(schema="tiny"),
                "database": database,
                "schema": schema,
            }
        )
    )


if __name__ == "__main__":
    main()
