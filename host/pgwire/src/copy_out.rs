//! `COPY (query) TO STDOUT` and `COPY table TO STDOUT`, in text, CSV and binary, streamed a
//! batch at a time as CopyData messages while the query runs.
//!
//! Options: `FORMAT text|csv|binary`, `HEADER` (CSV), `DELIMITER`, `NULL`, and the pre-9.0
//! forms `BINARY` and `CSV [HEADER]`. Any other option is refused by name. `COPY … FROM` and
//! `COPY … TO 'file'` are not recognised here: they go to the engine, which refuses them.
//!
//! Values are encoded exactly as rows are ([`RowEncoder`]): text values as in a text DataRow,
//! then escaped for the format; a binary tuple is a binary DataRow's fields behind a field count.

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use futures::{StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::{CopyResponse, Response};
use pgwire::messages::copy::CopyData;
use pgwire::messages::data::DataRow;

use crate::cancel_registry::CancelWatch;
use crate::connection_activity::StatementGuard;
use crate::row_encoder::{RowEncoder, row_description};
use crate::{StatementError, StatementErrorCode};

/// The PGCOPY binary signature, flags and header extension length.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xFF\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CopyFormat {
    Text,
    Csv,
    Binary,
}

/// A `COPY … TO STDOUT`: the query whose rows it sends, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyOut {
    pub(crate) query: String,
    format: CopyFormat,
    header: bool,
    delimiter: u8,
    null: String,
}

fn not_supported(message: String) -> StatementError {
    StatementError::new(StatementErrorCode::NotSupported, message)
}

impl CopyOut {
    /// `sql` as a `COPY … TO STDOUT`; `None` when it is something else, an error when its
    /// options are not supported.
    pub(crate) fn recognize(sql: &str) -> Option<Result<CopyOut, StatementError>> {
        if !sql.trim_start().get(..4)?.eq_ignore_ascii_case("copy") {
            return None;
        }
        let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
        if statements.len() != 1 {
            return None;
        }
        let Statement::Copy {
            source,
            to: true,
            target: CopyTarget::Stdout,
            options,
            legacy_options,
            ..
        } = statements.remove(0)
        else {
            return None;
        };
        let query = match source {
            CopySource::Query(query) => query.to_string(),
            CopySource::Table {
                table_name,
                columns,
            } if columns.is_empty() => format!("SELECT * FROM {table_name}"),
            CopySource::Table {
                table_name,
                columns,
            } => {
                let columns: Vec<String> = columns.iter().map(ToString::to_string).collect();
                format!("SELECT {} FROM {table_name}", columns.join(", "))
            }
        };
        Some(Self::with_options(query, &options, &legacy_options))
    }

    fn with_options(
        query: String,
        options: &[CopyOption],
        legacy: &[CopyLegacyOption],
    ) -> Result<CopyOut, StatementError> {
        let mut copy = CopyOut {
            query,
            format: CopyFormat::Text,
            header: false,
            delimiter: b'\t',
            null: "\\N".to_owned(),
        };
        let mut delimiter = None;
        let mut null = None;
        for option in options {
            match option {
                CopyOption::Format(name) => {
                    copy.format = match name.value.to_ascii_lowercase().as_str() {
                        "text" => CopyFormat::Text,
                        "csv" => CopyFormat::Csv,
                        "binary" => CopyFormat::Binary,
                        other => {
                            return Err(not_supported(format!("COPY format \"{other}\"")));
                        }
                    }
                }
                CopyOption::Header(header) => copy.header = *header,
                CopyOption::Delimiter(c) => delimiter = Some(*c),
                CopyOption::Null(text) => null = Some(text.clone()),
                other => {
                    return Err(not_supported(format!(
                        "COPY option {other} is not supported (FORMAT, HEADER, DELIMITER and \
                         NULL are)"
                    )));
                }
            }
        }
        for option in legacy {
            match option {
                CopyLegacyOption::Binary => copy.format = CopyFormat::Binary,
                CopyLegacyOption::Csv(csv) => {
                    copy.format = CopyFormat::Csv;
                    for option in csv {
                        match option {
                            CopyLegacyCsvOption::Header => copy.header = true,
                            other => {
                                return Err(not_supported(format!(
                                    "COPY option CSV {other} is not supported"
                                )));
                            }
                        }
                    }
                }
                other => {
                    return Err(not_supported(format!(
                        "COPY option {other} is not supported"
                    )));
                }
            }
        }
        if copy.format == CopyFormat::Csv {
            copy.delimiter = b',';
            copy.null = String::new();
        }
        if let Some(c) = delimiter {
            copy.delimiter = u8::try_from(c)
                .ok()
                .filter(|b| b.is_ascii() && !matches!(b, b'\r' | b'\n' | b'\\'))
                .ok_or_else(|| {
                    not_supported(format!("COPY delimiter {c:?}: one ASCII character"))
                })?;
        }
        if let Some(null) = null {
            copy.null = null;
        }
        if copy.header && copy.format != CopyFormat::Csv {
            return Err(not_supported("COPY HEADER is only available in CSV".into()));
        }
        Ok(copy)
    }

