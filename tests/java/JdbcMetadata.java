// What a Java user does with Quarry's PostgreSQL port, through the PostgreSQL JDBC driver.
//
// Usage: java -cp /usr/share/java/postgresql.jar tests/java/JdbcMetadata.java PORT USER PASSWORD
//
// Connects to database `quarry`, browses it with DatabaseMetaData (getSchemas, getTables of
// schema `tiny`, getColumns and getVersionColumns of `tiny.region`), runs a TPC-H query with a
// PreparedStatement and two parameters and another with a date parameter, and prints what it got
// as one JSON object. The first query runs more times than the driver's prepareThreshold (5), so
// the later runs use a named server-side statement and binary results. Run by tests/clients.rs
// against a real coordinator.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public class JdbcMetadata {
    static final String DATE_QUERY =
            "SELECT count(*) AS orders FROM tpch.tiny.orders WHERE o_orderdate < ?";

    static final String QUERY =
            "SELECT r.r_name AS region, count(*) AS nations"
                    + " FROM tpch.tiny.nation n JOIN tpch.tiny.region r"
                    + " ON n.n_regionkey = r.r_regionkey"
                    + " WHERE r.r_name LIKE ? AND r.r_regionkey < ?"
                    + " GROUP BY r.r_name ORDER BY r.r_name";

    /** Runs of the prepared query: more than the driver's prepareThreshold of 5. */
    static final int RUNS = 7;

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/quarry";
        Properties properties = new Properties();
        properties.setProperty("user", args[1]);
        properties.setProperty("password", args[2]);
        try (Connection connection = DriverManager.getConnection(url, properties)) {
            DatabaseMetaData metadata = connection.getMetaData();
            StringBuilder json = new StringBuilder("{");
            field(json, "product", string(metadata.getDatabaseProductName()));
            field(json, "driver", string(metadata.getDriverVersion()));

            List<String> schemas = new ArrayList<>();
            try (ResultSet rows = metadata.getSchemas()) {
                while (rows.next()) {
                    schemas.add(string(rows.getString("TABLE_SCHEM")));
                }
            }
            field(json, "schemas", array(schemas));

            List<String> tables = new ArrayList<>();
            List<String> tableTypes = new ArrayList<>();
            try (ResultSet rows = metadata.getTables(null, "tiny", "%", null)) {
                while (rows.next()) {
                    tables.add(string(rows.getString("TABLE_NAME")));
                    tableTypes.add(string(rows.getString("TABLE_TYPE")));
                }
            }
            field(json, "tables", array(tables));
            field(json, "table_types", array(tableTypes));

            List<String> columns = new ArrayList<>();
            try (ResultSet rows = metadata.getColumns(null, "tiny", "region", "%")) {
                while (rows.next()) {
                    columns.add(array(List.of(
                            string(rows.getString("COLUMN_NAME")),
                            string(rows.getString("TYPE_NAME")),
                            String.valueOf(rows.getInt("DATA_TYPE")),
                            String.valueOf(rows.getInt("ORDINAL_POSITION")))));
                }
            }
            field(json, "region_columns", array(columns));

            // The driver looks up the type of the row version column (`tid`) in pg_type.
            List<String> versionColumns = new ArrayList<>();
            try (ResultSet rows = metadata.getVersionColumns(null, "tiny", "region")) {
                while (rows.next()) {
                    versionColumns.add(array(List.of(
                            string(rows.getString("COLUMN_NAME")),
                            string(rows.getString("TYPE_NAME")),
                            String.valueOf(rows.getInt("DATA_TYPE")))));
                }
            }
            field(json, "region_version_columns", array(versionColumns));

            List<String> firstRows = null;
            boolean runsAgree = true;
            List<String> columnTypes = new ArrayList<>();
            try (PreparedStatement statement = connection.prepareStatement(QUERY)) {
                for (int run = 0; run < RUNS; run++) {
                    statement.setString(1, "A%");
                    statement.setLong(2, 2);
                    List<String> rows = new ArrayList<>();
                    try (ResultSet result = statement.executeQuery()) {
                        if (run == 0) {
                            ResultSetMetaData described = result.getMetaData();
                            for (int i = 1; i <= described.getColumnCount(); i++) {
                                columnTypes.add(string(described.getColumnTypeName(i)));
                            }
                        }
                        while (result.next()) {
                            rows.add(array(List.of(
                                    string(result.getString("region")),
                                    String.valueOf(result.getLong("nations")))));
                        }
                    }
                    if (firstRows == null) {
                        firstRows = rows;
                    } else {
                        runsAgree &= firstRows.equals(rows);
                    }
                }
            }
            field(json, "rows", array(firstRows));
            try (PreparedStatement statement = connection.prepareStatement(DATE_QUERY)) {
                statement.setDate(1, java.sql.Date.valueOf("1995-01-01"));
                try (ResultSet result = statement.executeQuery()) {
                    result.next();
                    field(json, "orders_before_1995", String.valueOf(result.getLong("orders")));
                }
            }
            field(json, "column_types", array(columnTypes));
            field(json, "runs", String.valueOf(RUNS));
            field(json, "runs_agree", String.valueOf(runsAgree));
            json.setLength(json.length() - 1);
            System.out.println(json.append("}"));
        }
    }

    static void field(StringBuilder json, String name, String value) {
        json.append(string(name)).append(':').append(value).append(',');
    }

    /** Values already written as JSON, as a JSON array. */
    static String array(List<String> values) {
        return "[" + String.join(",", values) + "]";
    }

    /** A JSON string, or null. */
    static String string(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