    /// The CopyOut response for the query's rows. `busy` is held until the last row is sent.
    /// An error mid-way ends the copy with that error, never a short copy that looks whole.
    pub(crate) fn response(
        self,
        stream: SendableRecordBatchStream,
        watch: CancelWatch,
        busy: StatementGuard,
    ) -> Response {
        let schema = stream.schema();
        let columns = schema.fields().len();
        let format = match self.format {
            CopyFormat::Binary => Format::UnifiedBinary,
            CopyFormat::Text | CopyFormat::Csv => Format::UnifiedText,
        };
        let encoder = RowEncoder::new(Arc::new(row_description(&schema, &format)));
        let mut start = BytesMut::new();
        match self.format {
            CopyFormat::Binary => start.put_slice(BINARY_HEADER),
            CopyFormat::Csv if self.header => {
                for (index, field) in schema.fields().iter().enumerate() {
                    if index > 0 {
                        start.put_u8(self.delimiter);
                    }
                    self.put_csv(field.name().as_bytes(), &mut start);
                }
                start.put_u8(b'\n');
            }
            _ => {}
        }
        let binary = self.format == CopyFormat::Binary;
        // One CopyData per row, as PostgreSQL sends them (clients parse a message as a row).
        // The header goes in front of the first row. The last message is a binary copy's
        // trailer, behind the header when no row came (psycopg reads the signature from the
        // first message), or a CSV header alone. After an error nothing follows. `busy` lives
        // in the state, so until the last message is sent.
        let header = (!start.is_empty()).then_some(start);
        let rows = crate::statement_execution::data_rows(stream, encoder, watch);
        // Fused: after the last row it is asked once more, for the ending.
        let rows = Box::pin(rows.fuse());
        let data = stream::unfold(
            (rows, header, binary, self, busy),
            |(mut rows, mut header, mut trailer, copy, busy)| async move {
                let message = match rows.next().await {
                    Some(Ok(row)) => {
                        let mut out = header.take().unwrap_or_default();
                        copy.encode(row, &mut out);
                        Ok(CopyData::new(out.freeze()))
                    }
                    Some(Err(error)) => {
                        (header, trailer) = (None, false);
                        Err(error)
                    }
                    None => {
                        let mut out = header.take().unwrap_or_default();
                        if std::mem::take(&mut trailer) {
                            out.put_i16(-1);
                        }
                        if out.is_empty() {
                            return None;
                        }
                        Ok(CopyData::new(out.freeze()))
                    }
                };
                Some((message, (rows, header, trailer, copy, busy)))
            },
        );
        // Made as text so that pgwire does not append a trailer of its own: ours ends the last
        // message (above).
        let mut response = CopyResponse::new(0, columns, data);
        if binary {
            response.format = 1;
        }
        Response::CopyOut(response)
    }

    /// One row as a tuple of this format, appended to `out`.
    fn encode(&self, row: DataRow, out: &mut BytesMut) {
        match self.format {
            CopyFormat::Binary => {
                out.put_i16(row.field_count);
                out.put_slice(&row.data);
            }
            CopyFormat::Text | CopyFormat::Csv => {
                for (index, value) in fields(&row.data).enumerate() {
                    if index > 0 {
                        out.put_u8(self.delimiter);
                    }
                    match (value, self.format) {
                        (None, _) => out.put_slice(self.null.as_bytes()),
                        (Some(v), CopyFormat::Csv) => self.put_csv(v, out),
                        (Some(v), _) => self.put_text(v, out),
                    }
                }
                out.put_u8(b'\n');
            }
        }
    }

    /// A text-format value, backslash-escaped as PostgreSQL's text COPY does.
    fn put_text(&self, value: &[u8], out: &mut BytesMut) {
        for &byte in value {
            match byte {
                b'\\' => out.put_slice(b"\\\\"),
                b'\n' => out.put_slice(b"\\n"),
                b'\r' => out.put_slice(b"\\r"),
                b'\t' if self.delimiter == b'\t' => out.put_slice(b"\\t"),
                b if b == self.delimiter => {
                    out.put_u8(b'\\');
                    out.put_u8(b);
                }
                b => out.put_u8(b),
            }
        }
    }

    /// A CSV value, quoted when it holds the delimiter, a quote or a line break, is empty (so
    /// it differs from NULL) or reads as the NULL string.
    fn put_csv(&self, value: &[u8], out: &mut BytesMut) {
        let quote = value.is_empty()
            || value == self.null.as_bytes()
            || value
                .iter()
                .any(|b| matches!(b, b'"' | b'\n' | b'\r') || *b == self.delimiter);
        if !quote {
            out.put_slice(value);
            return;
        }
        out.put_u8(b'"');
        for &byte in value {
            if byte == b'"' {
                out.put_u8(b'"');
            }
            out.put_u8(byte);
        }
        out.put_u8(b'"');
    }
}

/// The values of a DataRow's fields (each a length, -1 for NULL, then the bytes).
fn fields(data: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (length, tail) = rest.split_first_chunk::<4>()?;
        let length = i32::from_be_bytes(*length);
        let Ok(length) = usize::try_from(length) else {
            rest = tail;
            return Some(None);
        };
        let (value, tail) = tail.split_at_checked(length)?;
        rest = tail;
        Some(Some(value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(sql: &str) -> CopyOut {
        CopyOut::recognize(sql).unwrap().unwrap()
    }

    #[test]
    fn recognises_copy_to_stdout_and_its_options() {
        let c = copy("COPY (SELECT 1 AS a) TO STDOUT");
        assert_eq!(
            (c.format, c.delimiter, c.null.as_str()),
            (CopyFormat::Text, b'\t', "\\N")
        );
        assert_eq!(c.query, "SELECT 1 AS a");
        let c = copy("copy (select a from t) to stdout with (format csv, header true)");
        assert_eq!(
            (c.format, c.header, c.delimiter),
            (CopyFormat::Csv, true, b',')
        );
        let c = copy("COPY c.s.t (a, b) TO STDOUT (FORMAT binary)");
        assert_eq!(c.format, CopyFormat::Binary);
        assert_eq!(c.query, "SELECT a, b FROM c.s.t");
        let c = copy("COPY c.s.t TO STDOUT WITH CSV HEADER");
        assert_eq!((c.format, c.header), (CopyFormat::Csv, true));
        let c = copy("COPY (SELECT 1) TO STDOUT (DELIMITER '|', NULL 'none')");
        assert_eq!((c.delimiter, c.null.as_str()), (b'|', "none"));

        let refused = |sql: &str| CopyOut::recognize(sql).unwrap().unwrap_err().message;
        assert!(refused("COPY (SELECT 1) TO STDOUT (ENCODING 'LATIN1')").contains("ENCODING"));
        assert!(refused("COPY (SELECT 1) TO STDOUT (HEADER)").contains("only available in CSV"));
        // Not a COPY TO STDOUT: left to the engine, which refuses writing files.
        assert!(CopyOut::recognize("COPY (SELECT 1) TO '/tmp/x'").is_none());
        assert!(CopyOut::recognize("COPY t FROM STDIN").is_none());
        assert!(CopyOut::recognize("SELECT 1").is_none());
    }

    #[test]
    fn values_are_escaped_for_their_format() {
        let text = copy("COPY (SELECT 1) TO STDOUT");
        let mut out = BytesMut::new();
        text.put_text(b"a\tb\\c\nd", &mut out);
        assert_eq!(&out[..], b"a\\tb\\\\c\\nd");
        let csv = copy("COPY (SELECT 1) TO STDOUT (FORMAT csv)");
        let mut out = BytesMut::new();
        csv.put_csv(b"say \"hi\", then", &mut out);
        out.put_u8(b'|');
        csv.put_csv(b"", &mut out);
        out.put_u8(b'|');
        csv.put_csv(b"plain", &mut out);
        assert_eq!(&out[..], b"\"say \"\"hi\"\", then\"|\"\"|plain");
    }

    #[test]
    fn data_rows_become_tuples() {
        let mut data = BytesMut::new();
        data.put_i32(2);
        data.put_slice(b"42");
        data.put_i32(-1);
        let row = DataRow::new(data, 2);
        let encoded = |sql: &str| {
            let mut out = BytesMut::new();
            copy(sql).encode(row.clone(), &mut out);
            out
        };
        assert_eq!(&encoded("COPY (SELECT 1) TO STDOUT")[..], b"42\t\\N\n");
        assert_eq!(
            &encoded("COPY (SELECT 1) TO STDOUT (FORMAT csv)")[..],
            b"42,\n"
        );
        assert_eq!(
            &encoded("COPY (SELECT 1) TO STDOUT (FORMAT binary)")[..],
            b"\x00\x02\x00\x00\x00\x0242\xff\xff\xff\xff"
        );
    }
}
